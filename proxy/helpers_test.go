package proxy_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// upstream is a raw kfake cluster of three brokers: not kafkaemu, so
// nothing of the emulator's model can help the proxy.
func upstream(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// start is a proxy in front of addrs, closed when the test ends.
func start(t testing.TB, addrs []string, opts ...proxy.Option) *proxy.Proxy {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := proxy.New(ctx, addrs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// client is a kgo client of seeds with short waits, closed when the test
// ends.
func client(t testing.TB, seeds []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.FetchMaxWait(50 * time.Millisecond),
		kgo.MetadataMinAge(10 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.SessionTimeout(3 * time.Second),
		kgo.RebalanceTimeout(3 * time.Second),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// connects records every broker address a kgo client connects to.
type connects struct {
	mu    sync.Mutex
	addrs []string
}

func (c *connects) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addrs = append(c.addrs, net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port))))
}

func (c *connects) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.addrs)
}

// events are the journal's events of kind k.
func events(p *proxy.Proxy, k journal.EventKind) []journal.Event {
	var out []journal.Event
	for _, e := range p.Journal() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// tpo is one record's place.
type tpo struct {
	topic string
	part  int32
	off   int64
}

// readAll reads every record of topic straight from the upstream (not
// through the proxy), until it has want records.
func readAll(t testing.TB, seeds []string, topic string, want int) map[tpo]*kgo.Record {
	t.Helper()
	cl := client(t, seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := ctxT(t, 20*time.Second)
	out := map[tpo]*kgo.Record{}
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading %s back from the upstream: %d of %d records: %v", topic, len(out), want, err)
		}
		fs.EachRecord(func(r *kgo.Record) { out[tpo{r.Topic, r.Partition, r.Offset}] = r })
	}
	return out
}

// proxySeed fixes the faults' random choices.
func proxySeed(n int64) proxy.Option { return proxy.Seed(n) }

// proxyNew is proxy.New closing what it returns when the test ends.
func proxyNew(ctx context.Context, addrs []string, opts ...proxy.Option) (*proxy.Proxy, error) {
	p, err := proxy.New(ctx, addrs, opts...)
	if err == nil {
		p.Close()
	}
	return p, err
}
