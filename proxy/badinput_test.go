package proxy_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestBadUpstream: what cannot work is refused by New with an error that
// says what and where, and leaves nothing running (goleak).
func TestBadUpstream(t *testing.T) {
	newErr := func(t *testing.T, addrs []string, opts ...proxy.Option) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		p, err := proxy.New(ctx, addrs, opts...)
		if err == nil {
			p.Close()
			t.Fatalf("proxy.New(%v): no error", addrs)
		}
		t.Log(err)
		return err.Error()
	}
	want := func(t *testing.T, msg string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				t.Errorf("error %q does not say %q", msg, p)
			}
		}
	}

	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		want(t, newErr(t, []string{addr}), "upstream "+addr+" is unreachable", "refused")
	})
	t.Run("http", func(t *testing.T) {
		// An HTTP server waits for a request line the Kafka frame never
		// ends: the proxy gives up after its dial timeout.
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		addr := strings.TrimPrefix(srv.URL, "http://")
		want(t, newErr(t, []string{addr}, proxy.DialTimeout(300*time.Millisecond)), "upstream "+addr+" accepted the connection but did not answer", "is it a Kafka broker")
	})
	t.Run("ssh", func(t *testing.T) {
		// A server that speaks first: its answer is shown.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		served := make(chan struct{})
		go func() {
			defer close(served)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			_, _ = c.Read(make([]byte, 1024))
		}()
		addr := ln.Addr().String()
		want(t, newErr(t, []string{addr}), "upstream "+addr+" does not speak Kafka", `"SSH-2.0-OpenSSH_9.6..`, "an SSH server")
		ln.Close()
		<-served
	})
	t.Run("silent", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted <- c
			}
		}()
		want(t, newErr(t, []string{ln.Addr().String()}, proxy.DialTimeout(200*time.Millisecond)), "did not answer an ApiVersions request within 200ms")
		(<-accepted).Close()
	})
	t.Run("tls-upstream-without-tls", func(t *testing.T) {
		up := upstream(t, kfake.TLS(testCert.ServerConfig()))
		want(t, newErr(t, up.ListenAddrs()[:1]), "TLS")
	})
	t.Run("one-of-many-unreachable", func(t *testing.T) {
		up := upstream(t)
		hidden := up.ListenAddrs()[2]
		var d net.Dialer
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == hidden {
				return nil, errors.New("no route to host (test)")
			}
			return d.DialContext(ctx, network, addr)
		}
		want(t, newErr(t, up.ListenAddrs()[:1], proxy.Dialer(dial)),
			"the upstream has 3 brokers", "broker 2: upstream "+hidden+" is unreachable", "advertised.listeners")
	})
	t.Run("non-loopback", func(t *testing.T) {
		up := upstream(t)
		want(t, newErr(t, up.ListenAddrs(), proxy.ListenHost("0.0.0.0")), `proxy.ListenHost("0.0.0.0"): not a loopback address`, "AllowNonLoopback")
	})
	t.Run("no-upstream", func(t *testing.T) {
		want(t, newErr(t, nil), "no upstream broker")
	})
	t.Run("not-host-port", func(t *testing.T) {
		want(t, newErr(t, []string{"kafka-1"}), `upstream "kafka-1" is not host:port`)
	})
}
