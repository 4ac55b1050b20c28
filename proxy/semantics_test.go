package proxy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestGroupRebalance: a second member joining through the proxy
// rebalances the group; the journal shows both members joining the new
// generation, and the two share the partitions.
func TestGroupRebalance(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(4, "orders"))
	p := start(t, up.ListenAddrs())
	ctx := ctxT(t, 30*time.Second)
	prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := range 40 {
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	type member struct {
		mu       sync.Mutex
		assigned map[int32]bool
	}
	newMember := func(id string) (*kgo.Client, *member) {
		m := &member{assigned: map[int32]bool{}}
		cl := client(t, p.Addrs(), kgo.ClientID(id), kgo.ConsumeTopics("orders"), kgo.ConsumerGroup("g"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
				m.mu.Lock()
				defer m.mu.Unlock()
				for _, p := range a["orders"] { // incremental with the cooperative balancer
					m.assigned[p] = true
				}
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
				m.mu.Lock()
				defer m.mu.Unlock()
				for _, p := range r["orders"] {
					delete(m.assigned, p)
				}
			}))
		return cl, m
	}
	count := func(m *member) int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.assigned)
	}
	a, ma := newMember("a")
	for count(ma) != 4 {
		a.PollRecords(ctx, 10)
		if ctx.Err() != nil {
			t.Fatalf("member a has %d of 4 partitions", count(ma))
		}
	}
	b, mb := newMember("b")
	var wg sync.WaitGroup
	wg.Add(1)
	pollA, cancelA := context.WithCancel(ctx)
	go func() { // a keeps polling, so it takes part in the rebalance
		defer wg.Done()
		for pollA.Err() == nil {
			a.PollRecords(pollA, 10)
		}
	}()
	for count(mb) == 0 || count(ma) == 0 || count(ma)+count(mb) != 4 {
		b.PollRecords(ctx, 10)
		if ctx.Err() != nil {
			t.Fatalf("after b joined: a has %d, b has %d of 4 partitions", count(ma), count(mb))
		}
	}
	cancelA()
	wg.Wait()
	joins := map[string]int32{} // client -> newest generation joined
	for _, e := range events(p, journal.EventGroup) {
		if e.Group == "g" && e.Error == "" && len(e.Detail) > 5 && e.Detail[:5] == "join:" {
			joins[e.Client] = max(joins[e.Client], e.Epoch)
		}
	}
	if joins["a"] < 2 || joins["b"] < 2 || joins["a"] != joins["b"] {
		t.Errorf("the journal's joins by client: %v; want a and b in one generation after the first\n%s", joins, p.JournalTail(30))
	}
}

// TestTransactions: a transactional producer through the proxy commits
// one transaction and aborts another; a read_committed consumer sees only
// the committed records, and the journal has the producer id, both
// begins and both ends.
func TestTransactions(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(1, "orders"))
	p := start(t, up.ListenAddrs())
	ctx := ctxT(t, 30*time.Second)
	prod := client(t, p.Addrs(), kgo.TransactionalID("tx-1"), kgo.DefaultProduceTopic("orders"))
	for i, commit := range []bool{true, false} {
		if err := prod.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("t%d-%d", i, j))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := prod.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	cons := client(t, p.Addrs(), kgo.ConsumeTopics("orders"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) < 3 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed through the proxy: %v", got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	for _, v := range got {
		if v[:2] != "t0" {
			t.Errorf("a read_committed consumer saw %q, from the aborted transaction", v)
		}
	}
	inits, begins, ends := events(p, journal.EventProducerInit), events(p, journal.EventTxnBegin), events(p, journal.EventTxnEnd)
	if len(inits) == 0 || inits[0].Detail != "transactional.id=tx-1" {
		t.Errorf("producer-init events: %v", inits)
	}
	var outcomes []bool
	for _, e := range ends {
		if e.Error == "" {
			outcomes = append(outcomes, e.Committed)
		}
	}
	if len(begins) != 2 || fmt.Sprint(outcomes) != "[true false]" {
		t.Errorf("the journal has %d txn-begin and txn-ends committed %v; want 2 and [true false]\n%s", len(begins), outcomes, p.JournalTail(30))
	}
}

// TestDroppedProduceResponseDuplicates: the classic at-least-once trap.
// The proxy drops the answer to a produce the upstream applied; a
// producer without idempotence retries, and the record is stored twice.
// The checker, fed only what the clients saw, finds the duplicate; the
// journal shows the fault hit and two appends of the value. With
// idempotence the upstream answers the retry from its log: one append.
func TestDroppedProduceResponseDuplicates(t *testing.T) {
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprintf("idempotent=%v", idempotent), func(t *testing.T) {
			up := upstream(t, kfake.SeedTopics(1, "orders"))
			p := start(t, up.ListenAddrs(), proxySeed(1))
			ctx := ctxT(t, 30*time.Second)
			h := assertions.NewHistory()
			opts := []kgo.Opt{kgo.DefaultProduceTopic("orders"), kgo.WithHooks(assertions.NewRecorder(h, "producer")), kgo.RequestRetries(5)}
			if !idempotent {
				opts = append(opts, kgo.DisableIdempotentWrite())
			}
			prod := client(t, p.Addrs(), opts...)
			if _, err := p.AddFault(netfault.DropResponses(1), netfault.OnKeys(kmsg.Produce), netfault.Times(1)); err != nil {
				t.Fatal(err)
			}
			for _, v := range []string{"a", "b", "c"} {
				if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			cons := client(t, p.Addrs(), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
				kgo.WithHooks(assertions.NewRecorder(h, "consumer")))
			want := 3
			if !idempotent {
				want = 4
			}
			stored := readAll(t, up.ListenAddrs(), "orders", want) // the upstream's log, read directly
			polled := 0
			for polled < len(stored) {
				fs := cons.PollFetches(ctx)
				if ctx.Err() != nil {
					t.Fatalf("consumed %d of %d", polled, len(stored))
				}
				polled += fs.NumRecords()
			}
			if hits := events(p, journal.EventFaultHit); len(hits) != 1 {
				t.Fatalf("fault hits: %v", hits)
			}
			appendsOfA := 0
			for _, e := range events(p, journal.EventAppend) {
				for o := e.Offset; o <= e.LastOffset; o++ {
					if r := stored[tpo{e.Topic, e.Partition, o}]; r != nil && string(r.Value) == "a" {
						appendsOfA++
					}
				}
			}
			r := assertions.Check(h)
			if idempotent {
				if len(stored) != 3 || appendsOfA != 1 || r.Count(assertions.Duplicate) != 0 {
					t.Errorf("idempotent: stored %d records, journaled %d appends of a, %d duplicates; want 3, 1, 0\n%s", len(stored), appendsOfA, r.Count(assertions.Duplicate), r)
				}
				return
			}
			if appendsOfA != 2 {
				t.Errorf("the journal has %d appends of the retried value, want 2\n%s", appendsOfA, p.JournalTail(20))
			}
			if r.Count(assertions.Duplicate) != 1 {
				t.Errorf("the checker found %d duplicates, want 1 (the retried record)\n%s", r.Count(assertions.Duplicate), r)
			}
		})
	}
}
