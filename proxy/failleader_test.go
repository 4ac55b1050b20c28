package proxy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFailLeader: FailLeader moves leadership with the upstream's own
// ElectLeaders; the upstream's Metadata, read directly, shows the new
// leader, the journal a leader-change, and a producer through the proxy
// follows.
func TestFailLeader(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(1, "orders"))
	p := start(t, up.ListenAddrs())
	ctx := ctxT(t, 20*time.Second)
	prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"))
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	before, err := p.Partition(ctx, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := p.FailLeader(ctx, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	md, err := kadm.NewClient(client(t, up.ListenAddrs())).Metadata(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if now := md.Topics["orders"].Partitions[0].Leader; now != leader || now == before.Leader {
		t.Errorf("FailLeader returned %d; the upstream's leader was %d and is %d", leader, before.Leader, now)
	}
	changes := events(p, journal.EventLeaderChange)
	if len(changes) != 1 || changes[0].Leader != leader {
		t.Errorf("leader-change events: %v", changes)
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatalf("producing after the leader moved: %v", err)
	}
	if _, err := p.FailLeader(ctx, "nope", 0); err == nil {
		t.Error("FailLeader of an unknown topic: no error")
	}
}

// TestDialContext: a client in the proxy's process reaches it through
// memory: the same answers, journal and faults as over TCP, each
// connection named memory:N; an address that is not the proxy's is
// refused naming the listeners.
func TestDialContext(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(1, "orders"))
	p := start(t, up.ListenAddrs())
	ctx := ctxT(t, 20*time.Second)
	prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"), kgo.Dialer(p.DialContext), kgo.DisableIdempotentWrite())
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddFault(netfault.DropResponses(1), netfault.OnKeys(kmsg.Produce), netfault.Times(1)); err != nil {
		t.Fatal(err)
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	appends := events(p, journal.EventAppend)
	if len(appends) != 3 { // a, b, and b again: its first answer was dropped
		t.Fatalf("%d appends journaled, want 3: %v", len(appends), appends)
	}
	hits := events(p, journal.EventFaultHit)
	if len(hits) != 1 || !strings.HasPrefix(hits[0].Conn, "memory:") {
		t.Errorf("fault hits %v, want one on a connection memory:N", hits)
	}
	if got := readAll(t, up.ListenAddrs(), "orders", 3); len(got) != 3 {
		t.Errorf("upstream has %d records, want 3", len(got))
	}
	_, err := p.DialContext(ctx, "tcp", up.ListenAddrs()[0])
	if err == nil || !strings.Contains(err.Error(), "not one of the proxy's listeners") {
		t.Errorf("dialing the upstream's address through the proxy: %v", err)
	}
}
