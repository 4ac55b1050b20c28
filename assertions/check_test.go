package assertions

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clean is a history with nothing wrong: two sends acked, polled once.
func clean() *History {
	h := NewHistory()
	h.Send("p", "t", "k", "a")
	h.Send("p", "t", "k", "b")
	h.Ack("p", "t", 0, 0, "k", "a")
	h.Ack("p", "t", 0, 1, "k", "b")
	h.Poll("c", "g", 1, true, []Record{{"t", 0, 0, "k", "a"}, {"t", 0, 1, "k", "b"}})
	return h
}

func TestAnomalies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(h *History)
		want  map[Anomaly]int
	}{
		{"clean", func(h *History) {}, nil},
		{"lost-write read past", func(h *History) {
			h.Send("p", "t", "", "x")
			h.Ack("p", "t", 0, 2, "", "x")
			h.Send("p", "t", "", "y")
			h.Ack("p", "t", 0, 3, "", "y")
			// c jumped from 1 to 3 over the acknowledged x: with no
			// broker-side view, x is lost and skipped.
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 3, "", "y"}})
		}, map[Anomaly]int{LostWrite: 1, PollSkip: 1}},
		{"lost-write overwritten offset", func(h *History) {
			h.Send("p", "t", "", "x")
			h.Ack("p", "t", 0, 2, "", "x") // acks=1, then the leader died
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 2, "", "z"}})
		}, map[Anomaly]int{LostWrite: 1, InconsistentOffsets: 1, PollSkip: 0}},
		{"lost-write broker-side", func(h *History) {
			h.Stored("t", 0, 0, "k", "a")
			h.Stored("t", 0, 1, "k", "b")
			h.Send("p", "t", "", "x")
			h.Ack("p", "t", 5, 0, "", "x")
			h.Stored("t", 5, 1, "", "other")
		}, map[Anomaly]int{LostWrite: 1}},
		{"unseen", func(h *History) {
			h.Send("p", "t", "", "x")
			h.Ack("p", "t", 1, 0, "", "x")
		}, map[Anomaly]int{Unseen: 1}},
		{"duplicate", func(h *History) {
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 2, "k", "b"}})
		}, map[Anomaly]int{Duplicate: 1, Redelivered: 1}},
		{"redelivered after rebalance", func(h *History) {
			h.Poll("c2", "g", 2, true, []Record{{"t", 0, 1, "k", "b"}})
		}, map[Anomaly]int{Redelivered: 1}},
		{"another group is not redelivery", func(h *History) {
			h.Poll("c2", "g2", 1, true, []Record{{"t", 0, 0, "k", "a"}, {"t", 0, 1, "k", "b"}})
		}, nil},
		{"poll-skip", func(h *History) {
			h.Send("p", "t", "", "c")
			h.Ack("p", "t", 0, 2, "", "c")
			h.Send("p", "t", "", "d")
			h.Ack("p", "t", 0, 3, "", "d")
			h.Poll("other", "g2", 1, true, []Record{{"t", 0, 0, "k", "a"}, {"t", 0, 1, "k", "b"}, {"t", 0, 2, "", "c"}, {"t", 0, 3, "", "d"}})
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 3, "", "d"}})
		}, map[Anomaly]int{PollSkip: 1}},
		{"gap of markers is no skip", func(h *History) {
			h.Send("p", "t", "", "c")
			h.Ack("p", "t", 0, 3, "", "c") // offset 2 is a transaction marker
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 3, "", "c"}})
		}, nil},
		{"int-poll-skip", func(h *History) {
			h.Send("p", "t", "", "c")
			h.Ack("p", "t", 0, 2, "", "c")
			h.Send("p", "t", "", "d")
			h.Ack("p", "t", 0, 3, "", "d")
			h.Poll("other", "g2", 1, true, []Record{{"t", 0, 2, "", "c"}})
			h.Poll("c", "g", 2, true, []Record{{"t", 0, 1, "k", "b"}, {"t", 0, 3, "", "d"}})
		}, map[Anomaly]int{IntPollSkip: 1, Redelivered: 1}},
		{"nonmonotonic-poll", func(h *History) {
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 0, "k", "a"}})
		}, map[Anomaly]int{NonmonotonicPoll: 1, Redelivered: 1}},
		{"int-nonmonotonic-poll", func(h *History) {
			h.Send("p", "t", "", "c")
			h.Ack("p", "t", 0, 2, "", "c")
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 2, "", "c"}, {"t", 0, 1, "k", "b"}})
		}, map[Anomaly]int{IntNonmonotonicPoll: 1, Redelivered: 1}},
		{"nonmonotonic-send and reorder-per-key", func(h *History) {
			h.Send("p", "u", "k", "first")
			h.Send("p", "u", "k", "second")
			h.Ack("p", "u", 0, 1, "k", "first")
			h.Ack("p", "u", 0, 0, "k", "second")
			h.Poll("c", "g", 1, true, []Record{{"u", 0, 0, "k", "second"}, {"u", 0, 1, "k", "first"}})
		}, map[Anomaly]int{NonmonotonicSend: 1, ReorderPerKey: 2}},
		{"G1a and no lost write for aborted", func(h *History) {
			h.BeginTxn("tx")
			h.Send("tx", "t", "", "aborted")
			h.Ack("tx", "t", 0, 2, "", "aborted")
			h.EndTxn("tx", false)
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 2, "", "aborted"}})
			h.Poll("r", "g2", 1, false, []Record{{"t", 0, 2, "", "aborted"}})
		}, map[Anomaly]int{G1a: 2}},
		{"precommitted-read", func(h *History) {
			h.BeginTxn("tx")
			h.Send("tx", "t", "", "early")
			h.Ack("tx", "t", 0, 2, "", "early")
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 2, "", "early"}})
			h.EndTxn("tx", true)
		}, map[Anomaly]int{PrecommittedRead: 1}},
		{"committed transaction read after commit", func(h *History) {
			h.BeginTxn("tx")
			h.Send("tx", "t", "", "ok")
			h.Ack("tx", "t", 0, 2, "", "ok")
			h.EndTxn("tx", true)
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 2, "", "ok"}})
		}, nil},
		{"int-send-skip", func(h *History) {
			h.BeginTxn("tx")
			h.Send("tx", "v", "", "t1")
			h.Send("tx", "v", "", "t2")
			h.Ack("tx", "v", 0, 0, "", "t1")
			h.Ack("tx", "v", 0, 2, "", "t2")
			h.EndTxn("tx", true)
			h.Send("other", "v", "", "between")
			h.Ack("other", "v", 0, 1, "", "between")
			h.Poll("c", "g", 1, true, []Record{{"v", 0, 0, "", "t1"}, {"v", 0, 1, "", "between"}, {"v", 0, 2, "", "t2"}})
		}, map[Anomaly]int{IntSendSkip: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clean()
			tc.build(h)
			r := Check(h)
			for _, a := range Anomalies {
				if got, want := r.Count(a), tc.want[a]; got != want {
					t.Errorf("%s: %d findings, want %d\n%s", a, got, want, r)
				}
				for _, f := range r.Findings[a] {
					assert.NotEmpty(t, f.Want, "%s finding without Want: %v", a, f)
					assert.NotEmpty(t, f.Got, "%s finding without Got: %v", a, f)
					assert.NotEqual(t, f.Want, f.Got, "%s finding: %v", a, f)
				}
			}
		})
	}
}

