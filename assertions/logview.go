package assertions

import (
	"github.com/twmb/franz-go/pkg/kgo"
)

// LogPartition is what a broker's log holds for one partition, for
// SetLogReader.
type LogPartition struct {
	Topic     string
	Partition int32
	// LogStart is where the log starts: the records below it were deleted
	// (DeleteRecords, retention).
	LogStart int64
	// Records are the records the log holds, in offset order, without
	// the records of aborted transactions.
	Records []*kgo.Record
}

// SetLogReader gives h a broker-side view that is read when h is checked:
// every Check of h calls read and judges h's events followed by what the
// log holds then (as Stored and Deleted events), without adding them to
// h. So a write the log holds is never reported lost, whatever the
// consumers did: it is unseen, or skipped, as LostWrite documents.
// Leave out of read the partitions whose log is not settled (an
// un-replicated tail of acknowledged writes). Values are identified as
// h's Recorders identify them (ValueID); a partition where their
// identities of a record disagree is left out. When read fails (the
// cluster is gone), the check goes on without the view.
//
// harness sets it for its cluster's History.
func (h *History) SetLogReader(read func() ([]LogPartition, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readLog = read
}

// SetExplainer gives h an Explainer: the reports of h carry it (Check),
// so a failed assertion on h prints each finding it shows with its
// cause. harness sets one that reads its cluster's journal.
func (h *History) SetExplainer(e Explainer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.explain = e
}

func (h *History) explainer() Explainer {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.explain
}

// noteIdentity records how a Recorder of h identifies values.
func (h *History) noteIdentity(custom bool, id func(*kgo.Record) string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if custom {
		h.customIDs = append(h.customIDs, id)
	} else {
		h.defaultID = true
	}
}

// withLog is evs followed by the broker-side view, if h has one.
func (h *History) withLog(evs []Event) []Event {
	h.mu.Lock()
	read, ids, def := h.readLog, h.customIDs, h.defaultID
	h.mu.Unlock()
	if read == nil {
		return evs
	}
	parts, err := read()
	if err != nil {
		return evs
	}
	out := append(make([]Event, 0, len(evs)+64), evs...)
	add := func(e Event) {
		e.Seq = int64(len(out)) + 1
		out = append(out, e)
	}
	identity := func(r *kgo.Record) (string, bool) {
		var v string
		have := false
		if def || len(ids) == 0 {
			v, have = string(r.Value), true
		}
		for _, id := range ids {
			switch w := id(r); {
			case !have:
				v, have = w, true
			case w != v:
				return "", false
			}
		}
		return v, true
	}
parts:
	for _, p := range parts {
		stored := make([]Event, 0, len(p.Records))
		for _, r := range p.Records {
			v, ok := identity(r)
			if !ok {
				continue parts
			}
			stored = append(stored, Event{Op: OpStored, Topic: p.Topic, Partition: p.Partition, Offset: r.Offset, Key: string(r.Key), Value: v})
		}
		if p.LogStart > 0 {
			add(Event{Op: OpDeleted, Topic: p.Topic, Partition: p.Partition, Offset: p.LogStart})
		}
		for _, e := range stored {
			add(e)
		}
	}
	return out
}
