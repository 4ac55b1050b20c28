package assertions

import (
	"fmt"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
)

// Subject is what the assertions check: a *History (checked with default
// options) or a Report from Check (to pass options such as ConsumedBy).
type Subject interface{ report() Report }

func (h *History) report() Report { return Check(h) }
func (r Report) report() Report   { return r }

// The anomalies each delivery guarantee forbids.
var (
	// AtMostOnceForbids: delivering a write twice (duplicate,
	// redelivered) and the reads that break isolation (G1a,
	// precommitted-read). Writes may be lost.
	AtMostOnceForbids = []Anomaly{Duplicate, Redelivered, G1a, PrecommittedRead}
	// AtLeastOnceForbids: losing a write (lost-write, unseen, poll-skip).
	// Writes may be delivered more than once.
	AtLeastOnceForbids = []Anomaly{LostWrite, Unseen, PollSkip, IntPollSkip}
	// ExactlyOnceForbids: both, and any read that is out of order or
	// inconsistent.
	ExactlyOnceForbids = []Anomaly{LostWrite, Unseen, Duplicate, Redelivered, InconsistentOffsets, G1a, PrecommittedRead,
		PollSkip, NonmonotonicPoll, IntPollSkip, IntNonmonotonicPoll}
)

// hints say in one line what usually causes an anomaly.
var hints = map[Anomaly]string{
	LostWrite:           "acknowledged writes vanished: acks=0/1 (or unclean leader election) lose what followers had not copied when the leader failed; use acks=all with min.insync.replicas>=2",
	Duplicate:           "a value was written twice: producer retries without enable.idempotence duplicate writes whose response was lost",
	Unseen:              "acknowledged writes were never consumed: commit before processing (at-most-once), a crash, or a consumer that stopped early",
	Redelivered:         "a group processed a record twice: commit after processing plus a crash or rebalance before the commit (at-least-once); use transactions for exactly-once",
	InconsistentOffsets: "two values at one offset: a failover truncated acknowledged writes and reused their offsets",
	G1a:                 "a read_committed consumer saw aborted records: check isolation.level and that the client filters aborted transactions",
	PrecommittedRead:    "a read_committed consumer saw uncommitted transactional records",
	PollSkip:            "a consumer skipped records within a generation: an unexpected seek or auto.offset.reset",
	IntPollSkip:         "a single poll skipped records",
	NonmonotonicPoll:    "a consumer went back within a generation: an unexpected seek or offset reset",
	IntNonmonotonicPoll: "a single poll went back in offsets",
	NonmonotonicSend:    "a producer's sends were stored out of order: retries with several requests in flight and no idempotence",
	IntSendSkip:         "a transaction's sends to a partition were not adjacent: another producer wrote between them",
	ReorderPerKey:       "a key's values were stored or consumed out of send order: retries without idempotence, or the key moved partitions",
}

// row is how an offending record appears in a failure diff.
type row struct {
	Partition  string
	Offset     int64
	Key        string
	Value      string
	Who        string
	Generation int32
	Why        string
}

// forbid fails t if the subject shows any of kinds.
func forbid(t assert.TestingT, name string, s Subject, kinds []Anomaly, msgAndArgs ...any) bool {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	r := s.report()
	var b strings.Builder
	for _, a := range kinds {
		fs := r.Findings[a]
		if len(fs) == 0 {
			continue
		}
		var seen []row
		for i, f := range fs {
			if i == 5 {
				break
			}
			seen = append(seen, row{fmt.Sprintf("%s[%d]", f.Topic, f.Partition), f.Offset, f.Key, f.Value, f.Who, f.Generation, f.Detail})
		}
		fmt.Fprintf(&b, "%s: %d record(s) (first %d; -want +got):\n%s", a, len(fs), len(seen), cmp.Diff([]row{}, seen))
		if len(fs) > len(seen) {
			fmt.Fprintf(&b, "... and %d more\n", len(fs)-len(seen))
		}
		fmt.Fprintf(&b, "hint: %s\n", hints[a])
	}
	if b.Len() == 0 {
		return true
	}
	return assert.Fail(t, fmt.Sprintf("%s violated in %d history events:\n%s", name, r.Events, b.String()), msgAndArgs...)
}

// AtMostOnce asserts that no write was delivered twice: no duplicate,
// redelivered, G1a or precommitted-read. Losing writes is allowed.
func AtMostOnce(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "at-most-once", s, AtMostOnceForbids, msgAndArgs...)
}

// AtLeastOnce asserts that no acknowledged write was lost: no lost-write,
// unseen, poll-skip or int-poll-skip. Delivering twice is allowed.
func AtLeastOnce(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "at-least-once", s, AtLeastOnceForbids, msgAndArgs...)
}

// ExactlyOnce asserts both: every acknowledged write was consumed once by
// each group, in order, and read_committed consumers saw only committed
// records. It forbids lost-write, unseen, duplicate, redelivered,
// inconsistent-offsets, G1a, precommitted-read and the poll anomalies.
func ExactlyOnce(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "exactly-once", s, ExactlyOnceForbids, msgAndArgs...)
}

// NoLostWrites asserts there is no lost-write.
func NoLostWrites(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "no lost writes", s, []Anomaly{LostWrite}, msgAndArgs...)
}

// NoDuplicates asserts there is no duplicate in the log and no redelivery.
func NoDuplicates(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "no duplicates", s, []Anomaly{Duplicate, Redelivered}, msgAndArgs...)
}

// OrderedPerPartition asserts sends were stored, and polls received, in
// order within each partition.
func OrderedPerPartition(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "ordered per partition", s, []Anomaly{NonmonotonicSend, NonmonotonicPoll, IntNonmonotonicPoll}, msgAndArgs...)
}

// OrderedPerKey asserts each key's values were stored and consumed in
// send order.
func OrderedPerKey(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "ordered per key", s, []Anomaly{ReorderPerKey}, msgAndArgs...)
}

// ConsumedAll asserts every acknowledged write was consumed (by each group
// of ConsumedBy, when the subject is a Report built with it).
func ConsumedAll(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "consumed all", s, []Anomaly{LostWrite, Unseen}, msgAndArgs...)
}