func TestConsumedBy(t *testing.T) {
	h := clean()
	r := Check(h, ConsumedBy("g", "audit"))
	if r.Count(Unseen) != 2 {
		t.Errorf("unseen %d, want 2 (group audit read nothing)\n%s", r.Count(Unseen), r)
	}
}

// Records a deletion removed (DeleteRecords, retention) are not lost
// writes, but a group that never polled them did not see them.
func TestDeleted(t *testing.T) {
	// deleted builds: p acknowledged d0..d4 at offsets 0-4 of t[0] (an
	// acks=0 write "z" without an offset, before them); a consumer read
	// d0 and then, after the log start moved to 3, d3 and d4. The broker
	// stores 3 and 4.
	deleted := func(logStart int64) *History {
		h := NewHistory()
		h.Send("p", "t", "", "z")
		h.Ack("p", "t", 0, -1, "", "z")
		for i := int64(0); i < 5; i++ {
			v := fmt.Sprint("d", i)
			h.Send("p", "t", "", v)
			h.Ack("p", "t", 0, i, "", v)
		}
		h.Poll("c", "g", 1, false, []Record{{"t", 0, 0, "", "d0"}})
		if logStart >= 0 {
			h.Deleted("t", 0, logStart)
		}
		h.Poll("c", "g", 2, false, []Record{{"t", 0, 3, "", "d3"}, {"t", 0, 4, "", "d4"}})
		h.Stored("t", 0, 3, "", "d3")
		h.Stored("t", 0, 4, "", "d4")
		return h
	}
	for _, tc := range []struct {
		name     string
		logStart int64 // -1: no deletion recorded
		lost     []string
		unseen   []string
	}{
		{"without the deletion the gap is lost", -1, []string{"d1", "d2", "z"}, nil},
		{"below the log start is deleted", 3, nil, []string{"d1", "d2", "z"}},
		{"a log start below the gap excuses only what it deleted", 2, []string{"d2"}, []string{"d1", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Check(deleted(tc.logStart), ConsumedBy("g"))
			values := func(a Anomaly) []string {
				var vs []string
				for _, f := range r.Findings[a] {
					vs = append(vs, f.Value)
				}
				slices.Sort(vs)
				return vs
			}
			if got := values(LostWrite); !slices.Equal(got, tc.lost) {
				t.Errorf("lost-write %v, want %v\n%s", got, tc.lost, r)
			}
			if got := values(Unseen); !slices.Equal(got, tc.unseen) {
				t.Errorf("unseen %v, want %v\n%s", got, tc.unseen, r)
			}
		})
	}

	// Another value read at a deleted write's offset still shows it lost.
	h := NewHistory()
	h.Send("p", "t", "", "x")
	h.Ack("p", "t", 0, 0, "", "x") // acks=1, then the leader died
	h.Poll("c", "g", 1, false, []Record{{"t", 0, 0, "", "y"}})
	h.Deleted("t", 0, 1)
	if r := Check(h); r.Count(LostWrite) != 1 {
		t.Errorf("lost-write %d, want 1: another value was read at its offset\n%s", r.Count(LostWrite), r)
	}
	// Unseen without ConsumedBy too: a deleted write nobody polled.
	h = NewHistory()
	h.Send("p", "t", "", "x")
	h.Ack("p", "t", 0, 0, "", "x")
	h.Deleted("t", 0, 1)
	if r := Check(h); r.Count(Unseen) != 1 || r.Count(LostWrite) != 0 {
		t.Errorf("unseen %d, lost-write %d; want 1 and 0\n%s", r.Count(Unseen), r.Count(LostWrite), r)
	}
}

