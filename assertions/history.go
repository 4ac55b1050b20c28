package assertions

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Op is the kind of a history event.
type Op string

// The operations a History records.
const (
	OpSend    Op = "send"    // a producer handed a record to its client
	OpAck     Op = "ack"     // the broker acknowledged it at Partition/Offset
	OpFail    Op = "fail"    // the send failed for certain: nothing was written
	OpUnknown Op = "unknown" // the send timed out: it may or may not be written
	OpPoll    Op = "poll"    // a consumer received the record at Partition/Offset
	OpCommit  Op = "commit"  // a group committed Offset (the next offset to read)
	OpBegin   Op = "txn-begin"
	OpEnding  Op = "txn-ending" // the producer asked to end its transaction
	OpCommitT Op = "txn-commit"
	OpAbort   Op = "txn-abort"
	OpAssign  Op = "assign" // a consumer was assigned Partition
	OpRevoke  Op = "revoke" // a consumer gave Partition up (revoked or lost)
	OpStored  Op = "stored" // broker-side: the log holds the record at Partition/Offset
	// OpDeleted is broker-side: Partition's log now starts at Offset; the
	// records below it were deleted (DeleteRecords, retention).
	OpDeleted Op = "deleted"
)

// Event is one operation in a History. Fields that do not apply are zero.
type Event struct {
	Seq int64 // order in the history, from 1
	Op  Op

	Producer string // who sent (send, ack, fail, unknown, txn-*)
	Consumer string // who polled, committed or was assigned
	Group    string
	// Generation is the consumer's group generation (or member epoch).
	Generation int32

	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     string // the value's identity, see ValueID

	// Txn is the producer's transaction counter: sends between a
	// txn-begin and its txn-commit/txn-abort share it; 0 is none.
	Txn int64
	// Poll numbers one consumer's poll calls; records of one poll share
	// it. 0 means the poll boundaries are unknown.
	Poll int64
	// ReadCommitted marks polls by a read_committed consumer.
	ReadCommitted bool
	// Processed marks a poll the application reported processed
	// (Recorder.Processed) rather than one its client made: it shows what
	// the application did, not what the log holds, so processing past a
	// record is no evidence that the record is missing from the log.
	Processed bool
	Err       string
}

// History is a concurrency-safe, append-only record of what producers
// sent, what brokers stored, and what consumers polled and committed.
type History struct {
	mu     sync.Mutex
	events []Event
	txn    map[string]int64 // producer -> open transaction
	txns   int64
	polls  map[string]int64 // consumer -> last poll number

	// For SetLogReader: how Recorders identify values.
	readLog   func() ([]LogPartition, error)
	defaultID bool                       // some Recorder uses the value itself
	customIDs []func(*kgo.Record) string // the others' ValueID functions
	explain   Explainer                  // SetExplainer
}

// NewHistory returns an empty History.
func NewHistory() *History {
	return &History{txn: map[string]int64{}, polls: map[string]int64{}}
}

func (h *History) add(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.txn == nil {
		h.txn, h.polls = map[string]int64{}, map[string]int64{}
	}
	if e.Producer != "" && (e.Op == OpSend || e.Op == OpAck || e.Op == OpFail || e.Op == OpUnknown) {
		e.Txn = h.txn[e.Producer]
	}
	e.Seq = int64(len(h.events)) + 1
	h.events = append(h.events, e)
}

// Events is a snapshot of every event, in order.
func (h *History) Events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}

// EventsSince is a snapshot of the events after the one numbered seq
// (Event.Seq), in order: a caller that follows the history reads only
// what is new.
func (h *History) EventsSince(seq int64) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events[min(max(seq, 0), int64(len(h.events))):]...)
}

// snapshot is every event so far, without a copy: a History only
// appends, so the events below its length never change.
func (h *History) snapshot() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[:len(h.events):len(h.events)]
}

// Len is the number of events.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// Send records that producer handed the record (key, value id) to its client.
func (h *History) Send(producer, topic, key, value string) {
	h.add(Event{Op: OpSend, Producer: producer, Topic: topic, Key: key, Value: value})
}

// Ack records that the broker acknowledged the record at partition/offset;
// offset is -1 when the producer learns none (acks=0).
func (h *History) Ack(producer, topic string, partition int32, offset int64, key, value string) {
	h.add(Event{Op: OpAck, Producer: producer, Topic: topic, Partition: partition, Offset: offset, Key: key, Value: value})
}

