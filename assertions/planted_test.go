package assertions

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Planted anomalies: an oracle for Check that does not come from Check.
// Each plant writes one partition's story (its own producer, values and
// consumer, all in group g) that shows a known set of anomalies, written
// down here as literal counts; a clean story shows none. A history made of
// plants on separate partitions must show exactly the sum of what was
// planted, whatever the order the partitions' events interleave in.

// plant is one kind of planted story.
type plant struct {
	name string
	want map[Anomaly]int // what the story shows, nothing else
	// write appends the story of partition p: producer, consumers and
	// values are named after p, so stories never share a value.
	write func(l *lane)
}

// lane writes one partition's events; its steps keep their own order when
// lanes are interleaved.
type lane struct {
	p     int32
	steps []func(h *History)
}

func (l *lane) v(i int) string    { return fmt.Sprintf("p%d-v%d", l.p, i) }
func (l *lane) prod() string      { return fmt.Sprint("prod", l.p) }
func (l *lane) cons(n int) string { return fmt.Sprintf("c%d-%d", l.p, n) }
func (l *lane) do(f func(h *History)) {
	l.steps = append(l.steps, f)
}

// send: the producer sends value i with key and the broker acknowledges
// it at off; the log stores it there.
func (l *lane) send(i int, key string, off int64) {
	l.do(func(h *History) {
		h.Send(l.prod(), "t", key, l.v(i))
		h.Ack(l.prod(), "t", l.p, off, key, l.v(i))
	})
	l.store(off, key, l.v(i))
}

func (l *lane) store(off int64, key, value string) {
	l.do(func(h *History) { h.Stored("t", l.p, off, key, value) })
}

// poll: consumer n of group g polls offsets offs (values as given) in one call.
func (l *lane) poll(n int, gen int32, readCommitted bool, recs ...Record) {
	l.do(func(h *History) { h.Poll(l.cons(n), "g", gen, readCommitted, recs) })
}

func (l *lane) rec(off int64, key string, i int) Record { return Record{"t", l.p, off, key, l.v(i)} }

// four writes values 0..3 at offsets 0..3.
func (l *lane) four() {
	for i := range 4 {
		l.send(i, "", int64(i))
	}
}