// at lists the place of each finding of kind a, as "t[0]@1".
func places(r Report, a Anomaly) []string {
	var out []string
	for _, f := range r.Findings[a] {
		out = append(out, at(f.Topic, f.Partition, f.Offset))
	}
	return out
}

// written acknowledges values r<from>..r<to-1> at the same offsets of
// t[0] and, if stored, records that the broker's log holds them.
func written(h *History, from, to int64, stored bool) {
	for o := from; o < to; o++ {
		v := fmt.Sprint("r", o)
		h.Send("p", "t", "", v)
		h.Ack("p", "t", 0, o, "", v)
	}
	if stored {
		for o := from; o < to; o++ {
			h.Stored("t", 0, o, "", fmt.Sprint("r", o))
		}
	}
}

func rec(off int64) Record { return Record{"t", 0, off, "", fmt.Sprint("r", off)} }

// A record the broker's log holds is not lost because a consumer skipped
// it: the skip is poll-skip, the record unseen.
func TestStoredSkippedIsNotLost(t *testing.T) {
	t.Run("skip within a generation", func(t *testing.T) {
		h := NewHistory()
		written(h, 0, 4, true)
		h.Poll("c", "g", 1, true, []Record{rec(0)})
		h.Poll("c", "g", 1, true, []Record{rec(3)})
		r := Check(h)
		assert.Empty(t, places(r, LostWrite), "%s", r)
		assert.Equal(t, []string{"t[0]@1", "t[0]@2"}, places(r, Unseen), "%s", r)
		assert.Equal(t, []string{"t[0]@3"}, places(r, PollSkip), "%s", r)
	})
	t.Run("commit before process, then a crash", func(t *testing.T) {
		h := NewHistory()
		written(h, 0, 4, true)
		h.Poll("c1", "g", 1, true, []Record{rec(0)})
		h.Commit("g", "c1", 1, "t", 0, 3) // committed 1 and 2 unprocessed; c1 crashes
		h.Poll("c2", "g", 2, true, []Record{rec(3)})
		r := Check(h, ConsumedBy("g"))
		assert.Empty(t, places(r, LostWrite), "%s", r)
		assert.Empty(t, places(r, PollSkip), "a new generation may start anywhere: %s", r)
		assert.Equal(t, []string{"t[0]@1", "t[0]@2"}, places(r, Unseen), "%s", r)
		for _, f := range r.Findings[Unseen] {
			assert.Equal(t, "never polled by group g", f.Detail)
		}
	})
	t.Run("without the broker's view it is lost", func(t *testing.T) {
		h := NewHistory()
		written(h, 0, 4, false)
		h.Poll("c1", "g", 1, true, []Record{rec(0)})
		h.Poll("c2", "g", 2, true, []Record{rec(3)})
		r := Check(h)
		assert.Equal(t, []string{"t[0]@1", "t[0]@2"}, places(r, LostWrite), "%s", r)
		assert.Empty(t, places(r, Unseen), "%s", r)
	})
	t.Run("a log without it still shows it lost", func(t *testing.T) {
		h := NewHistory()
		written(h, 0, 4, false)
		h.Stored("t", 0, 0, "", "r0")
		h.Stored("t", 0, 3, "", "r3")
		h.Poll("c1", "g", 1, true, []Record{rec(0)})
		h.Poll("c2", "g", 2, true, []Record{rec(3)})
		r := Check(h)
		assert.Equal(t, []string{"t[0]@1", "t[0]@2"}, places(r, LostWrite), "%s", r)
		assert.Equal(t, "absent: the broker's log does not hold it", r.Findings[LostWrite][0].Got)
	})
}

