package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Cert is a self-signed certificate (its own CA) and its key.
type Cert struct {
	cert tls.Certificate
	pool *x509.CertPool
	pem  []byte
	key  []byte
}

// New makes a certificate for 127.0.0.1 and localhost, valid for a year
// and since 1999-12-31, so that it also verifies inside a
// testing/synctest bubble (whose clock starts at 2000-01-01).
func New() (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: generating a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("selfsigned: serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "kafkaemu"},
		NotBefore: time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), NotAfter: now.Add(365 * 24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: creating the certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: parsing the certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: encoding the key: %w", err)
	}
	c := &Cert{
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		pool: x509.NewCertPool(),
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	c.pool.AddCert(leaf)
	return c, nil
}

// ServerConfig is a server's TLS config presenting the certificate.
func (c *Cert) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.cert}}
}

// ClientConfig is a client's TLS config trusting the certificate.
func (c *Cert) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: c.Pool()}
}

// Pool is a pool holding the certificate alone.
func (c *Cert) Pool() *x509.CertPool { return c.pool.Clone() }

// CertPEM is the certificate in PEM, the CA file of a client that
// verifies the server (librdkafka's ssl.ca.location, kcat's, Python's).
func (c *Cert) CertPEM() []byte { return append([]byte(nil), c.pem...) }

// KeyPEM is the private key in PEM (PKCS #8).
func (c *Cert) KeyPEM() []byte { return append([]byte(nil), c.key...) }
