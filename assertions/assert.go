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

// hints say in one line what usually causes an anomaly and what to change.
var hints = map[Anomaly]string{
	LostWrite:           "acknowledged writes are not in the log: acks=0/1 (or unclean.leader.election.enable=true) lose what followers had not copied when the leader failed; use acks=all with min.insync.replicas>=2",
	Duplicate:           "a value is in the log twice: producer retries without enable.idempotence=true rewrite a batch whose response was lost; enable idempotence",
	Unseen:              "acknowledged writes were never consumed (or, recorded with Processed, never processed: the application dropped them): offsets committed before processing (enable.auto.commit, commit-before-process) and a crash, auto.offset.reset=latest, or a consumer that stopped early",
	Redelivered:         "a group processed a record twice: commit after processing plus a crash or rebalance before the commit (at-least-once); commit offsets in the producer's transaction for exactly-once",
	InconsistentOffsets: "two values at one offset: a failover truncated acknowledged acks=0/1 writes and reused their offsets; use acks=all and unclean.leader.election.enable=false",
	G1a:                 "aborted transactional records were read: at read_committed the client or broker broke isolation (aborted transactions not filtered); at read_uncommitted it is that setting's expected consequence; use isolation.level=read_committed",
	PrecommittedRead:    "a read_committed consumer got transactional records before their commit: the broker served past the last stable offset, or the consumer really is read_uncommitted; check isolation.level",
	PollSkip:            "a consumer jumped over records within a generation: a seek in the application, or auto.offset.reset after OFFSET_OUT_OF_RANGE (retention deleted its position)",
	IntPollSkip:         "one poll returned a partition's records with a gap where the log holds a record: the log changed under the fetch (unclean election, acks=1 truncation) or a client bug; compaction (cleanup.policy=compact) makes such gaps legitimately",
	NonmonotonicPoll:    "a consumer went back within a generation: a seek in the application, or an offset reset (auto.offset.reset=earliest, a reset to committed offsets) without a rebalance",
	IntNonmonotonicPoll: "one poll returned a partition's records out of offset order: no setting allows it; a client bug merging fetches, or fetches from a stale leader after a failover",
	NonmonotonicSend:    "a producer's sends were stored out of order: retries with max.in.flight.requests.per.connection>1 and no enable.idempotence; enable idempotence or allow one request in flight",
	IntSendSkip:         "a transaction's sends to a partition were not adjacent: another producer (or transactional.id) writes the same partition concurrently",
	ReorderPerKey:       "one producer's values of a key were stored or consumed out of send order: retries with several requests in flight and no idempotence, or the key moved partitions (partitioner or partition count changed)",
}

// row is how an offending record appears in a failure diff: the record
// is the same on both sides; Is is what was expected (-) and what the
// history shows (+).
type row struct {
	Record string
	Is     string
}

// record formats where a finding is and who shows it, every field
// visible, zeros included.
func record(f Finding) string {
	s := fmt.Sprintf("%s key=%q value=%q", at(f.Topic, f.Partition, f.Offset), f.Key, f.Value)
	switch {
	case f.Op == OpPoll:
		s += fmt.Sprintf(" polled by %s gen %d", f.Who, f.Generation)
	case f.Op == OpAck:
		s += " acked by " + f.Who
	case f.Op == OpStored:
		s += " stored"
	case f.Who != "":
		s += " by " + f.Who
	}
	return s
}

// diff renders findings as a go-cmp diff of what was expected against
// what the history shows.
func diff(fs []Finding) string {
	want, got := make([]row, len(fs)), make([]row, len(fs))
	for i, f := range fs {
		r := record(f)
		w, g := f.Want, f.Got
		if w == "" && g == "" {
			w, g = "no "+string(f.Anomaly), f.Detail
		}
		want[i], got[i] = row{r, w}, row{r, g}
	}
	return cmp.Diff(want, got)
}

// forbid fails t if the subject shows any of kinds.
func forbid(t assert.TestingT, name string, s Subject, kinds []Anomaly, msgAndArgs ...any) bool {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	msg := message(name, s.report(), kinds)
	if msg == "" {
		return true
	}
	return assert.Fail(t, msg, msgAndArgs...)
}

// message describes the anomalies of kinds that r shows: for each, its
// count, the first five records as a diff and a hint; "" if none.
func message(name string, r Report, kinds []Anomaly) string {
	var b strings.Builder
	for _, a := range kinds {
		fs := r.Findings[a]
		if len(fs) == 0 {
			continue
		}
		first := fs[:min(len(fs), 5)]
		fmt.Fprintf(&b, "%s: %d record(s) (first %d; -want +got):\n%s", a, len(fs), len(first), diff(first))
		if len(fs) > len(first) {
			fmt.Fprintf(&b, "... and %d more\n", len(fs)-len(first))
		}
		causes := false
		for _, f := range first {
			if c := r.Cause(f); c != "" {
				if !causes {
					b.WriteString("cause:\n")
					causes = true
				}
				fmt.Fprintf(&b, "  %s: %s\n", at(f.Topic, f.Partition, f.Offset), c)
			}
		}
		fmt.Fprintf(&b, "hint: %s\n", hints[a])
	}
	if b.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("%s violated in %d history events:\n%s", name, r.Events, b.String())
}

// AtMostOnce asserts that no write was delivered twice: no duplicate,
// redelivered, G1a or precommitted-read. Losing writes is allowed. A
// read_uncommitted consumer that reads aborted records fails it (G1a).
func AtMostOnce(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "at-most-once", s, AtMostOnceForbids, msgAndArgs...)
}

// AtLeastOnce asserts that no acknowledged write was lost: no lost-write,
// unseen, poll-skip or int-poll-skip. Delivering twice is allowed.
func AtLeastOnce(t assert.TestingT, s Subject, msgAndArgs ...any) bool {
	return forbid(t, "at-least-once", s, AtLeastOnceForbids, msgAndArgs...)
}

// ExactlyOnce asserts both: every acknowledged write was consumed once by
// each group, in order, and consumers saw only committed records. It
// forbids lost-write, unseen, duplicate, redelivered, inconsistent-offsets,
// G1a, precommitted-read and the poll anomalies. A read_uncommitted
// consumer that reads an aborted transaction's records fails it (G1a):
// judge exactly-once on read_committed consumers, or scope the Report.
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
