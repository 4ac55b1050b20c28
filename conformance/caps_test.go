package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
)

// driver is one client: what the capabilities ask of it. Every record
// goes to partition 0 of its topic. A driver answers errUnsupported for
// what the client cannot do at all.
type driver interface {
	version(t *testing.T) (string, error)
	// produce writes values, each a record, and returns once all are
	// acknowledged (acks=0: once sent).
	produce(t *testing.T, e endpoint, p produceSpec) error
	// consume reads n records of partition 0 from its start (in group
	// when given, committing what it read before it returns).
	consume(t *testing.T, e endpoint, c consumeSpec) ([]string, error)
	// member joins group for topic and stays until stop; stop(true)
	// ends it without leaving the group, as a crash would.
	member(t *testing.T, e endpoint, m memberSpec) (stop func(abrupt bool), err error)
	// txn writes values in one transaction and commits or aborts it.
	txn(t *testing.T, e endpoint, x txnSpec) error
}

type produceSpec struct {
	topic      string
	acks       string // "0", "1" or "all"
	values     []string
	idempotent bool
}

type consumeSpec struct {
	topic         string
	group         string
	n             int
	readCommitted bool
}

type memberSpec struct{ topic, group, instanceID string }

type txnSpec struct {
	topic, id string
	values    []string
	commit    bool
}

var errUnsupported = errors.New("not supported by the client")

func values(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

// capabilityTests are the matrix's columns, each written once for every
// client.
var capabilityTests = map[string]func(t *testing.T, ct *cellT, cl client, d driver){
	"acks0":      func(t *testing.T, ct *cellT, cl client, d driver) { acksCell(t, cl, d, "0", 0) },
	"acks1":      func(t *testing.T, ct *cellT, cl client, d driver) { acksCell(t, cl, d, "1", 1) },
	"acksall":    func(t *testing.T, ct *cellT, cl client, d driver) { acksCell(t, cl, d, "all", -1) },
	"group":      groupCell,
	"rebalance":  rebalanceCell,
	"static":     staticCell,
	"idempotent": idempotentCell,
	"txn":        txnCell,
	"leaderloss": leaderLossCell,
	"plain":      func(t *testing.T, ct *cellT, cl client, d driver) { saslCell(t, ct, cl, d, "PLAIN") },
	"scram":      func(t *testing.T, ct *cellT, cl client, d driver) { saslCell(t, ct, cl, d, "SCRAM-SHA-256") },
	"tls":        tlsCell,
	"verdict":    verdictCell,
}

func mustProduce(t *testing.T, d driver, e endpoint, p produceSpec) {
	t.Helper()
	if err := d.produce(t, e, p); err != nil {
		t.Fatalf("produce %v with acks=%s: %v", p.values, p.acks, err)
	}
}

// appended sums the records the journal shows appended to topic, by acks.
func appended(evs []fake.Event, topic string) map[int16]int64 {
	out := map[int16]int64{}
	for _, e := range evs {
		if e.Kind == fake.EventAppend && e.Topic == topic && (e.Detail == "" || e.Detail == "un-replicated") {
			out[e.Acks] += e.LastOffset - e.Offset + 1
		}
	}
	return out
}

func acksCell(t *testing.T, cl client, d driver, acks string, journaled int16) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:1:3"}, configs: []string{"t:min.insync.replicas=2"}})
	mustProduce(t, d, c.endpoint(), produceSpec{topic: "t", acks: acks, values: values("v", 10)})
	// The journal records an append once kfake answered it, a moment
	// after the log (and the high watermark) has it: wait for both.
	var got map[int16]int64
	waitFor(t, "10 records stored and journaled", func() bool {
		got = appended(c.journal(t), "t")
		var n int64
		for _, v := range got {
			n += v
		}
		return n >= 10 && c.partition(t, "t", 0).HighWatermark >= 10
	})
	if len(got) != 1 || got[journaled] != 10 {
		t.Errorf("the journal shows appends by acks %v; want 10 records with acks=%d", got, journaled)
	}
	if hw := c.partition(t, "t", 0).HighWatermark; hw != 10 {
		t.Errorf("high watermark %d, want 10", hw)
	}
}