var plants = []plant{
	{name: "clean", want: nil, write: func(l *lane) {
		l.four()
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1))
		l.poll(0, 1, false, l.rec(2, "", 2), l.rec(3, "", 3))
	}},
	{name: "clean-rebalance", want: nil, write: func(l *lane) {
		// consumer 0 reads 0..1 in generation 1; after a rebalance
		// consumer 1 goes on from the commit at 2.
		l.four()
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1))
		l.do(func(h *History) { h.Commit("g", l.cons(0), 1, "t", l.p, 2) })
		l.poll(1, 2, false, l.rec(2, "", 2), l.rec(3, "", 3))
	}},
	{name: "lost-write", want: map[Anomaly]int{LostWrite: 1}, write: func(l *lane) {
		// acks=1 and a failover that dropped the tail: value 2 was
		// acknowledged at offset 2, which the log does not hold.
		l.send(0, "", 0)
		l.send(1, "", 1)
		l.do(func(h *History) {
			h.Send(l.prod(), "t", "", l.v(2))
			h.Ack(l.prod(), "t", l.p, 2, "", l.v(2))
		})
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1))
	}},
	{name: "lost-write-reused-offset", want: map[Anomaly]int{LostWrite: 1, InconsistentOffsets: 1}, write: func(l *lane) {
		// the failover's new leader reused offset 2 for value 3.
		l.send(0, "", 0)
		l.send(1, "", 1)
		l.do(func(h *History) {
			h.Send(l.prod(), "t", "", l.v(2))
			h.Ack(l.prod(), "t", l.p, 2, "", l.v(2))
		})
		l.send(3, "", 2)
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1), l.rec(2, "", 3))
	}},
	{name: "unseen", want: map[Anomaly]int{Unseen: 1}, write: func(l *lane) {
		l.four()
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1), l.rec(2, "", 2))
	}},
	{name: "duplicate", want: map[Anomaly]int{Duplicate: 1, Redelivered: 1}, write: func(l *lane) {
		// a retry without idempotence: value 1 at offsets 1 and 2, so
		// the group reads it twice.
		l.send(0, "", 0)
		l.send(1, "", 1)
		l.do(func(h *History) { h.Ack(l.prod(), "t", l.p, 2, "", l.v(1)) })
		l.store(2, "", l.v(1))
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1), l.rec(2, "", 1))
	}},
	{name: "redelivered", want: map[Anomaly]int{Redelivered: 1}, write: func(l *lane) {
		// consumer 0 reads everything but commits only up to 3; after
		// the rebalance consumer 1 reads 3 again.
		l.four()
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1), l.rec(2, "", 2), l.rec(3, "", 3))
		l.do(func(h *History) { h.Commit("g", l.cons(0), 1, "t", l.p, 3) })
		l.poll(1, 2, false, l.rec(3, "", 3))
	}},
	{name: "G1a", want: map[Anomaly]int{G1a: 1}, write: func(l *lane) {
		// an aborted transaction's record read at read_committed.
		l.do(func(h *History) {
			h.BeginTxn(l.prod())
			h.Send(l.prod(), "t", "", l.v(0))
			h.Ack(l.prod(), "t", l.p, 0, "", l.v(0))
			h.EndingTxn(l.prod())
			h.EndTxn(l.prod(), false)
		})
		l.store(0, "", l.v(0))
		l.send(1, "", 2) // 1 is the abort marker
		l.poll(0, 1, true, l.rec(0, "", 0), l.rec(2, "", 1))
	}},
	{name: "precommitted-read", want: map[Anomaly]int{PrecommittedRead: 1}, write: func(l *lane) {
		// a read_committed consumer reads a record of a transaction
		// before its producer began ending it.
		l.do(func(h *History) {
			h.BeginTxn(l.prod())
			h.Send(l.prod(), "t", "", l.v(0))
			h.Ack(l.prod(), "t", l.p, 0, "", l.v(0))
		})
		l.store(0, "", l.v(0))
		l.poll(0, 1, true, l.rec(0, "", 0))
		l.do(func(h *History) {
			h.EndingTxn(l.prod())
			h.EndTxn(l.prod(), true)
		})
	}},
	{name: "poll-skip", want: map[Anomaly]int{PollSkip: 1}, write: func(l *lane) {
		// consumer 0 jumps from 1 to 3 between polls; after a
		// rebalance consumer 1 reads 2, so the group saw everything.
		l.four()
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1))
		l.poll(0, 1, false, l.rec(3, "", 3))
		l.poll(1, 2, false, l.rec(2, "", 2))
	}},
	{name: "int-poll-skip", want: map[Anomaly]int{IntPollSkip: 1}, write: func(l *lane) {
		// one poll has a gap at 2; consumer 1 reads 2 in the next generation.
		l.four()
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1), l.rec(3, "", 3))
		l.poll(1, 2, false, l.rec(2, "", 2))
	}},
	{name: "nonmonotonic-poll", want: map[Anomaly]int{NonmonotonicPoll: 1, Redelivered: 1}, write: func(l *lane) {
		// within generation 1 consumer 0 goes back from 2 to 2 (a seek):
		// it reads 2 twice.
		l.four()
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 1), l.rec(2, "", 2))
		l.poll(0, 1, false, l.rec(2, "", 2), l.rec(3, "", 3))
	}},
	{name: "int-nonmonotonic-poll", want: map[Anomaly]int{IntNonmonotonicPoll: 1, Redelivered: 1}, write: func(l *lane) {
		// one poll returns 1 before 0; the next goes on from 0, so 1
		// is read twice.
		l.four()
		l.poll(0, 1, false, l.rec(1, "", 1), l.rec(0, "", 0))
		l.poll(0, 1, false, l.rec(1, "", 1), l.rec(2, "", 2), l.rec(3, "", 3))
	}},
	{name: "nonmonotonic-send", want: map[Anomaly]int{NonmonotonicSend: 1}, write: func(l *lane) {
		// value 1 was sent before value 2 but stored after it.
		l.swappedSends("")
	}},
	{name: "reorder-per-key", want: map[Anomaly]int{ReorderPerKey: 2, NonmonotonicSend: 1}, write: func(l *lane) {
		// as nonmonotonic-send, with one key: the key's values are
		// stored, and consumed, out of send order too.
		l.swappedSends("k")
	}},
	{name: "int-send-skip", want: map[Anomaly]int{IntSendSkip: 1}, write: func(l *lane) {
		// a transaction's two sends to the partition sit at 0 and 2:
		// another producer's record is between them.
		l.do(func(h *History) {
			h.BeginTxn(l.prod())
			h.Send(l.prod(), "t", "", l.v(0))
			h.Send(l.prod(), "t", "", l.v(1))
			h.Ack(l.prod(), "t", l.p, 0, "", l.v(0))
			h.Send("other"+l.prod(), "t", "", l.v(9))
			h.Ack("other"+l.prod(), "t", l.p, 1, "", l.v(9))
			h.Ack(l.prod(), "t", l.p, 2, "", l.v(1))
			h.EndingTxn(l.prod())
			h.EndTxn(l.prod(), true)
		})
		l.store(0, "", l.v(0))
		l.store(1, "", l.v(9))
		l.store(2, "", l.v(1))
		l.poll(0, 1, true, l.rec(0, "", 0), l.rec(1, "", 9), l.rec(2, "", 1))
	}},
	{name: "inconsistent-offsets", want: map[Anomaly]int{InconsistentOffsets: 1, LostWrite: 1}, write: func(l *lane) {
		// value 1 acknowledged at 1, a consumer read value 2 at 1.
		l.send(0, "", 0)
		l.do(func(h *History) {
			h.Send(l.prod(), "t", "", l.v(1))
			h.Ack(l.prod(), "t", l.p, 1, "", l.v(1))
			h.Send(l.prod(), "t", "", l.v(2))
			h.Ack(l.prod(), "t", l.p, 1, "", l.v(2))
		})
		l.poll(0, 1, false, l.rec(0, "", 0), l.rec(1, "", 2))
	}},
}

