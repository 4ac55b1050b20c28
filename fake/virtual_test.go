package fake_test

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// In a bubble, on the virtual network: acks=all writes survive a broker
// crash, the broker restarts on its old address, a client built by the
// test reaches the cluster through DialContext, and everything the
// cluster started ends at Close (the bubble fails the test otherwise).
func TestVirtualNetworkInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(3), fake.Topic("orders", 3, 3, map[string]string{"min.insync.replicas": "2"}))
		if !c.Virtual() {
			t.Fatal("Virtual() = false with fake.VirtualNetwork()")
		}
		addr0 := c.Brokers()[0].Addr
		if addr0 != "127.0.0.1:9092" {
			t.Fatalf("broker 0 listens on %s, want 127.0.0.1:9092", addr0)
		}
		p := c.Client(t, kgo.DefaultProduceTopic("orders"))
		ctx := t.Context()
		produce := func(v string) {
			t.Helper()
			if err := p.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
				t.Fatalf("producing %s: %v", v, err)
			}
		}
		for i := range 10 {
			produce(fmt.Sprint("before-", i))
		}
		if err := c.KillBroker(0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DialContext(ctx, "tcp", addr0); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dialing the killed broker: %v, want connection refused", err)
		}
		produce("while-down")
		if err := c.RestartBroker(0); err != nil {
			t.Fatal(err)
		}
		if b := c.Brokers()[0]; !b.Up || b.Addr != addr0 {
			t.Fatalf("after restart broker 0 is %+v, want up on %s", b, addr0)
		}
		produce("after-restart")

		// A client the test builds itself, through the cluster's dialer.
		raw, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.Dialer(c.DialContext),
			kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		offs, err := kadm.NewClient(raw).ListEndOffsets(ctx, "orders")
		if err != nil {
			t.Fatal(err)
		}
		var end int64
		offs.Each(func(o kadm.ListedOffset) { end += o.Offset })
		if end != 12 {
			t.Fatalf("end offsets sum to %d, want 12 acks=all writes", end)
		}
		for n := 0; n < 12; {
			fs := raw.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			n += fs.NumRecords()
		}
		var down, up int
		for _, e := range c.Journal() {
			switch {
			case e.Kind == fake.EventBrokerDown && e.Broker == 0:
				down++
			case e.Kind == fake.EventBrokerUp && e.Broker == 0 && e.Detail == addr0:
				up++
			}
		}
		if down != 1 || up != 2 {
			t.Fatalf("journal: broker 0 down %d times, up %d times on %s; want 1 and 2", down, up, addr0)
		}
	})
}

// Outside a bubble the virtual network works in real time, and nothing of
// it is on TCP.
func TestVirtualNetworkRealTime(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("t", 1, 1))
	ctx := ctxT(t, 20*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	if err := p.ProduceSync(ctx, kgo.StringRecord("v")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cons := c.Client(t, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if fs := cons.PollFetches(ctx); fs.Err0() != nil || fs.NumRecords() != 1 {
		t.Fatalf("polled %d records, err %v", fs.NumRecords(), fs.Err0())
	}
	if _, err := c.DialContext(ctx, "tcp", "127.0.0.1:9999"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dialing a port nobody listens on: %v, want connection refused", err)
	}
	if _, err := c.DialContext(ctx, "tcp", "10.0.0.1:9092"); err == nil || !strings.Contains(err.Error(), "only 127.0.0.1") {
		t.Fatalf("dialing another host: %v, want an error naming 127.0.0.1", err)
	}
}

func TestVirtualNetworkWithTCPPorts(t *testing.T) {
	t.Parallel()
	c, err := fake.New(fake.VirtualNetwork(), fake.Brokers(1), fake.KfakeOpts(kfake.Ports(19092)))
	if err == nil {
		c.Close()
		t.Fatal("VirtualNetwork with kfake.Ports started")
	}
	for _, want := range []string{"fake.VirtualNetwork", "127.0.0.1:19092", "kfake.Ports"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}