func groupCell(t *testing.T, ct *cellT, cl client, d driver) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:1:3"}})
	want := values("v", 10)
	seed(t, c.endpoint(), "t", want...)
	got, err := d.consume(t, c.endpoint(), consumeSpec{topic: "t", group: "g", n: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("group g read %v, want %v", got, want)
	}
	waitFor(t, "group g's commit of offset 10", func() bool {
		g, ok := c.group(t, "g")
		return ok && g.Commits["t"]["0"] == 10
	})
}

// waitMembers waits until group is Stable with n members and returns it.
func waitMembers(t *testing.T, c cluster, group string, n int, also func(groupState) bool) groupState {
	t.Helper()
	var g groupState
	waitFor(t, fmt.Sprintf("group %s stable with %d member(s)", group, n), func() bool {
		var ok bool
		g, ok = c.group(t, group)
		return ok && g.State == "Stable" && len(g.Members) == n && (also == nil || also(g))
	})
	return g
}

func rebalanceCell(t *testing.T, ct *cellT, cl client, d driver) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:2:3"}})
	stop, err := d.member(t, c.endpoint(), memberSpec{topic: "t", group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(false)
	g0 := waitMembers(t, c, "g", 1, nil)
	c.rebalance(t, "g")
	g1 := waitMembers(t, c, "g", 1, func(g groupState) bool { return g.Epoch > g0.Epoch })
	c.expire(t, "g", g1.Members[0].Member)
	// The client learns it was expelled and joins again as a new member.
	waitMembers(t, c, "g", 1, func(g groupState) bool { return g.Members[0].Member != g1.Members[0].Member })
}

func staticCell(t *testing.T, ct *cellT, cl client, d driver) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:1:3"}})
	m := memberSpec{topic: "t", group: "g", instanceID: "static-1"}
	stop, err := d.member(t, c.endpoint(), m)
	if errors.Is(err, errUnsupported) {
		ct.gap(clientGap, "no static membership (group.instance.id) in this client")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	g0 := waitMembers(t, c, "g", 1, func(g groupState) bool { return g.Members[0].InstanceID == "static-1" })
	stop(true) // a crash: no LeaveGroup
	stop, err = d.member(t, c.endpoint(), m)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(false)
	// The restarted instance takes its place: a new member id, the same
	// generation (KIP-345: no rebalance).
	g1 := waitMembers(t, c, "g", 1, func(g groupState) bool { return g.Members[0].Member != g0.Members[0].Member })
	t.Logf("static: before %+v after %+v", g0, g1)
	if g1.Epoch != g0.Epoch || g1.Members[0].InstanceID != "static-1" {
		t.Errorf("after the static member's restart: generation %d -> %d, instance %q; want the same generation and instance static-1", g0.Epoch, g1.Epoch, g1.Members[0].InstanceID)
	}
}

// noIdempotence are the clients without an idempotent producer: their
// retry after a dropped response is a duplicate, pinned.
var noIdempotence = map[string]string{
	"kafka-go":      "no idempotent producer: the retry after the dropped response is stored twice (one duplicate)",
	"python3-kafka": "kafka-python 2.0 has no idempotent producer (enable_idempotence came in 2.1): the retry is stored twice",
}

func idempotentCell(t *testing.T, ct *cellT, cl client, d driver) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:1:3"}})
	c.dropProduceResponseOnce(t)
	gap, isGap := noIdempotence[cl.name]
	mustProduce(t, d, c.endpoint(), produceSpec{topic: "t", acks: "all", values: []string{"once"}, idempotent: !isGap})
	hits := 0
	for _, e := range c.journal(t) {
		if e.Kind == fake.EventFaultHit {
			hits++
		}
	}
	if hits != 1 {
		t.Fatalf("the dropped-response fault hit %d times, want 1: the test did not test a retry", hits)
	}
	r := c.check(t, "t")
	want := 0
	if isGap {
		want = 1
		ct.gap(clientGap, gap)
	}
	if r.counts["duplicate"] != want {
		t.Errorf("%d duplicates, want %d:\n%s", r.counts["duplicate"], want, r.report)
	}
}