// planted builds a history of the given plants, one partition each, the
// partitions' events interleaved by rng (each keeps its own order), and
// returns it with the anomalies it must show.
func planted(kinds []int, rng *rand.Rand) (*History, map[Anomaly]int) {
	want := map[Anomaly]int{}
	lanes := make([]*lane, len(kinds))
	for i, k := range kinds {
		lanes[i] = &lane{p: int32(i)}
		plants[k].write(lanes[i])
		for a, n := range plants[k].want {
			want[a] += n
		}
	}
	h := NewHistory()
	for {
		var open []*lane
		for _, l := range lanes {
			if len(l.steps) > 0 {
				open = append(open, l)
			}
		}
		if len(open) == 0 {
			return h, want
		}
		l := open[rng.IntN(len(open))]
		l.steps[0](h)
		l.steps = l.steps[1:]
	}
}

func counts(r Report) map[Anomaly]int {
	got := map[Anomaly]int{}
	for a, fs := range r.Findings {
		if len(fs) > 0 {
			got[a] = len(fs)
		}
	}
	return got
}

// checkPlanted fails t unless Check finds exactly what kinds planted, on
// the partitions they were planted on.
func checkPlanted(t *testing.T, kinds []int, rng *rand.Rand) {
	t.Helper()
	h, want := planted(kinds, rng)
	r := Check(h, ConsumedBy("g"))
	if got := counts(r); !maps.Equal(got, want) {
		var names []string
		for _, k := range kinds {
			names = append(names, plants[k].name)
		}
		t.Fatalf("planted %v: want %v, Check found %v\n%s", names, want, got, r)
	}
	for a, fs := range r.Findings {
		for _, f := range fs {
			if k := kinds[f.Partition]; plants[k].want[a] == 0 {
				t.Errorf("%s found on partition %d, where %s was planted: %s", a, f.Partition, plants[k].name, f)
			}
		}
	}
}

// Each plant alone, and all of them together: Check finds exactly what
// was planted, where it was planted.
func TestCheckFindsPlanted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := make([]int, len(plants))
	for k := range plants {
		all[k] = k
		t.Run(plants[k].name, func(t *testing.T) { checkPlanted(t, []int{k}, rng) })
	}
	t.Run("all", func(t *testing.T) { checkPlanted(t, all, rng) })
	// Every anomaly kind is planted somewhere (so a Check that stops
	// finding one fails here).
	planted := map[Anomaly]bool{}
	for _, p := range plants {
		for a := range p.want {
			planted[a] = true
		}
	}
	for _, a := range Anomalies {
		if !planted[a] {
			t.Errorf("no plant shows %s", a)
		}
	}
}

// FuzzCheckPlanted: the fuzz input picks plants (repeats and clean stories
// included) and how their partitions interleave; Check must find exactly
// the sum of what they planted.
func FuzzCheckPlanted(f *testing.F) {
	f.Add([]byte{0, 2, 3, 4})
	f.Add([]byte{5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1, 2})
	seed := make([]byte, 0, 2*len(plants))
	for k := range plants {
		seed = append(seed, byte(k), byte(k))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			data = data[:64]
		}
		kinds := make([]int, len(data))
		for i, b := range data {
			kinds[i] = int(b) % len(plants)
		}
		hash := fnv.New64a()
		hash.Write(data)
		checkPlanted(t, kinds, rand.New(rand.NewPCG(hash.Sum64(), 3)))
	})
}

