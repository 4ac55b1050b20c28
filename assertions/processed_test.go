package assertions_test

import (
	"testing"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/twmb/franz-go/pkg/kgo"
)

// An application that processes offsets 0 and 2 and drops 1 shows unseen
// and poll-skip for the dropped record: the log still holds it, so it is
// no lost-write. The same reads as client polls do say lost-write: a
// client reading past an offset shows the log lacks it.
func TestProcessedDropIsUnseenNotLost(t *testing.T) {
	records := func() []*kgo.Record {
		var rs []*kgo.Record
		for i, v := range []string{"o-0", "o-1", "o-2"} {
			rs = append(rs, &kgo.Record{Topic: "orders", Partition: 0, Offset: int64(i), Value: []byte(v)})
		}
		return rs
	}
	acked := func() *assertions.History {
		h := assertions.NewHistory()
		for _, r := range records() {
			h.Send("producer", r.Topic, "", string(r.Value))
			h.Ack("producer", r.Topic, r.Partition, r.Offset, "", string(r.Value))
		}
		return h
	}

	h := acked()
	rec := assertions.NewRecorder(h, "svc", assertions.Processing())
	rs := records()
	for _, r := range rs {
		rec.OnFetchRecordUnbuffered(r, true) // polled: not recorded
	}
	rec.Processed(rs[0])
	rec.Processed(rs[2])
	h.Commit("billing", "svc", 0, "orders", 0, 3) // the service committed past o-1
	rep := assertions.Check(h)
	if rep.Count(assertions.LostWrite) != 0 || rep.Count(assertions.Unseen) != 1 || rep.Count(assertions.PollSkip) != 1 || rep.Count(assertions.Redelivered) != 0 {
		t.Fatalf("want one unseen and one poll-skip (o-1 dropped), got:\n%s", rep)
	}
	if f := rep.Findings[assertions.Unseen][0]; f.Value != "o-1" || f.Got != "never processed; group billing committed offset 3 past it (svc)" {
		t.Errorf("unseen finding %+v, want o-1 never processed, committed past", f)
	}

	polled := acked()
	polled.Poll("svc", "", 0, false, []assertions.Record{{Topic: "orders", Offset: 0, Value: "o-0"}, {Topic: "orders", Offset: 2, Value: "o-2"}})
	if rep := assertions.Check(polled); rep.Count(assertions.LostWrite) != 1 {
		t.Errorf("a client that read past o-1 shows it lost, got:\n%s", rep)
	}
}

func TestEventsSince(t *testing.T) {
	h := assertions.NewHistory()
	h.Send("p", "t", "", "a")
	h.Send("p", "t", "", "b")
	h.Send("p", "t", "", "c")
	for seq, want := range map[int64]int{-1: 3, 0: 3, 1: 2, 3: 0, 9: 0} {
		got := h.EventsSince(seq)
		if len(got) != want || (want > 0 && got[0].Seq != int64(4-want)) {
			t.Errorf("EventsSince(%d) = %+v, want the last %d events", seq, got, want)
		}
	}
}