// Fail records that the send certainly failed.
func (h *History) Fail(producer, topic, key, value string, err error) {
	h.add(Event{Op: OpFail, Producer: producer, Topic: topic, Key: key, Value: value, Err: errString(err)})
}

// Unknown records that the send's outcome is unknown (it timed out).
func (h *History) Unknown(producer, topic, key, value string, err error) {
	h.add(Event{Op: OpUnknown, Producer: producer, Topic: topic, Key: key, Value: value, Err: errString(err)})
}

// Record is one polled record, for Poll.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     string // the value's identity
}

// Poll records the records one poll call returned to consumer, in order.
// generation is the consumer's group generation (0 without a group).
func (h *History) Poll(consumer, group string, generation int32, readCommitted bool, records []Record) {
	h.poll(consumer, group, generation, readCommitted, false, records)
}

// poll is Poll, for the application's processing when processed is set.
func (h *History) poll(consumer, group string, generation int32, readCommitted, processed bool, records []Record) {
	h.mu.Lock()
	if h.polls == nil {
		h.txn, h.polls = map[string]int64{}, map[string]int64{}
	}
	h.polls[consumer]++
	poll := h.polls[consumer]
	h.mu.Unlock()
	for _, r := range records {
		h.add(Event{Op: OpPoll, Consumer: consumer, Group: group, Generation: generation, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Poll: poll, ReadCommitted: readCommitted, Processed: processed})
	}
}

// Commit records that group committed offset (the next to read) for
// topic/partition.
func (h *History) Commit(group, consumer string, generation int32, topic string, partition int32, offset int64) {
	h.add(Event{Op: OpCommit, Group: group, Consumer: consumer, Generation: generation, Topic: topic, Partition: partition, Offset: offset})
}

// BeginTxn records that producer began a transaction: its sends until
// EndTxn belong to it.
func (h *History) BeginTxn(producer string) {
	h.mu.Lock()
	if h.txn == nil {
		h.txn, h.polls = map[string]int64{}, map[string]int64{}
	}
	h.txns++
	h.txn[producer] = h.txns
	n := h.txns
	h.mu.Unlock()
	h.add(Event{Op: OpBegin, Producer: producer, Txn: n})
}

// EndingTxn records that producer is ending its open transaction (the
// EndTxn request is on its way): from here on a read of the transaction's
// records is not precommitted, since the commit may land any moment.
func (h *History) EndingTxn(producer string) {
	h.mu.Lock()
	n := h.txn[producer]
	h.mu.Unlock()
	h.add(Event{Op: OpEnding, Producer: producer, Txn: n})
}

// EndTxn records that producer's open transaction committed or aborted.
func (h *History) EndTxn(producer string, commit bool) {
	h.mu.Lock()
	n := h.txn[producer]
	delete(h.txn, producer)
	h.mu.Unlock()
	op := OpAbort
	if commit {
		op = OpCommitT
	}
	h.add(Event{Op: op, Producer: producer, Txn: n})
}

// Assigned records partitions given to consumer in generation.
func (h *History) Assigned(consumer, group string, generation int32, topic string, partitions ...int32) {
	for _, p := range partitions {
		h.add(Event{Op: OpAssign, Consumer: consumer, Group: group, Generation: generation, Topic: topic, Partition: p})
	}
}

// Revoked records partitions consumer gave up (revoked or lost).
func (h *History) Revoked(consumer, group string, generation int32, topic string, partitions ...int32) {
	for _, p := range partitions {
		h.add(Event{Op: OpRevoke, Consumer: consumer, Group: group, Generation: generation, Topic: topic, Partition: p})
	}
}

// Stored records broker-side that the log holds value at partition/offset
// (from a cluster journal or a full read of the log), so lost writes are
// found even when no consumer read past them.
func (h *History) Stored(topic string, partition int32, offset int64, key, value string) {
	h.add(Event{Op: OpStored, Topic: topic, Partition: partition, Offset: offset, Key: key, Value: value})
}

// Deleted records broker-side that partition's log start moved to
// logStart (DeleteRecords, retention): the acknowledged writes below it
// were deleted, not lost. They are still unseen by a group that never
// polled them.
func (h *History) Deleted(topic string, partition int32, logStart int64) {
	h.add(Event{Op: OpDeleted, Topic: topic, Partition: partition, Offset: logStart})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
