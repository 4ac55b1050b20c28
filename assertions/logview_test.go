package assertions

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A log reader is the broker-side view a check judges: writes the log
// holds are unseen, not lost, even when a consumer read past them; the
// view follows the Recorders' value identity and is never added to the
// History.
func TestLogReader(t *testing.T) {
	// p acknowledged w0..w5 at t[0]@0-5; c only read w6 at 6.
	build := func(opts ...RecorderOpt) *History {
		h := NewHistory()
		_ = NewRecorder(h, "p", opts...)
		for i, v := range []string{"w0", "w1", "w2", "w3", "w4", "w5", "w6"} {
			h.Send("p", "t", "", v)
			h.Ack("p", "t", 0, int64(i), "", v)
		}
		h.Poll("c", "g", 1, false, []Record{{"t", 0, 6, "", "w6"}})
		return h
	}
	log := func(id func(int) string) func() ([]LogPartition, error) {
		return func() ([]LogPartition, error) {
			lp := LogPartition{Topic: "t", Partition: 0}
			for i := range 7 {
				lp.Records = append(lp.Records, &kgo.Record{Offset: int64(i), Value: []byte(id(i)),
					Headers: []kgo.RecordHeader{{Key: "id", Value: []byte("w" + string(rune('0'+i)))}}})
			}
			return []LogPartition{lp}, nil
		}
	}
	plain := func(i int) string { return "w" + string(rune('0'+i)) }
	opaque := func(int) string { return "payload" }

	for _, tc := range []struct {
		name         string
		h            *History
		read         func() ([]LogPartition, error)
		lost, unseen int
	}{
		{"no view: read past is lost", build(), nil, 6, 0},
		{"the log holds them: unseen", build(), log(plain), 0, 6},
		{"the view uses the recorders' ValueID", build(HeaderID("id")), log(opaque), 0, 6},
		{"a reader that fails leaves the history's own verdict", build(), func() ([]LogPartition, error) { return nil, errors.New("closed") }, 6, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.read != nil {
				tc.h.SetLogReader(tc.read)
			}
			n := tc.h.Len()
			r := Check(tc.h)
			if r.Count(LostWrite) != tc.lost || r.Count(Unseen) != tc.unseen || r.Count(InconsistentOffsets) != 0 {
				t.Errorf("lost-write %d, unseen %d, inconsistent %d; want %d, %d, 0\n%s", r.Count(LostWrite), r.Count(Unseen), r.Count(InconsistentOffsets), tc.lost, tc.unseen, r)
			}
			if tc.h.Len() != n {
				t.Errorf("the check added %d events to the history", tc.h.Len()-n)
			}
		})
	}

	// Recorders that identify a record differently: the partition is
	// left out of the view rather than judged with the wrong identity.
	h := build(HeaderID("id"))
	_ = NewRecorder(h, "c")
	h.SetLogReader(log(opaque))
	if r := Check(h); r.Count(InconsistentOffsets) != 0 || r.Count(LostWrite) != 6 {
		t.Errorf("disagreeing identities: %s", r)
	}
}
