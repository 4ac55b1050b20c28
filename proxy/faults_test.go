package proxy_test

import (
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFaults: each network fault through the proxy has its effect, and
// the journal records it hitting. The oracle for "the upstream saw it or
// not" is the upstream's own high watermark, read directly.
func TestFaults(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(1, "orders"))
	direct := kadm.NewClient(client(t, up.ListenAddrs()))
	hw := func(t *testing.T) int64 {
		t.Helper()
		ends, err := direct.ListEndOffsets(ctxT(t, 10*time.Second), "orders")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := ends.Lookup("orders", 0)
		return o.Offset
	}
	hitsOf := func(p interface{ Journal() []journal.Event }, kind string) int {
		n := 0
		for _, e := range p.Journal() {
			if e.Kind == journal.EventFaultHit && len(e.Detail) >= len(kind) && e.Detail[:len(kind)] == kind {
				n++
			}
		}
		return n
	}

	t.Run("latency", func(t *testing.T) {
		p := start(t, up.ListenAddrs())
		prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"))
		ctx := ctxT(t, 20*time.Second)
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("warm")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		const d = 300 * time.Millisecond
		h, err := p.AddFault(netfault.Latency(d, 0), netfault.OnKeys(kmsg.Produce))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("slow")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(t0); took < d {
			t.Errorf("a produce under %v latency took %v", d, took)
		}
		if h.Hits() < 1 || hitsOf(p, "latency") < 1 {
			t.Errorf("hits %d; journal:\n%s", h.Hits(), p.JournalTail(10))
		}
	})

	t.Run("close-connections", func(t *testing.T) {
		p := start(t, up.ListenAddrs())
		prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"))
		ctx := ctxT(t, 20*time.Second)
		h, err := p.AddFault(netfault.CloseConnections(), netfault.OnKeys(kmsg.Produce), netfault.Times(2))
		if err != nil {
			t.Fatal(err)
		}
		before := hw(t)
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if h.Hits() != 2 || hitsOf(p, "close-connections") != 2 {
			t.Errorf("hits %d, want 2 (the fault closed two connections before the client got through)", h.Hits())
		}
		if got := hw(t) - before; got != 1 {
			t.Errorf("the upstream got %d records for one produce whose first two attempts never reached it", got)
		}
	})

	// blackhole and network-partition hold requests: the upstream sees
	// nothing until the fault is removed, then everything.
	for _, tc := range []struct {
		name  string
		fault func(leader int32) netfault.NetFault
		extra []netfault.Target
	}{
		{"blackhole", func(int32) netfault.NetFault { return netfault.Blackhole() }, []netfault.Target{netfault.OnClient("stuck")}},
		{"network-partition", func(leader int32) netfault.NetFault { return netfault.Partition(leader) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, up.ListenAddrs())
			prod := client(t, p.Addrs(), kgo.ClientID("stuck"), kgo.DefaultProduceTopic("orders"))
			ctx := ctxT(t, 20*time.Second)
			if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("warm")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			st, err := p.Partition(ctx, "orders", 0)
			if err != nil {
				t.Fatal(err)
			}
			h, err := p.AddFault(tc.fault(st.Leader), append(tc.extra, netfault.OnKeys(kmsg.Produce))...)
			if err != nil {
				t.Fatal(err)
			}
			before := hw(t)
			done := make(chan error, 1)
			go func() { done <- prod.ProduceSync(ctx, &kgo.Record{Value: []byte("held")}).FirstErr() }()
			if err := h.Wait(ctx, 1); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				t.Fatalf("the produce finished (%v) while the fault held it", err)
			default:
			}
			if got := hw(t); got != before {
				t.Errorf("the upstream's high watermark moved %d -> %d while the request was held", before, got)
			}
			if err := h.Remove(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("after the fault was removed: %v", err)
			}
			if got := hw(t); got != before+1 {
				t.Errorf("after removal the upstream's high watermark is %d, want %d", got, before+1)
			}
		})
	}

	t.Run("by-client", func(t *testing.T) {
		p := start(t, up.ListenAddrs())
		ctx := ctxT(t, 20*time.Second)
		victim := client(t, p.Addrs(), kgo.ClientID("victim"), kgo.DefaultProduceTopic("orders"))
		other := client(t, p.Addrs(), kgo.ClientID("other"), kgo.DefaultProduceTopic("orders"))
		h, err := p.AddFault(netfault.Blackhole(), netfault.OnClient("victim"))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- victim.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr() }()
		if err := h.Wait(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if err := other.ProduceSync(ctx, &kgo.Record{Value: []byte("o")}).FirstErr(); err != nil {
			t.Fatalf("another client's produce under a fault for client victim: %v", err)
		}
		for _, e := range p.Journal() {
			if e.Kind == journal.EventFaultHit && e.Client != "victim" {
				t.Errorf("the fault hit client %q: %v", e.Client, e)
			}
		}
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	// Fetch answers stream to the client as they arrive: a dropped one
	// still closes the connection and a delayed one still waits, and the
	// consumer still reads everything once.
	t.Run("fetch-answers", func(t *testing.T) {
		p := start(t, up.ListenAddrs())
		ctx := ctxT(t, 20*time.Second)
		prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"))
		before := hw(t)
		for range 5 {
			if err := prod.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 200<<10)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		drop, err := p.AddFault(netfault.DropResponses(1), netfault.OnKeys(kmsg.Fetch), netfault.Times(1))
		if err != nil {
			t.Fatal(err)
		}
		slow, err := p.AddFault(netfault.Latency(50*time.Millisecond, 0), netfault.OnKeys(kmsg.Fetch), netfault.Times(3))
		if err != nil {
			t.Fatal(err)
		}
		cons := client(t, p.Addrs(), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().At(before)))
		got := 0
		for got < 5 {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of 5 under fetch faults", got)
			}
			got += fs.NumRecords()
		}
		if got != 5 || drop.Hits() != 1 || slow.Hits() < 1 {
			t.Errorf("consumed %d, drop hits %d, latency hits %d; want 5, 1, at least 1", got, drop.Hits(), slow.Hits())
		}
		fetched := map[int64]int{}
		for _, e := range p.Journal() {
			if e.Kind == journal.EventFetch {
				for o := e.Offset; o <= e.LastOffset; o++ {
					fetched[o]++
				}
			}
		}
		for o := before; o < before+5; o++ {
			if fetched[o] == 0 {
				t.Errorf("offset %d: no fetch journaled", o)
			}
		}
	})

	t.Run("isolate-refused", func(t *testing.T) {
		p := start(t, up.ListenAddrs())
		if _, err := p.AddFault(netfault.Isolate(0), netfault.OnClient("x")); err == nil {
			t.Fatal("Isolate on a proxy: no error")
		} else {
			t.Log(err)
		}
	})
}
