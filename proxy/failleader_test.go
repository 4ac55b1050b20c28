package proxy_test

import (
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
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
