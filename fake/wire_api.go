package fake

import (
	"fmt"
	"time"

	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The wire layer (client connections, request validation, response
// slots) lives in internal/wire; fake routes what it reads (route.go).

// These keep the names fake's code has always used.
type (
	conn      = wire.Conn
	slot      = wire.Slot
	reqHeader = wire.Header
)

var (
	newSlot        = wire.NewSlot
	decodeRequest  = wire.DecodeRequest
	encodeRequest  = wire.EncodeRequest
	decodeResponse = wire.DecodeResponse
	encodeResponse = wire.EncodeResponse
)

const (
	// DefaultMaxRequestBytes is Kafka's socket.request.max.bytes default.
	DefaultMaxRequestBytes = wire.DefaultMaxRequestBytes
	// DefaultIdleTimeout is the default IdleTimeout: shorter than Kafka's
	// connections.max.idle.ms (10 minutes) because tests are short, and
	// longer than any client waits for an answer.
	DefaultIdleTimeout = wire.DefaultIdleTimeout
)

const internalClientID = "kafkaemu-internal"

// MaxRequestBytes is Kafka's socket.request.max.bytes: a request frame
// announcing more than n bytes closes its connection (journaled as
// bad-request) before any of its body is read. The default is
// DefaultMaxRequestBytes (100 MiB).
func MaxRequestBytes(n int) Option {
	return func(c *config) error {
		if n < 64 || n > 1<<31-1 {
			return fmt.Errorf("fake.MaxRequestBytes(%d): want 64 to %d bytes", n, 1<<31-1)
		}
		c.wire.MaxRequestBytes = n
		return nil
	}
}

// IdleTimeout is Kafka's connections.max.idle.ms: a client connection
// that sends no request for d while no answer is owed to it is closed,
// and so is one that begins a request and does not send all of it within
// d (a stalled or trickling client; journaled as bad-request). The
// default is DefaultIdleTimeout (1 minute).
func IdleTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("fake.IdleTimeout(%v): want a positive duration", d)
		}
		c.wire.IdleTimeout = d
		return nil
	}
}

// newListener is broker node's listener, handed to kfake through
// ListenFn: every request it reads is routed by c.route.
func (c *Cluster) newListener(node int32, addr string) (*wire.Listener, error) {
	addr, err := c.brokerListenAddr(node, addr)
	if err != nil {
		return nil, err
	}
	cfg := c.cfg.wire // the limits
	cfg.Node = node
	cfg.Listen = c.listenOn
	cfg.Versions = c.versions
	cfg.Check = checkNewPartitions
	cfg.Route = c.route
	cfg.Faults = c.net
	cfg.Journal = &c.journal
	cfg.InternalClientID = internalClientID
	return wire.NewListener(cfg, addr)
}

// versions is what the cluster advertises in ApiVersions, asked of kfake
// once (it honours kfake.MaxVersions); nil when kfake cannot be asked
// (the cluster is closing).
func (c *Cluster) versions() map[int16][2]int16 {
	return c.apiVersions.Get(func(req *kmsg.ApiVersionsRequest) (kmsg.Response, error) { return c.request(-1, req) })
}

// maxNewPartitions bounds the partitions one request may create: kfake
// and the model hold every partition in memory, and one CreateTopics
// asking for two billion would end the process.
const maxNewPartitions = 100_000

func checkNewPartitions(req kmsg.Request) error {
	if n := newPartitions(req); n > maxNewPartitions {
		return fmt.Errorf("asks for %d partitions, more than the emulator's limit of %d a request", n, maxNewPartitions)
	}
	return nil
}

func newPartitions(req kmsg.Request) int64 {
	var n int64
	switch r := req.(type) {
	case *kmsg.CreateTopicsRequest:
		for _, t := range r.Topics {
			n += max(int64(t.NumPartitions), int64(len(t.ReplicaAssignment)))
		}
	case *kmsg.CreatePartitionsRequest:
		for _, t := range r.Topics {
			n += int64(t.Count)
		}
	}
	return n
}