// The guarantees forbid what REFERENCE.md and the doc comments say they
// forbid, written out here rather than read from the lists under test.
func TestGuaranteesForbid(t *testing.T) {
	want := map[string][]Anomaly{
		"at-most-once":  {Duplicate, Redelivered, G1a, PrecommittedRead},
		"at-least-once": {LostWrite, Unseen, PollSkip, IntPollSkip},
		"exactly-once": {LostWrite, Unseen, Duplicate, Redelivered, InconsistentOffsets, G1a, PrecommittedRead,
			PollSkip, NonmonotonicPoll, IntPollSkip, IntNonmonotonicPoll},
	}
	got := map[string][]Anomaly{"at-most-once": AtMostOnceForbids, "at-least-once": AtLeastOnceForbids, "exactly-once": ExactlyOnceForbids}
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Errorf("%s forbids %v, want %v", name, g, w)
			continue
		}
		for _, a := range w {
			if !slices.Contains(g, a) {
				t.Errorf("%s does not forbid %s (forbids %v)", name, a, g)
			}
		}
	}
}

// A consumer that seeks back shows nonmonotonic-poll (and reads a record
// again): exactly-once fails and its verdict names the nonmonotonic poll;
// at-least-once holds.
func TestExactlyOnceForbidsNonmonotonicPoll(t *testing.T) {
	h := NewHistory()
	for i := range 3 {
		v := fmt.Sprint("v", i)
		h.Send("p", "t", "", v)
		h.Ack("p", "t", 0, int64(i), "", v)
	}
	h.Poll("c", "", 0, false, []Record{{"t", 0, 0, "", "v0"}, {"t", 0, 1, "", "v1"}})
	h.Poll("c", "", 0, false, []Record{{"t", 0, 1, "", "v1"}, {"t", 0, 2, "", "v2"}})
	r := Check(h)
	if got := counts(r); !maps.Equal(got, map[Anomaly]int{NonmonotonicPoll: 1, Redelivered: 1}) {
		t.Fatalf("want one nonmonotonic-poll and one redelivered, got %v\n%s", got, r)
	}
	rt := &recordingT{}
	if ExactlyOnce(rt, h) {
		t.Error("ExactlyOnce held on a history with a nonmonotonic poll")
	} else if msg := strings.Join(rt.msgs, "\n"); !strings.Contains(msg, "nonmonotonic-poll: 1 record(s)") {
		t.Errorf("ExactlyOnce's message does not name the nonmonotonic poll:\n%s", msg)
	}
	if !AtLeastOnce(t, h) {
		t.Error("a nonmonotonic poll breaks no at-least-once")
	}
	// One poll going back: int-nonmonotonic-poll, also forbidden.
	h2 := NewHistory()
	for i := range 2 {
		v := fmt.Sprint("v", i)
		h2.Send("p", "t", "", v)
		h2.Ack("p", "t", 0, int64(i), "", v)
	}
	h2.Poll("c", "", 0, false, []Record{{"t", 0, 1, "", "v1"}, {"t", 0, 0, "", "v0"}})
	if got := counts(Check(h2)); !maps.Equal(got, map[Anomaly]int{IntNonmonotonicPoll: 1}) {
		t.Fatalf("want exactly one int-nonmonotonic-poll, got %v", got)
	}
	rt = &recordingT{}
	if ExactlyOnce(rt, h2) {
		t.Error("ExactlyOnce held on a poll out of offset order")
	} else if msg := strings.Join(rt.msgs, "\n"); !strings.Contains(msg, "int-nonmonotonic-poll: 1 record(s)") {
		t.Errorf("ExactlyOnce's message does not name the poll out of order:\n%s", msg)
	}
}

// swappedSends: value 0, then values 1 and 2 sent in that order with key
// but acknowledged and stored in the other, and all three polled.
func (l *lane) swappedSends(key string) {
	l.send(0, key, 0)
	l.do(func(h *History) {
		h.Send(l.prod(), "t", key, l.v(1))
		h.Send(l.prod(), "t", key, l.v(2))
		h.Ack(l.prod(), "t", l.p, 1, key, l.v(2))
		h.Ack(l.prod(), "t", l.p, 2, key, l.v(1))
	})
	l.store(1, key, l.v(2))
	l.store(2, key, l.v(1))
	l.poll(0, 1, false, l.rec(0, key, 0), l.rec(1, key, 2), l.rec(2, key, 1))
}
