package proxy_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestProduceConsume: a producer and a consumer group through the proxy,
// naming one broker of three. Every connection the clients make is to
// the proxy, everything reaches the upstream, and the journal's append
// offsets are the upstream's offsets of the same records.
func TestProduceConsume(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(3, "orders"))
	p := start(t, up.ListenAddrs()[:1])
	if got := len(p.Brokers()); got != 3 {
		t.Fatalf("the proxy fronts %d brokers, want the upstream's 3: %+v", got, p.Brokers())
	}
	var seen connects
	prod := client(t, p.Addrs()[:1], kgo.WithHooks(&seen), kgo.DefaultProduceTopic("orders"))
	ctx := ctxT(t, 30*time.Second)
	const n = 60
	for i := range n {
		if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprint("k", i%7)), Value: []byte(fmt.Sprint("v", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons := client(t, p.Addrs()[:1], kgo.WithHooks(&seen), kgo.ConsumeTopics("orders"), kgo.ConsumerGroup("g"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]bool{}
	for len(got) < n {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d through the proxy; journal:\n%s", len(got), n, p.JournalTail(30))
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}

	for _, a := range seen.list() {
		if !slices.Contains(p.Addrs(), a) {
			t.Errorf("a client connected to %s, not one of the proxy's listeners %v: it went around the proxy", a, p.Addrs())
		}
	}

	// The oracle is the upstream's own log, read directly.
	stored := readAll(t, up.ListenAddrs(), "orders", n)
	journaled := map[tpo]bool{}
	for _, e := range events(p, journal.EventAppend) {
		for o := e.Offset; o <= e.LastOffset; o++ {
			if journaled[tpo{e.Topic, e.Partition, o}] {
				t.Errorf("offset %s[%d]@%d journaled twice", e.Topic, e.Partition, o)
			}
			journaled[tpo{e.Topic, e.Partition, o}] = true
		}
	}
	for k := range stored {
		if !journaled[k] {
			t.Errorf("the upstream stores %s[%d]@%d; the journal has no append there", k.topic, k.part, k.off)
		}
	}
	for k := range journaled {
		if stored[k] == nil {
			t.Errorf("the journal has an append at %s[%d]@%d; the upstream stores nothing there", k.topic, k.part, k.off)
		}
	}
	fetched := 0
	for _, e := range events(p, journal.EventFetch) {
		fetched += int(e.LastOffset - e.Offset + 1)
	}
	if fetched < n {
		t.Errorf("the journal shows %d records fetched, want at least %d", fetched, n)
	}
	commits := events(p, journal.EventOffsetCommit)
	if len(commits) == 0 {
		t.Error("no offset-commit in the journal")
	}
	for _, c := range commits {
		if c.Group != "g" || c.Error != "" {
			t.Errorf("commit %v: want group g and no error", c)
		}
	}
	if t.Failed() {
		t.Log(p.JournalTail(40))
	}
}

// TestClientsStayBehind: every answer that names brokers names the
// proxy's listeners: Metadata, FindCoordinator (v3 and v4+) and
// DescribeCluster.
func TestClientsStayBehind(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(1, "t"))
	p := start(t, up.ListenAddrs())
	cl := client(t, p.Addrs())
	ctx := ctxT(t, 20*time.Second)
	adm := kadm.NewClient(cl)
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, host string, port int32) {
		t.Helper()
		a := fmt.Sprintf("%s:%d", host, port)
		if !slices.Contains(p.Addrs(), a) {
			t.Errorf("%s names %s, not one of the proxy's listeners %v", what, a, p.Addrs())
		}
	}
	for _, b := range md.Brokers {
		check("Metadata", b.Host, b.Port)
	}
	for _, v := range []int16{3, 4} {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version = v
		req.CoordinatorKey, req.CoordinatorKeys = "g", []string{"g"}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if v < 4 {
			check("FindCoordinator v3", resp.Host, resp.Port)
		}
		for _, c := range resp.Coordinators {
			check("FindCoordinator v4", c.Host, c.Port)
		}
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(dc.Brokers) != 3 {
		t.Errorf("DescribeCluster lists %d brokers, want 3", len(dc.Brokers))
	}
	for _, b := range dc.Brokers {
		check("DescribeCluster", b.Host, b.Port)
	}
}

// TestClientsStayBehindAfterLeaderChange: after a leader change a client connects
// only to the proxy's listeners. A produce answer at v10+ names the new
// leader (KIP-951): the proxy rewrites it; a fetch answer at v16+ would
// too, inside an answer the proxy streams, so the proxy offers Fetch up
// to v15 only (and no share-group or quorum requests).
func TestClientsStayBehindAfterLeaderChange(t *testing.T) {
	up := upstream(t, kfake.SeedTopics(1, "orders"))
	p := start(t, up.ListenAddrs())
	ctx := ctxT(t, 20*time.Second)
	var seen connects
	prod := client(t, p.Addrs(), kgo.DefaultProduceTopic("orders"), kgo.WithHooks(&seen))
	cons := client(t, p.Addrs(), kgo.ConsumeTopics("orders"), kgo.WithHooks(&seen))
	for i, v := range []string{"before", "after"} {
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		for got := 0; got <= i; {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatal(ctx.Err())
			}
			got += fs.NumRecords()
		}
		if i == 0 {
			if _, err := p.FailLeader(ctx, "orders", 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, a := range seen.list() {
		if !slices.Contains(p.Addrs(), a) {
			t.Errorf("a client connected to %s, not one of the proxy's listeners %v", a, p.Addrs())
		}
	}
	if rej := events(p, journal.EventProduceRejected); len(rej) == 0 {
		t.Error("no produce was refused by the old leader: the leader change did not reach the producer (journal)")
	}

	vs, err := kadm.NewClient(client(t, p.Addrs())).ApiVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, bv := range vs.Sorted() {
		if max, ok := bv.KeyMaxVersion(int16(kmsg.Fetch)); !ok || max > 15 {
			t.Errorf("broker %d offers Fetch up to v%d (%v), want v15", bv.NodeID, max, ok)
		}
		if _, ok := bv.KeyMaxVersion(int16(kmsg.ShareFetch)); ok {
			t.Errorf("broker %d offers ShareFetch", bv.NodeID)
		}
	}
}