// A gap over acknowledged offsets is a skip even when nobody read them.
func TestSkipOverAcknowledged(t *testing.T) {
	t.Run("one poll over acknowledged offsets", func(t *testing.T) {
		h := NewHistory()
		written(h, 0, 4, false)
		h.Poll("c", "g", 1, true, []Record{rec(0), rec(3)})
		r := Check(h)
		assert.Equal(t, []string{"t[0]@1", "t[0]@2"}, places(r, LostWrite), "%s", r)
		require.Equal(t, []string{"t[0]@3"}, places(r, IntPollSkip), "%s", r)
		f := r.Findings[IntPollSkip][0]
		assert.Equal(t, "jumped from offset 0 over [1 2]", f.Detail)
		assert.Equal(t, [2]string{"next offset 1", "offset 3"}, [2]string{f.Want, f.Got})
	})
	t.Run("stored, the skip is all there is", func(t *testing.T) {
		h := NewHistory()
		written(h, 0, 4, true)
		h.Poll("c", "g", 1, true, []Record{rec(0), rec(3)})
		r := Check(h)
		assert.Empty(t, places(r, LostWrite), "%s", r)
		assert.Equal(t, []string{"t[0]@1", "t[0]@2"}, places(r, Unseen), "%s", r)
		assert.Equal(t, []string{"t[0]@3"}, places(r, IntPollSkip), "%s", r)
	})
	t.Run("aborted records are no skip", func(t *testing.T) {
		h := NewHistory()
		written(h, 0, 1, false)
		h.BeginTxn("tx")
		for _, o := range []int64{1, 2} {
			h.Send("tx", "t", "", fmt.Sprint("r", o))
			h.Ack("tx", "t", 0, o, "", fmt.Sprint("r", o))
		}
		h.EndTxn("tx", false)
		h.Send("p", "t", "", "r4")
		h.Ack("p", "t", 0, 4, "", "r4") // 3 is the abort marker
		h.Poll("c", "g", 1, true, []Record{rec(0), rec(4)})
		r := Check(h)
		assert.Empty(t, r.Findings, "%s", r)
	})
	t.Run("acknowledged but not in the log is lost, not skipped", func(t *testing.T) {
		h := NewHistory()
		written(h, 0, 4, false)
		h.Stored("t", 0, 0, "", "r0")
		h.Stored("t", 0, 3, "", "r3")
		h.Poll("c", "g", 1, true, []Record{rec(0), rec(3)})
		r := Check(h)
		assert.Equal(t, []string{"t[0]@1", "t[0]@2"}, places(r, LostWrite), "%s", r)
		assert.Empty(t, places(r, IntPollSkip), "%s", r)
	})
}

