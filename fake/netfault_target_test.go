package fake_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// dialLog is a kgo dialer that remembers the local address of every
// connection it opens: the address the broker sees the client at.
type dialLog struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialLog) dial(ctx context.Context, network, host string) (net.Conn, error) {
	var nd net.Dialer
	cn, err := nd.DialContext(ctx, network, host)
	if err == nil {
		d.mu.Lock()
		d.addrs = append(d.addrs, cn.LocalAddr().String())
		d.mu.Unlock()
	}
	return cn, err
}

func (d *dialLog) snapshot() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.addrs)
}

// A fault targeted OnAddr hits only the connections from that address:
// two clients with the same client id, one of them blackholed by address,
// the other producing through untouched.
func TestOnAddrHitsOnlyThatClient(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1))
	ctx := ctxT(t, 15*time.Second)
	var da, db dialLog
	a := c.Client(t, kgo.ClientID("same"), kgo.Dialer(da.dial), kgo.DefaultProduceTopic("t"))
	b := c.Client(t, kgo.ClientID("same"), kgo.Dialer(db.dial), kgo.DefaultProduceTopic("t"))
	for _, p := range []*kgo.Client{a, b} {
		if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	addrsA, addrsB := da.snapshot(), db.snapshot()
	for _, x := range addrsA {
		if slices.Contains(addrsB, x) {
			t.Fatalf("clients share address %s", x)
		}
	}
	var hs []*fake.FaultHandle
	for _, x := range addrsA {
		h, err := c.AddFault(fake.Blackhole(), fake.OnAddr(x), fake.OnKeys(kmsg.Produce))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	hits := func() (n int) {
		for _, h := range hs {
			n += h.Hits()
		}
		return n
	}
	held := make(chan error, 1)
	go func() { held <- a.ProduceSync(ctx, kgo.StringRecord("a-held")).FirstErr() }()
	waitFor(t, ctx, "client a's produce held by the address fault", func() bool { return hits() == 1 })

	for i := 0; i < 5; i++ {
		if err := b.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("b-", i))).FirstErr(); err != nil {
			t.Fatalf("client b (same client id, other address): %v", err)
		}
	}
	if n := hits(); n != 1 {
		t.Errorf("address faults hit %d requests, want 1: client b's produces must not match", n)
	}
	select {
	case err := <-held:
		t.Fatalf("client a's produce returned while its address was blackholed: %v", err)
	default:
	}
	var hitConns []string
	for _, e := range c.Journal() {
		if e.Kind == fake.EventFaultHit {
			hitConns = append(hitConns, e.Conn)
		}
	}
	if len(hitConns) != 1 || !slices.Contains(addrsA, hitConns[0]) {
		t.Errorf("journal fault hits from %v, want one from client a (%v), none from b (%v)", hitConns, addrsA, addrsB)
	}

	for _, h := range hs {
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-held; err != nil {
		t.Fatalf("client a's produce after the fault was removed: %v", err)
	}
	got := values(consumeAll(t, ctx, c, "t", 8))
	slices.Sort(got)
	if want := []string{"a-held", "b-0", "b-1", "b-2", "b-3", "b-4", "warm-up", "warm-up"}; !slices.Equal(got, want) {
		t.Errorf("log %v, want %v", got, want)
	}
}
