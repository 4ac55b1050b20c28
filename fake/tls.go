package fake

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// TLS makes the brokers' client-facing listeners TLS listeners (an SSL
// listener in Kafka's terms): each client connection begins with a TLS
// handshake presenting cfg's certificate, and every request and answer
// after it is encrypted. kfake behind them and fake's own connections to
// its brokers stay plaintext, so every fake verb works as without TLS,
// and Metadata advertises the same addresses. It works on TCP and on the
// VirtualNetwork. A connection whose handshake fails (a plaintext client)
// is closed and journaled as a bad-request event saying so.
//
// cfg must hold a certificate (Certificates, or GetCertificate or
// GetConfigForClient); set ClientAuth and ClientCAs for mutual TLS.
// Cluster.TLSConfig is a client config that trusts cfg's certificates.
// Use this option rather than kfake.TLS through KfakeOpts, which fake's
// wire layer cannot pass.
func TLS(cfg *tls.Config) Option {
	return func(c *config) error {
		if cfg == nil {
			return errors.New("fake.TLS(nil): want a *tls.Config with a server certificate (Certificates)")
		}
		if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
			return errors.New("fake.TLS: the tls.Config has no server certificate: set Certificates (or GetCertificate)")
		}
		c.wire.TLS = cfg.Clone()
		return nil
	}
}

// TLSConfig is a client TLS config for a cluster started with TLS, nil
// without: its RootCAs hold the certificates of the TLS option's
// Certificates chains, so a self-signed server certificate verifies (a
// certificate signed by a CA outside its chain needs that CA in
// RootCAs). Each call returns a new config the caller may change.
func (c *Cluster) TLSConfig() *tls.Config {
	srv := c.cfg.wire.TLS
	if srv == nil {
		return nil
	}
	pool := x509.NewCertPool()
	for _, cert := range srv.Certificates {
		for _, der := range cert.Certificate {
			if x, err := x509.ParseCertificate(der); err == nil {
				pool.AddCert(x)
			}
		}
	}
	return &tls.Config{RootCAs: pool}
}
