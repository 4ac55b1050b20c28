package fake_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/internal/selfsigned"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newCert(t *testing.T) *selfsigned.Cert {
	t.Helper()
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// With TLS, a kgo client dialing with the cluster's TLSConfig writes and
// reads back over TLS (the journal records its appends, and fake's own
// plaintext connections create the topic and replicate); a raw TLS
// connection sees the certificate and gets Kafka answers; a plaintext
// client is refused, and the journal says it did not start a handshake.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert := newCert(t)
	c, err := fake.New(fake.Topic("t", 1, 3), fake.TLS(cert.ServerConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t, 20*time.Second)

	// The bytes on the wire are TLS: the handshake presents our
	// certificate, and a Kafka request inside it is answered.
	raw, err := tls.Dial("tcp", c.Addrs()[0], c.TLSConfig())
	if err != nil {
		t.Fatalf("TLS handshake with broker 0: %v", err)
	}
	if pc := raw.ConnectionState().PeerCertificates; len(pc) == 0 || !bytes.Equal(pc[0].Raw, cert.ServerConfig().Certificates[0].Certificate[0]) {
		t.Error("the broker did not present the TLS option's certificate")
	}
	req := kmsg.NewPtrApiVersionsRequest()
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, 7)
	if _, err := raw.Write(frame); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(raw, size[:]); err != nil {
		t.Fatalf("reading the ApiVersions answer over TLS: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(raw, body); err != nil {
		t.Fatal(err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != 7 {
		t.Errorf("answer correlation %d, want 7", corr)
	}
	raw.Close()

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DialTLSConfig(c.TLSConfig()), kgo.DefaultProduceTopic("t"),
		kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, v := range []string{"a", "b", "c"} {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
			t.Fatalf("produce over TLS: %v", err)
		}
	}
	var got []string
	for len(got) < 3 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume over TLS: %v", err)
		}
		for _, r := range fs.Records() {
			got = append(got, string(r.Value))
		}
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("read %v over TLS, want a,b,c", got)
	}
	appends := 0
	for _, e := range c.Journal() {
		if e.Kind == fake.EventAppend && e.Topic == "t" {
			appends++
		}
	}
	if appends != 3 {
		t.Errorf("the journal has %d appends to t, want 3", appends)
	}

	plain, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()[0]), kgo.DefaultProduceTopic("t"), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := plain.Request(pctx, kmsg.NewPtrMetadataRequest()); err == nil {
		t.Fatal("a plaintext client wrote to a TLS cluster")
	}
	refused := false
	for _, e := range c.Journal() {
		if e.Kind == fake.EventBadRequest && strings.Contains(e.Error, "did not start one") && strings.Contains(e.Error, "wants TLS") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("the journal has no bad request for the plaintext client's connection:\n%s", c.JournalTail(20))
	}
}

// On the virtual network in a bubble, a TLS client reaches the brokers
// through DialContext and survives a leader failover.
func TestTLSVirtual(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cert := newCert(t)
		c, err := fake.New(fake.VirtualNetwork(), fake.Topic("t", 1, 3), fake.TLS(cert.ServerConfig()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := c.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cfg := c.TLSConfig()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
			return tls.Client(conn, cfg), nil
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.Dialer(dial), kgo.DefaultProduceTopic("t"))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx := t.Context()
		if err := cl.ProduceSync(ctx, kgo.StringRecord("a")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FailLeader("t", 0); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, kgo.StringRecord("b")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if st, _ := c.Partition("t", 0); st.HighWatermark != 2 {
			t.Errorf("high watermark %d, want 2", st.HighWatermark)
		}
	})
}

// A nil config or one without a certificate is refused, naming the field.
func TestTLSBadConfig(t *testing.T) {
	for name, cfg := range map[string]*tls.Config{"nil": nil, "empty": {}} {
		_, err := fake.New(fake.TLS(cfg))
		if err == nil || !strings.Contains(err.Error(), "Certificates") {
			t.Errorf("%s: fake.New(fake.TLS(...)) = %v; want an error naming Certificates", name, err)
		}
	}
	if c, err := fake.New(fake.Brokers(1)); err != nil {
		t.Fatal(err)
	} else {
		if c.TLSConfig() != nil {
			t.Error("TLSConfig of a plaintext cluster is not nil")
		}
		c.Close()
	}
}

// A client that begins a TLS handshake and stalls is closed after
// IdleTimeout, and the journal says so.
func TestTLSHandshakeStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := fake.New(fake.VirtualNetwork(), fake.Brokers(1), fake.TLS(newCert(t).ServerConfig()), fake.IdleTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conn, err := c.DialContext(t.Context(), "tcp", c.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte{0x16, 0x03}); err != nil { // the start of a record header
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := io.ReadAll(conn); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Errorf("the stalled handshake was closed after %v, before IdleTimeout", waited)
		}
		stalled := false
		for _, e := range c.Journal() {
			stalled = stalled || (e.Kind == fake.EventBadRequest && strings.Contains(e.Error, "not finished within 1s (IdleTimeout)"))
		}
		if !stalled {
			t.Errorf("no bad-request event for the stalled handshake:\n%s", c.JournalTail(5))
		}
	})
}
