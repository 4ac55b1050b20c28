package proxy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

var testCert struct {
	cert tls.Certificate
	pool *x509.CertPool
}

// serverTLS is a TLS config with a self-signed certificate for 127.0.0.1.
func serverTLS(t testing.TB) *tls.Config {
	t.Helper()
	if testCert.pool == nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kafkaemu test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		testCert.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		testCert.pool = x509.NewCertPool()
		testCert.pool.AddCert(leaf)
	}
	return &tls.Config{Certificates: []tls.Certificate{testCert.cert}}
}

// TestUpstreamTLS: the proxy speaks TLS to a TLS upstream while clients
// speak plaintext to it on loopback.
func TestUpstreamTLS(t *testing.T) {
	up := upstream(t, kfake.TLS(serverTLS(t)), kfake.SeedTopics(1, "orders"))
	p := start(t, up.ListenAddrs()[:1], proxy.UpstreamTLS(&tls.Config{RootCAs: testCert.pool}))
	roundTrip(t, p.Addrs())
}

// TestSASLPassThrough: clients' SASL handshakes pass through the proxy to
// the upstream, which alone checks them: a client with good credentials
// works, one without is refused by the upstream. The proxy's own requests
// authenticate with UpstreamSASL; without it New says so.
func TestSASLPassThrough(t *testing.T) {
	up := upstream(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "proxy", "p-secret"),
		kfake.Superuser("SCRAM-SHA-256", "alice", "a-secret"), kfake.SeedTopics(1, "orders"))
	p := start(t, up.ListenAddrs(), proxy.UpstreamSASL(plain.Auth{User: "proxy", Pass: "p-secret"}.AsMechanism()), proxy.DialTimeout(2*time.Second))
	roundTrip(t, p.Addrs(), kgo.SASL(scram.Auth{User: "alice", Pass: "a-secret"}.AsSha256Mechanism()))

	anon := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"), kgo.RequestRetries(0))
	ctx := ctxT(t, 2*time.Second)
	if err := anon.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err == nil {
		t.Error("a client without SASL produced through the proxy to an upstream that requires it")
	}

	ctx2 := ctxT(t, 10*time.Second)
	if _, err := proxyNew(ctx2, up.ListenAddrs(), proxy.DialTimeout(time.Second)); err == nil || !strings.Contains(err.Error(), "UpstreamSASL") {
		t.Errorf("proxy.New against a SASL upstream without UpstreamSASL: %v; want an error naming UpstreamSASL", err)
	}
}

// roundTrip produces three records through seeds and consumes them back.
func roundTrip(t *testing.T, seeds []string, opts ...kgo.Opt) {
	t.Helper()
	ctx := ctxT(t, 20*time.Second)
	prod := client(t, seeds, append([]kgo.Opt{kgo.DefaultProduceTopic("orders")}, opts...)...)
	for _, v := range []string{"a", "b", "c"} {
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons := client(t, seeds, append([]kgo.Opt{kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	n := 0
	for n < 3 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of 3", n)
		}
		n += fs.NumRecords()
	}
}