// readsAborted are the clients whose read_committed consumer is known to
// return aborted records, pinned.
var readsAborted = map[string]string{
	"kafka-go":      "reads aborted records: IsolationLevel ReadCommitted stops at the last stable offset but does not drop aborted transactions' records",
	"python3-kafka": "kafka-python 2.0 has no isolation_level: it reads aborted records",
}

func txnCell(t *testing.T, ct *cellT, cl client, d driver) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:1:3"}})
	e := c.endpoint()
	aborted, committed := values("aborted", 3), values("committed", 3)
	var notes []string
	err := d.txn(t, e, txnSpec{topic: "t", id: "tx", values: aborted, commit: false})
	if errors.Is(err, errUnsupported) {
		notes = append(notes, "the client cannot produce transactions; the test wrote them with kgo")
		seedTxn(t, e, "t", "tx", false, aborted...)
		seedTxn(t, e, "t", "tx", true, committed...)
	} else if err != nil {
		t.Fatal(err)
	} else if err := d.txn(t, e, txnSpec{topic: "t", id: "tx", values: committed, commit: true}); err != nil {
		t.Fatal(err)
	}
	var ends []bool
	for _, ev := range c.journal(t) {
		if ev.Kind == fake.EventTxnEnd {
			ends = append(ends, ev.Committed)
		}
	}
	if !slices.Equal(ends, []bool{false, true}) {
		t.Fatalf("the journal shows transaction ends %v (committed?), want an abort then a commit", ends)
	}
	got, err := d.consume(t, e, consumeSpec{topic: "t", n: 3, readCommitted: true})
	if err != nil {
		t.Fatal(err)
	}
	if gap, ok := readsAborted[cl.name]; ok {
		if !slices.Equal(got, aborted) {
			t.Errorf("read_committed read %v; the pinned gap says it reads the aborted records first, %v", got, aborted)
		}
		notes = append(notes, gap)
		ct.gap(clientGap, strings.Join(notes, "; "))
		return
	}
	if !slices.Equal(got, committed) {
		t.Errorf("read_committed read %v, want only the committed %v", got, committed)
	}
	if len(notes) > 0 {
		ct.noteIt(strings.Join(notes, "; "))
	}
}

func leaderLossCell(t *testing.T, ct *cellT, cl client, d driver) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"one:1:3", "all:1:3"}, configs: []string{"all:min.insync.replicas=2"}, lag: time.Minute})
	e := c.endpoint()
	// acks=1: the leader acknowledges the writes it has not replicated;
	// its failure loses exactly those.
	mustProduce(t, d, e, produceSpec{topic: "one", acks: "1", values: values("replicated", 5)})
	c.pause(t, "one", 0)
	mustProduce(t, d, e, produceSpec{topic: "one", acks: "1", values: values("unreplicated", 5)})
	c.failLeader(t, "one", 0)
	c.resume(t, "one", 0)
	if lost := c.check(t, "one").offsets("lost-write"); !slices.Equal(lost, []int64{5, 6, 7, 8, 9}) {
		t.Errorf("acks=1: lost-write at offsets %v, want 5..9 (the un-replicated tail)", lost)
	}
	// acks=all: the writes wait for the followers; the failover fails
	// them retriably and the client's retry to the new leader succeeds.
	mustProduce(t, d, e, produceSpec{topic: "all", acks: "all", values: values("replicated", 5)})
	c.pause(t, "all", 0)
	var wg sync.WaitGroup
	var perr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		perr = d.produce(t, e, produceSpec{topic: "all", acks: "all", values: values("waiting", 5)})
	}()
	waitFor(t, "an acks=all write waiting in the leader's tail", func() bool { return c.partition(t, "all", 0).LogEndOffset > 5 })
	c.failLeader(t, "all", 0)
	c.resume(t, "all", 0)
	wg.Wait()
	if perr != nil {
		t.Fatalf("acks=all across the failover: %v", perr)
	}
	r := c.check(t, "all")
	if r.counts["lost-write"] != 0 || c.partition(t, "all", 0).HighWatermark < 10 {
		t.Errorf("acks=all: %d lost writes, high watermark %d; want none lost, all 10 stored:\n%s", r.counts["lost-write"], c.partition(t, "all", 0).HighWatermark, r.report)
	}
}