// One value in two partitions, polled by two consumers of one group: the
// redelivery is the same whichever consumer polled first.
func TestRedeliveredIndependentOfOrder(t *testing.T) {
	build := func(c2First bool) *History {
		h := NewHistory()
		h.Send("p", "t", "", "v")
		h.Ack("p", "t", 0, 0, "", "v")
		h.Ack("p", "t", 1, 0, "", "v") // a retry that landed in partition 1
		polls := []func(){
			func() { h.Poll("c1", "g", 1, true, []Record{{"t", 0, 0, "", "v"}}) },
			func() { h.Poll("c2", "g", 1, true, []Record{{"t", 1, 0, "", "v"}}) },
		}
		if c2First {
			polls[0], polls[1] = polls[1], polls[0]
		}
		for _, p := range polls {
			p()
		}
		return h
	}
	want := withoutSeq(Check(build(false)))
	require.Len(t, want[Redelivered], 1)
	assert.Equal(t, "t[1]@0", at(want[Redelivered][0].Topic, want[Redelivered][0].Partition, want[Redelivered][0].Offset))
	assert.Equal(t, "c2", want[Redelivered][0].Who)
	assert.Equal(t, "polled once by group g (at t[0]@0 by c1 gen 1)", want[Redelivered][0].Want)
	assert.Equal(t, want, withoutSeq(Check(build(true))))

	// Every poll after the first is a redelivery.
	h := build(false)
	h.Poll("c1", "g", 2, true, []Record{{"t", 0, 0, "", "v"}})
	assert.Equal(t, 2, Check(h).Count(Redelivered))
}

// Findings are totally ordered: ones that differ only in Key or Seq do
// not tie, so reports do not depend on the order they were found in.
func TestCmpFindingTotal(t *testing.T) {
	f := Finding{Anomaly: Unseen, Topic: "t", Offset: 1, Value: "v", Seq: 3}
	k, s := f, f
	k.Key, s.Seq = "k", 4
	for _, g := range []Finding{k, s} {
		assert.NotZero(t, cmpFinding(f, g), "%v and %v tie", f, g)
		assert.Equal(t, -cmpFinding(f, g), cmpFinding(g, f))
	}
	assert.Zero(t, cmpFinding(f, f))
}

// Checking one history again gives the same report.
func TestCheckRepeatable(t *testing.T) {
	h := historyOf(decodeSteps(fuzzSeed()))
	first := Check(h, ConsumedBy("g1", "g2"))
	require.NotEmpty(t, first.Findings, "the seed history should show anomalies")
	for range 10 {
		require.Equal(t, first, Check(h, ConsumedBy("g1", "g2")))
	}
	// And repeatably right, not only repeatable: a history of every
	// planted story, checked again and again, shows exactly what was
	// planted (planted_test.go).
	all := make([]int, len(plants))
	for k := range all {
		all[k] = k
	}
	for i := range 10 {
		checkPlanted(t, all, rand.New(rand.NewPCG(uint64(i), 4)))
	}
}

