package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/internal/selfsigned"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// tlsTarget is what speaks TLS to clients: serve's cluster or the proxy.
type tlsTarget interface {
	Addrs() []string
	Journal() []journal.Event
	JournalTail(n int) string
}

// tlsRoundTrip writes and reads back three records over TLS trusting
// the PEM CA file ca, checks the journal has the appends, and that a
// plaintext client is refused with a journaled reason.
func tlsRoundTrip(t *testing.T, c tlsTarget, ca string) {
	t.Helper()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", ca)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DialTLSConfig(&tls.Config{RootCAs: pool}),
		kgo.DefaultProduceTopic("orders"), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, kgo.StringRecord("a"), kgo.StringRecord("b"), kgo.StringRecord("c")).FirstErr(); err != nil {
		t.Fatalf("produce over TLS: %v", err)
	}
	for n := 0; n < 3; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume over TLS: %v", err)
		}
		n += fs.NumRecords()
	}
	appended := int64(0)
	for _, e := range c.Journal() {
		if e.Kind == fake.EventAppend && e.Topic == "orders" {
			appended += e.LastOffset - e.Offset + 1
		}
	}
	if appended != 3 {
		t.Errorf("the journal has %d records appended, want 3", appended)
	}
	plain, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()[0]), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Request(ctx, kmsg.NewPtrMetadataRequest()); err == nil {
		t.Error("a plaintext client was answered by serve -tls")
	}
	refused := false
	for _, e := range c.Journal() {
		refused = refused || (e.Kind == fake.EventBadRequest && strings.Contains(e.Error, "wants TLS"))
	}
	if !refused {
		t.Errorf("no bad-request event for the plaintext client:\n%s", c.JournalTail(10))
	}
}

// serve -tls -tls-ca-out: a self-signed certificate whose PEM clients
// trust.
func TestServeTLSSelfSigned(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	c, _ := startServer(t, "-tls", "-tls-ca-out", ca, "-topic", "orders:1:3")
	tlsRoundTrip(t, c, ca)
}

// serve -tls-cert -tls-key: the user's certificate.
func TestServeTLSUserCert(t *testing.T) {
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, cert.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, cert.KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := startServer(t, "-tls-cert", certFile, "-tls-key", keyFile, "-topic", "orders:1:3")
	tlsRoundTrip(t, c, certFile)
}

// Bad TLS flags are refused before anything listens, naming the flag.
func TestServeTLSBadFlags(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-tls-cert", missing}, "-tls-key"},
		{[]string{"-tls-key", missing}, "-tls-cert"},
		{[]string{"-tls-cert", missing, "-tls-key", missing}, "-tls-cert " + missing},
		{[]string{"-tls-cert", missing, "-tls-key", missing, "-tls-ca-out", filepath.Join(dir, "ca.pem")}, "-tls-ca-out"},
		{[]string{"-tls-ca-out", filepath.Join(dir, "no", "such", "dir", "ca.pem")}, "-tls-ca-out"},
	} {
		err := serve(context.Background(), tc.args, io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v = %v; want an error naming %s", tc.args, err, tc.want)
		}
	}
}

// proxy -tls -tls-ca-out: clients speak TLS to the proxy, which speaks
// plaintext to a plaintext upstream.
func TestProxyTLS(t *testing.T) {
	up, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	p, _ := startProxy(t, "-upstream", up.ListenAddrs()[0], "-tls", "-tls-ca-out", ca)
	tlsRoundTrip(t, p, ca)
	err = proxyCmd(context.Background(), []string{"-upstream", up.ListenAddrs()[0], "-tls-cert", filepath.Join(t.TempDir(), "missing.pem")}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "-tls-key") {
		t.Errorf("proxy -tls-cert without -tls-key: %v; want an error naming -tls-key", err)
	}
}
