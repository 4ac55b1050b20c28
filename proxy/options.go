package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/twmb/franz-go/pkg/sasl"
)

// Option configures a Proxy; pass options to New.
type Option func(*config) error

type config struct {
	host        string // where the listeners listen
	remote      bool   // AllowNonLoopback
	tls         *tls.Config
	sasl        sasl.Mechanism
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	dialTimeout time.Duration
	seed        int64
	seedSet     bool
	wire        wire.Config // the limits
}

// ListenHost is the host every broker's listener listens on (default
// 127.0.0.1, each on a random port). A host that is not a loopback
// address also needs AllowNonLoopback.
func ListenHost(host string) Option {
	return func(c *config) error {
		if host == "" {
			return fmt.Errorf("proxy.ListenHost(%q): the host is empty", host)
		}
		c.host = host
		return nil
	}
}

// AllowNonLoopback lets ListenHost name an address other machines can
// reach: anyone who reaches it reaches the upstream cluster through the
// proxy, with whatever access the upstream grants an unauthenticated
// client.
func AllowNonLoopback() Option {
	return func(c *config) error {
		c.remote = true
		return nil
	}
}

// TLS makes the proxy's listeners speak TLS to clients with cfg (which
// holds the proxy's certificate): the handshake comes first, a client
// that does not start one is refused and journaled as a bad request.
// A Kafka-aware proxy has to read the requests, so it ends the client's
// TLS and begins its own to the upstream (UpstreamTLS): the two are
// independent. In-process clients (DialContext) speak TLS too.
func TLS(cfg *tls.Config) Option {
	return func(c *config) error {
		if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil) {
			return fmt.Errorf("proxy.TLS: the *tls.Config has no certificate (set Certificates or GetCertificate)")
		}
		c.wire.TLS = cfg
		return nil
	}
}

// UpstreamTLS connects to the upstream brokers over TLS with cfg (its
// ServerName, if empty, is each broker's host). Clients speak plaintext
// to the proxy unless TLS is given too.
func UpstreamTLS(cfg *tls.Config) Option {
	return func(c *config) error {
		if cfg == nil {
			return fmt.Errorf("proxy.UpstreamTLS(nil): want a *tls.Config (an empty one uses the system's roots)")
		}
		c.tls = cfg
		return nil
	}
}

// UpstreamSASL authenticates the proxy's own requests to the upstream
// (discovering brokers, Partition, FailLeader, the topics a harness
// creates) with m. Clients' SASL handshakes pass through the proxy to the
// upstream untouched whether or not this is set.
func UpstreamSASL(m sasl.Mechanism) Option {
	return func(c *config) error {
		if m == nil {
			return fmt.Errorf("proxy.UpstreamSASL(nil): want a mechanism (franz-go's sasl/plain, sasl/scram, ...)")
		}
		c.sasl = m
		return nil
	}
}

// Dialer dials the upstream brokers (default: net.Dialer); TLS, if set,
// is layered on the connections it returns.
func Dialer(fn func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("proxy.Dialer(nil): want a dial function")
		}
		c.dial = fn
		return nil
	}
}

// DialTimeout bounds each dial of an upstream broker and New's first
// exchange with it (default 10s).
func DialTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("proxy.DialTimeout(%v): want a positive duration", d)
		}
		c.dialTimeout = d
		return nil
	}
}

// Seed is the seed of the network faults' random choices (jitter,
// drop probability); by default a random one (Proxy.Seed tells it).
func Seed(n int64) Option {
	return func(c *config) error {
		c.seed, c.seedSet = n, true
		return nil
	}
}

// MaxRequestBytes is the largest request frame a client may send (Kafka's
// socket.request.max.bytes, 100 MiB by default): a larger one closes its
// connection and is journaled as bad-request.
func MaxRequestBytes(n int) Option {
	return func(c *config) error {
		if n < 64 || n > 1<<31-1 {
			return fmt.Errorf("proxy.MaxRequestBytes(%d): want 64 to %d bytes", n, 1<<31-1)
		}
		c.wire.MaxRequestBytes = n
		return nil
	}
}

// IdleTimeout closes a client connection that sends nothing for d while
// it is owed no answer, or leaves a request unfinished for d (Kafka's
// connections.max.idle.ms; 1 minute by default).
func IdleTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("proxy.IdleTimeout(%v): want a positive duration", d)
		}
		c.wire.IdleTimeout = d
		return nil
	}
}
