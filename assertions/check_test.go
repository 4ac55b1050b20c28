package assertions

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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
			h.Poll("c", "g", 1, true, []Record{{"t", 0, 3, "", "y"}})
		}, map[Anomaly]int{LostWrite: 1}},
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

// recordingT captures assertion failures.
type recordingT struct{ msgs []string }

func (r *recordingT) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func TestAssertionMessages(t *testing.T) {
	h := clean()
	h.Send("p", "t", "", "x")
	h.Ack("p", "t", 0, 2, "", "x")
	h.Send("p", "t", "", "y")
	h.Ack("p", "t", 0, 3, "", "y")
	h.Poll("c", "g", 1, true, []Record{{"t", 0, 3, "", "y"}})

	rt := &recordingT{}
	if NoLostWrites(rt, h, "checking %s", "orders") {
		t.Fatal("NoLostWrites passed with a lost write")
	}
	msg := strings.Join(rt.msgs, "\n")
	for _, want := range []string{"no lost writes violated", "lost-write: 1 record(s)", `Offset:`, `Value:`, `"x"`, "hint: acknowledged writes vanished", "checking orders"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
	if !AtMostOnce(t, h) {
		t.Error("AtMostOnce failed on a history with no duplicates")
	}
	if AtLeastOnce(rt, h) || ExactlyOnce(rt, h) {
		t.Error("AtLeastOnce/ExactlyOnce passed with a lost write")
	}
	if !NoDuplicates(t, clean()) || !OrderedPerPartition(t, clean()) || !OrderedPerKey(t, clean()) || !ConsumedAll(t, clean()) || !ExactlyOnce(t, clean()) {
		t.Error("an assertion failed on a clean history")
	}
	var _ assert.TestingT = rt
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
