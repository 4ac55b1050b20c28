package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// billed 100 orders
}

// Billing is at-least-once across a rebalance (a second instance joins)
// and a leader failover: every order the producer got acknowledged was
// billed by the group.
func TestBillingIsAtLeastOnce(t *testing.T) {
	t.Parallel()
	c := billUnderFaults(t, "")
	assertions.AtLeastOnce(t, assertions.Check(c.History(), assertions.ConsumedBy("billing")))
}

// A handler that polls an order and drops it fails the test, and the
// failure names the order. The client polled order-57, so a history of
// polls would have passed: only what the application processed counts.
func TestDroppedOrderFailsNamingIt(t *testing.T) {
	t.Parallel()
	c := billUnderFaults(t, "order-57")
	var verdict failures
	if assertions.AtLeastOnce(&verdict, assertions.Check(c.History(), assertions.ConsumedBy("billing"))) {
		t.Fatal("AtLeastOnce passed although the handler dropped order-57")
	}
	msg := verdict.String()
	t.Logf("the verdict on the planted drop:\n%s", msg)
	for _, want := range []string{"at-least-once violated", "unseen: 1 record(s)", `value="order-57"`, `key="customer-7"`, "processed by group billing", "never processed; group billing committed offset"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure lacks %q:\n%s", want, msg)
		}
	}
}

// failures collects what an assertion reports instead of failing the test.
type failures struct{ msgs []string }

func (f *failures) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *failures) String() string { return strings.Join(f.msgs, "\n") }

// billUnderFaults runs billing against 200 orders: instance billing-1
// bills the first 100, billing-2 joins (a rebalance), orders[0]'s leader
// fails, and 100 more orders are billed by both. The handler drops the
// order named drop, if any. It returns once the group has processed every
// partition to its end, with the cluster for the verdict.
func billUnderFaults(t *testing.T, drop string) *harness.Cluster {
	c := harness.Start(t, fake.Topic("orders", 3, 3, map[string]string{"min.insync.replicas": "2"}))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("orders"))
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			p.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint("customer-", i%10)), Value: []byte(fmt.Sprint("order-", i))}, nil)
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(context.Background())
	start := func(name string) {
		// A Processing recorder records what the handler processed, not
		// what the client polled.
		rec := c.Recorder(name, assertions.Processing())
		cl := c.Client(t, kgo.ClientID(name), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"),
			kgo.DisableAutoCommit(), kgo.WithHooks(rec))
		svc := &Billing{Client: cl, Handle: func(_ context.Context, r *kgo.Record) error {
			if string(r.Value) == drop {
				return nil // the bug: polled, never billed
			}
			// ... bill the order ...
			rec.Processed(r) // once it is billed
			return nil
		}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.Run(runCtx); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}()
		t.Cleanup(func() { stop(); wg.Wait() }) // before the client closes
	}

	start("billing-1")
	produce(0, 100)
	if err := c.WaitConsumed(ctx, "billing", "orders"); err != nil {
		t.Fatal(err)
	}
	start("billing-2")
	gi, err := c.WaitGroup(ctx, "billing", fake.GroupSettled(2, 3))
	if err != nil {
		t.Fatal(err)
	}
	old, err := c.Partition("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := c.FailLeader("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	produce(100, 200)
	if err := c.WaitConsumed(ctx, "billing", "orders"); err != nil {
		t.Fatal(err)
	}

	// The faults had their effect: the leader moved, and both instances
	// billed orders, billing-2 in a later generation than billing-1 began.
	if leader == old.Leader {
		t.Fatalf("orders[0] is still led by broker %d", leader)
	}
	failedOver := false
	for _, e := range c.Journal() {
		if e.Kind == fake.EventLeaderChange && e.Topic == "orders" && e.Partition == 0 && e.Leader == leader && e.Epoch > old.LeaderEpoch {
			failedOver = true
		}
	}
	if !failedOver {
		t.Errorf("the journal has no leader change of orders[0] to broker %d", leader)
	}
	first, last := map[string]int32{}, map[string]int32{} // generations each instance billed in
	for _, e := range c.History().Events() {
		if e.Op == assertions.OpPoll {
			if g, ok := first[e.Consumer]; !ok || e.Generation < g {
				first[e.Consumer] = e.Generation
			}
			last[e.Consumer] = max(last[e.Consumer], e.Generation)
		}
	}
	if g, ok := first["billing-1"]; !ok || g >= gi.Epoch {
		t.Errorf("billing-1 billed nothing before billing-2 joined (generation %d): first billed in %v", gi.Epoch, first)
	}
	if last["billing-2"] < gi.Epoch {
		t.Errorf("billing-2 billed nothing in generation %d or later: %v", gi.Epoch, last)
	}
	return c
}
