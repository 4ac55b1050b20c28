package harness_test

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The path a user writes: group consumers with the harness's autocommit,
// in a bubble, with a long rebalance: a member stops heartbeating, a new
// member joins, and the rebalance waits for the silent member's 45 s
// session while the others sit in JoinGroup (kgo holds its commit lock
// meanwhile).
func TestAutocommitDuringLongRebalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("orders", 3, 1))
		p := c.Client(t, kgo.DefaultProduceTopic("orders"))
		group := []kgo.Opt{kgo.ConsumerGroup("g"), kgo.ConsumeTopics("orders"),
			kgo.SessionTimeout(45 * time.Second), kgo.RebalanceTimeout(45 * time.Second), kgo.AutoCommitInterval(time.Hour)}
		a := c.Client(t, append(group, kgo.ClientID("a"))...)
		c.Client(t, append(group, kgo.ClientID("stuck"))...)
		ctx := t.Context()
		if _, err := c.WaitGroup(ctx, "g", fake.GroupSettled(2, 3)); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		_ = a
		start := time.Now()
		if _, err := c.AddFault(fake.Blackhole(), fake.OnClient("stuck")); err != nil {
			t.Fatal(err)
		}
		c.Client(t, append(group, kgo.ClientID("late"))...)
		if _, err := c.WaitGroup(ctx, "g", func(gi *kfake.GroupInfo) bool {
			return fake.GroupSettled(2, 3)(gi) && !slices.ContainsFunc(gi.Members, func(m kfake.GroupMember) bool { return m.ClientID == "stuck" })
		}); err != nil {
			t.Fatal(err)
		}
		t.Logf("settled after %v", time.Since(start))
	})
}
