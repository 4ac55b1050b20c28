package proxy_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/internal/selfsigned"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// testCert is a self-signed certificate for 127.0.0.1.
var testCert = func() *selfsigned.Cert {
	c, err := selfsigned.New()
	if err != nil {
		panic(err)
	}
	return c
}()

// TestUpstreamTLS: the proxy speaks TLS to a TLS upstream while clients
// speak plaintext to it on loopback.
func TestUpstreamTLS(t *testing.T) {
	up := upstream(t, kfake.TLS(testCert.ServerConfig()), kfake.SeedTopics(1, "orders"))
	p := start(t, up.ListenAddrs()[:1], proxy.UpstreamTLS(testCert.ClientConfig()))
	roundTrip(t, p.Addrs())
}

// TestClientTLS: clients speak TLS to the proxy (its own certificate),
// the proxy plaintext to a plaintext upstream, or TLS to a TLS one; a
// plaintext client is refused and journaled; a config without a
// certificate is refused by New.
func TestClientTLS(t *testing.T) {
	for name, upTLS := range map[string]bool{"plaintext upstream": false, "TLS upstream": true} {
		t.Run(name, func(t *testing.T) {
			var upOpts []kfake.Opt
			var opts []proxy.Option
			if upTLS {
				upOpts = append(upOpts, kfake.TLS(testCert.ServerConfig()))
				opts = append(opts, proxy.UpstreamTLS(testCert.ClientConfig()))
			}
			up := upstream(t, append(upOpts, kfake.SeedTopics(1, "orders"))...)
			p := start(t, up.ListenAddrs()[:1], append(opts, proxy.TLS(testCert.ServerConfig()))...)
			roundTrip(t, p.Addrs(), kgo.DialTLSConfig(testCert.ClientConfig()))

			plain := client(t, p.Addrs(), kgo.RequestRetries(0))
			ctx := ctxT(t, 10*time.Second)
			if _, err := plain.Request(ctx, kmsg.NewPtrMetadataRequest()); err == nil {
				t.Error("a plaintext client was answered by a TLS proxy")
			}
			refused := false
			for _, e := range events(p, journal.EventBadRequest) {
				refused = refused || strings.Contains(e.Error, "wants TLS")
			}
			if !refused {
				t.Errorf("no bad-request event for the plaintext client:\n%s", p.JournalTail(10))
			}
		})
	}
	ctx := ctxT(t, 10*time.Second)
	up := upstream(t)
	if _, err := proxyNew(ctx, up.ListenAddrs(), proxy.TLS(&tls.Config{})); err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Errorf("proxy.TLS without a certificate: %v", err)
	}
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
