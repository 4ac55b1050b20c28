package assertions

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Anomaly names a way delivery went wrong. The names are Jepsen's Kafka
// anomalies, plus reorder-per-key and redelivered.
type Anomaly string

const (
	// LostWrite: the broker acknowledged a write, but it is not in the
	// log: no one read it although consumers read past its offset, another
	// value was read at its offset, or the broker's log (History.Stored)
	// does not hold it. Usually acks=0 or acks=1 (or
	// unclean.leader.election.enable=true) and a leader failover that
	// dropped what followers had not copied. Not a lost write: a write the
	// broker's log holds (a consumer that skipped it shows poll-skip and
	// unseen instead), and a write below a log start the history records
	// (History.Deleted) unless another value was read at its offset.
	LostWrite Anomaly = "lost-write"
	// Duplicate: one value is stored at two offsets (outside aborted
	// transactions), so every reader gets it twice. Usually a producer
	// retry (retries > 0) without enable.idempotence=true after a
	// produce response was lost or timed out.
	Duplicate Anomaly = "duplicate"
	// Unseen: a write was acknowledged and is readable, but a group that
	// should consume it (ConsumedBy; any consumer without it) never polled
	// it. Usually the group committed offsets before processing
	// (enable.auto.commit=true or commit-before-process) and a consumer
	// crashed, auto.offset.reset=latest after retention deleted the
	// group's position, or a consumer that stopped early.
	Unseen Anomaly = "unseen"
	// PollSkip: within one generation, a consumer's next record of a
	// partition is past a record the log holds (acknowledged, stored, or
	// read by someone): the consumer jumped over it. Usually a seek in
	// the application, or an offset reset (auto.offset.reset=latest) after
	// OFFSET_OUT_OF_RANGE.
	PollSkip Anomaly = "poll-skip"
	// NonmonotonicPoll: within one generation, a consumer's next record
	// of a partition is at or below the previous one: it went back. Usually
	// a seek in the application, or auto.offset.reset=earliest (or a reset
	// to committed offsets) without a rebalance.
	NonmonotonicPoll Anomaly = "nonmonotonic-poll"
	// IntPollSkip is PollSkip inside one poll call: the records one poll
	// returned for a partition have a gap where the log holds a record.
	// The client is not to blame for its settings here: the log changed
	// under the fetch (unclean.leader.election.enable=true, a truncation
	// after acks=1), or a client or broker bug assembled the fetch wrongly.
	// Log compaction (cleanup.policy=compact) makes such gaps legitimately.
	IntPollSkip Anomaly = "int-poll-skip"
	// IntNonmonotonicPoll is NonmonotonicPoll inside one poll call: one
	// poll returned a partition's records out of offset order. No setting
	// allows it: a client bug merging fetch responses, or fetches from two
	// leaders after a failover (a stale leader serving with
	// unclean.leader.election.enable=true).
	IntNonmonotonicPoll Anomaly = "int-nonmonotonic-poll"
	// NonmonotonicSend: one producer's later send to a partition landed
	// at a lower offset than an earlier one. Usually
	// max.in.flight.requests.per.connection > 1 with retries and without
	// enable.idempotence=true: a failed batch is retried after a later one.
	NonmonotonicSend Anomaly = "nonmonotonic-send"
	// IntSendSkip: two consecutive sends of one transaction to one
	// partition are not adjacent: another record sits between them. Kafka
	// allows other producers to interleave, so this flags concurrent
	// writers (another producer, or another transactional.id) in a
	// partition the transaction assumed it owned.
	IntSendSkip Anomaly = "int-send-skip"
	// G1a (aborted read, as in Jepsen: any read of aborted data): a
	// consumer polled a record of an aborted transaction. At
	// isolation.level=read_committed this is a broken guarantee: the
	// client failed to filter aborted transactions (or the broker sent
	// wrong aborted-transaction ranges). At read_uncommitted (the default
	// isolation.level) it is the expected consequence of that setting,
	// and still an anomaly: the reader processed data that never
	// committed. The finding names the isolation level.
	G1a Anomaly = "G1a"
	// PrecommittedRead: an isolation.level=read_committed consumer polled
	// a transactional record before its producer began ending (committing)
	// the transaction. Usually a broker that served past the last stable
	// offset, or a consumer that is read_uncommitted but recorded as
	// read_committed.
	PrecommittedRead Anomaly = "precommitted-read"
	// InconsistentOffsets: two different values at one offset of a
	// partition, across acks, polls and the stored log. Usually a leader
	// failover with acks=0/1 (or unclean.leader.election.enable=true) that
	// truncated acknowledged writes, then reused their offsets.
	InconsistentOffsets Anomaly = "inconsistent-offsets"
	// ReorderPerKey: two values one producer sent with one key were
	// stored, or consumed within one generation, in the opposite order of
	// their sends. Kafka orders one producer's sends per partition only.
	// Usually retries with max.in.flight.requests.per.connection > 1 and
	// no enable.idempotence, or keys that moved partitions (a changed
	// partitioner or partition count).
	ReorderPerKey Anomaly = "reorder-per-key"
	// Redelivered: one group polled a value more than once (across
	// members, generations or partitions); the first poll by (topic,
	// partition, offset, consumer, generation) is the delivery, the others
	// are reported. At-least-once allows it; exactly-once does not.
	// Usually commit-after-process (enable.auto.commit=false, commit after
	// the batch) with a crash or a rebalance before the commit.
	Redelivered Anomaly = "redelivered"
)