// saslHandshakeV0 are the clients that ask for SaslHandshake v0, which
// Kafka 4.0 removed (KIP-896) and kafkaemu (kfake) does not offer either:
// librdkafka before 2.10 wants v0 listed in ApiVersions, kafka-python 2.0
// sends v0 while it probes the broker's version. Pinned.
var saslHandshakeV0 = map[string]string{
	"confluent-kafka-go":      librdkafkaSASL,
	"kcat":                    librdkafkaSASL,
	"python3-confluent-kafka": librdkafkaSASL,
	"python3-kafka": "kafka-python 2.0 sends SaslHandshake v0 while it probes the broker's version; Kafka 4.0 removed v0 (KIP-896) and kafkaemu closes the connection " +
		"(a bad-request event: \"SASLHandshake v0 is not supported\"), so the client finds no broker (NoBrokersAvailable)",
}

const librdkafkaSASL = "librdkafka before 2.10 wants the broker to offer SaslHandshake v0, which Kafka 4.0 removed (KIP-896) and kafkaemu does not offer: " +
	"\"SASL Handshake not supported by broker\" (fixed in librdkafka 2.10; confluent-kafka-go v2.11.1 passes this cell)"

func saslCell(t *testing.T, ct *cellT, cl client, d driver, mech string) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:1:3"}, sasl: &saslCreds{mech, "alice", "alice-secret"}})
	if gap, ok := saslHandshakeV0[cl.name]; ok {
		err := d.produce(t, c.endpoint(), produceSpec{topic: "t", acks: "all", values: []string{"v"}})
		if err == nil {
			t.Fatal("the write succeeded: the client authenticates with SaslHandshake v1 now; make the cell a pass")
		}
		v0 := slices.ContainsFunc(c.journal(t), func(e fake.Event) bool {
			return e.Kind == fake.EventBadRequest && e.APIKey == 17 && e.APIVersion == 0
		})
		if !v0 && !strings.Contains(err.Error(), "SASL Handshake not supported by broker") {
			t.Fatalf("the write failed otherwise than the pinned gap says: %v", err)
		}
		ct.gap(clientGap, gap)
		return
	}
	writeReadBack(t, d, c, "")
}

// writeReadBack writes three records to t with acks=all, reads them
// back, in order (how says over what, for the error), and returns them.
func writeReadBack(t *testing.T, d driver, c cluster, how string) []string {
	t.Helper()
	want := values("v", 3)
	mustProduce(t, d, c.endpoint(), produceSpec{topic: "t", acks: "all", values: want})
	got, err := d.consume(t, c.endpoint(), consumeSpec{topic: "t", n: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("read %v%s, want %v", got, how, want)
	}
	return want
}

// tlsCell: the client writes and reads back over TLS (fake.TLS with a
// self-signed certificate the client trusts), and the journal has its
// appends: fake terminates TLS in its wire layer and talks plaintext to
// kfake.
func tlsCell(t *testing.T, ct *cellT, cl client, d driver) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:1:3"}, tls: true})
	want := writeReadBack(t, d, c, " over TLS")
	appends := 0
	for _, e := range c.journal(t) {
		if e.Kind == fake.EventAppend && e.Topic == "t" {
			appends += int(e.LastOffset-e.Offset) + 1
		}
	}
	if appends != len(want) {
		t.Errorf("the journal has %d records appended to t over TLS, want %d", appends, len(want))
	}
}

func verdictCell(t *testing.T, ct *cellT, cl client, d driver) {
	c := newCluster(t, cl, clusterOpts{topics: []string{"t:1:3"}})
	mustProduce(t, d, c.endpoint(), produceSpec{topic: "t", acks: "all", values: values("v", 10)})
	if _, err := d.consume(t, c.endpoint(), consumeSpec{topic: "t", group: "g", n: 10}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "group g's commit of offset 10", func() bool {
		g, ok := c.group(t, "g")
		return ok && g.Commits["t"]["0"] == 10
	})
	if r := c.check(t, "t"); len(r.findings) != 0 {
		t.Errorf("the checker finds anomalies in a clean run:\n%s", r.report)
	}
}