// G1a is reported for every reader of an aborted record and names its
// isolation level; ExactlyOnce fails for a read_uncommitted one.
func TestG1aIsolationLevels(t *testing.T) {
	build := func(uncommittedReader bool) *History {
		h := NewHistory()
		h.BeginTxn("tx")
		h.Send("tx", "t", "", "a")
		h.Ack("tx", "t", 0, 0, "", "a")
		h.EndTxn("tx", false)
		h.BeginTxn("tx")
		h.Send("tx", "t", "", "b")
		h.Ack("tx", "t", 0, 2, "", "b") // 1 is the abort marker
		h.EndTxn("tx", true)
		h.Poll("committed", "gc", 1, true, []Record{{"t", 0, 2, "", "b"}})
		if uncommittedReader {
			h.Poll("uncommitted", "gu", 1, false, []Record{{"t", 0, 0, "", "a"}, {"t", 0, 2, "", "b"}})
		}
		return h
	}

	r := Check(build(true))
	require.Len(t, r.Findings[G1a], 1, "%s", r)
	f := r.Findings[G1a][0]
	assert.Equal(t, "uncommitted", f.Who)
	assert.Equal(t, "read_uncommitted consumer saw an aborted record", f.Detail)
	assert.Equal(t, "aborted record read at read_uncommitted", f.Got)
	assert.Contains(t, hints[G1a], "at read_uncommitted it is that setting's expected consequence")
	assert.Contains(t, hints[G1a], "at read_committed the client or broker broke isolation")

	rt := &recordingT{}
	assert.False(t, ExactlyOnce(rt, build(true)), "a read_uncommitted reader of an aborted transaction fails exactly-once")
	assert.False(t, AtMostOnce(rt, build(true)))
	assert.True(t, ExactlyOnce(t, build(false)), "the read_committed reader alone is exactly-once")
}

// Check reads the history in place while others keep recording: what it
// sees is the events recorded when it started.
func TestCheckWhileRecording(t *testing.T) {
	h := NewHistory()
	written(h, 0, 100, true) // t[0]: in the log, never polled
	var wg sync.WaitGroup
	wg.Go(func() {
		for o := int64(0); o < 2000; o++ {
			v := fmt.Sprint("s", o)
			h.Send("p", "t", "", v)
			h.Ack("p", "t", 1, o, "", v)
			h.Poll("c", "g", 1, false, []Record{{"t", 1, o, "", v}})
		}
	})
	for range 20 {
		n := h.Len()
		r := Check(h)
		assert.GreaterOrEqual(t, r.Events, n)
		assert.Zero(t, r.Count(LostWrite), "%s", r)
		assert.Contains(t, []int{100, 101}, r.Count(Unseen), "r0..r99, and perhaps the latest ack, not polled yet: %s", r)
	}
	wg.Wait()
	assert.Equal(t, 100, Check(h).Count(Unseen), "r0..r99 were never polled")
}

// Offsets far apart are looked up, not walked.
func TestSparseOffsets(t *testing.T) {
	h := NewHistory()
	h.BeginTxn("tx")
	for _, o := range []int64{0, 1 << 40} {
		v := fmt.Sprint("s", o)
		h.Send("tx", "t", "", v)
		h.Ack("tx", "t", 0, o, "", v)
	}
	h.EndTxn("tx", true)
	h.Send("p", "t", "", "between")
	h.Ack("p", "t", 0, 1<<39, "", "between")
	h.Poll("c", "g", 1, true, []Record{{"t", 0, 0, "", "s0"}, {"t", 0, 1 << 40, "", fmt.Sprint("s", int64(1<<40))}})
	r := Check(h)
	assert.Equal(t, []string{fmt.Sprintf("t[0]@%d", int64(1<<40))}, places(r, IntSendSkip), "%s", r)
	assert.Equal(t, []string{fmt.Sprintf("t[0]@%d", int64(1<<40))}, places(r, IntPollSkip), "%s", r)
	assert.Equal(t, []string{fmt.Sprintf("t[0]@%d", int64(1<<39))}, places(r, LostWrite), "%s", r)
}