// Anomalies lists every anomaly kind, in report order.
var Anomalies = []Anomaly{LostWrite, Unseen, Duplicate, Redelivered, InconsistentOffsets, G1a, PrecommittedRead,
	PollSkip, NonmonotonicPoll, IntPollSkip, IntNonmonotonicPoll, NonmonotonicSend, IntSendSkip, ReorderPerKey}

// Finding is one record that shows an anomaly.
type Finding struct {
	Anomaly    Anomaly
	Topic      string
	Partition  int32
	Offset     int64
	Key        string
	Value      string
	Who        string // the producer or consumer concerned
	Generation int32
	Detail     string
	Seq        int64 // the history event that shows it
	// Op is the operation of that event (ack, poll, stored); empty when
	// no single event shows it (duplicate).
	Op Op
	// Want is what the guarantee expects of the record, Got what the
	// history shows instead; failure diffs print them as -want +got.
	Want, Got string
}

// Report is what Check found.
type Report struct {
	Events   int
	Findings map[Anomaly][]Finding
	explain  Explainer
}

// An Explainer says what caused a finding, from evidence the history does
// not hold (harness reads its cluster's journal: the truncation that
// dropped a lost write and the fault that let it, the retry that wrote a
// duplicate); "" when it knows no cause.
type Explainer func(Finding) string

// Explain returns r with e as its explainer: a failed assertion on it
// prints each finding it shows with its cause. Check gives a report the
// explainer of its History (History.SetExplainer).
func (r Report) Explain(e Explainer) Report {
	r.explain = e
	return r
}

// Cause is what r's explainer says caused f; "" without an explainer.
func (r Report) Cause(f Finding) string {
	if r.explain == nil {
		return ""
	}
	return r.explain(f)
}

// Count is how many records show anomaly a.
func (r Report) Count(a Anomaly) int { return len(r.Findings[a]) }

// String lists each anomaly found with its first few records.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events checked", r.Events)
	any := false
	for _, a := range Anomalies {
		fs := r.Findings[a]
		if len(fs) == 0 {
			continue
		}
		any = true
		fmt.Fprintf(&b, "\n%s: %d", a, len(fs))
		for i, f := range fs {
			if i == 5 {
				fmt.Fprintf(&b, "\n  ... %d more", len(fs)-5)
				break
			}
			fmt.Fprintf(&b, "\n  %s", f)
		}
	}
	if !any {
		b.WriteString(", no anomalies")
	}
	return b.String()
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s[%d]@%d value %q", f.Topic, f.Partition, f.Offset, f.Value)
	if f.Key != "" {
		s += fmt.Sprintf(" key %q", f.Key)
	}
	if f.Who != "" {
		s += fmt.Sprintf(" by %s", f.Who)
		if f.Generation != 0 {
			s += fmt.Sprintf(" (generation %d)", f.Generation)
		}
	}
	if f.Detail != "" {
		s += ": " + f.Detail
	}
	return s
}

// Option configures Check.
type Option func(*checkConfig)

type checkConfig struct {
	consumedBy []string
	topics     []string
}

// Topics limits the check to events of these topics. A transactional
// read-process-write pipeline re-polls its input after an abort by design;
// its guarantee is judged on the output topic.
func Topics(topics ...string) Option {
	return func(c *checkConfig) { c.topics = append(c.topics, topics...) }
}

// ConsumedBy names the groups that must poll every acknowledged write; a
// write one of them never polled is Unseen. Without it, a write no
// consumer polled is Unseen.
func ConsumedBy(groups ...string) Option {
	return func(c *checkConfig) { c.consumedBy = append(c.consumedBy, groups...) }
}

// Check finds every anomaly in h. It reads the events in place (a
// History only appends), so it costs memory for what it learns, not for
// a copy of the history; a History with a log reader (SetLogReader) is
// copied once, with what the log holds appended. The report is the same for the same history,
// and for any interleaving of independent events.
func Check(h *History, opts ...Option) Report {
	var cfg checkConfig
	for _, o := range opts {
		o(&cfg)
	}
	r := check(h.withLog(h.snapshot()), cfg)
	r.explain = h.explainer()
	return r
}

func check(evs []Event, cfg checkConfig) Report {
	c := newChecker(evs, cfg)
	c.scan()
	c.sortCommits()
	c.checkDuplicates()
	c.checkReads()
	c.checkAcks()
	c.checkPolls()
	c.checkSends()
	c.checkKeyOrder()
	r := Report{Events: c.kept, Findings: c.found}
	for _, fs := range r.Findings {
		slices.SortStableFunc(fs, cmpFinding)
	}
	return r
}

// cmpFinding orders findings totally, so reports do not depend on the
// order the checker found them in.
func cmpFinding(a, b Finding) int {
	return cmp.Or(cmp.Compare(a.Anomaly, b.Anomaly), cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition),
		cmp.Compare(a.Offset, b.Offset), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value), cmp.Compare(a.Who, b.Who),
		cmp.Compare(a.Generation, b.Generation), cmp.Compare(a.Detail, b.Detail), cmp.Compare(a.Op, b.Op),
		cmp.Compare(a.Want, b.Want), cmp.Compare(a.Got, b.Got), cmp.Compare(a.Seq, b.Seq))
}

// iso names a poll's isolation level.
func iso(e *Event) string {
	if e.ReadCommitted {
		return "read_committed"
	}
	return "read_uncommitted"
}

// at formats a record's place.
func at(topic string, part int32, off int64) string {
	return fmt.Sprintf("%s[%d]@%d", topic, part, off)
}
