package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// EventKind names what happened in a journal Event.
type EventKind string

// The kinds of journal events.
const (
	EventBrokerUp        EventKind = "broker-up"
	EventBrokerDown      EventKind = "broker-down"
	EventTopicCreated    EventKind = "topic-created"
	EventAppend          EventKind = "append"           // a batch entered the leader's log (maybe only its un-replicated tail)
	EventHighWatermark   EventKind = "high-watermark"   // the replicated prefix grew: records up to Offset are committed
	EventTruncate        EventKind = "truncate"         // an un-replicated tail was dropped by a leader change: those writes are lost
	EventFetch           EventKind = "fetch"            // records served to a client connection
	EventOffsetCommit    EventKind = "offset-commit"    // a group committed an offset
	EventTxnEnd          EventKind = "txn-end"          // a transaction committed or aborted
	EventLeaderChange    EventKind = "leader-change"    // new leader (or -1: offline) and epoch
	EventISRChange       EventKind = "isr-change"       // the in-sync replica set shrank or grew
	EventReplication     EventKind = "replication"      // replication paused or resumed
	EventProduceRejected EventKind = "produce-rejected" // the emulator answered a produce with an error
	EventFaultAdded      EventKind = "fault-added"
	EventFaultHit        EventKind = "fault-hit"
	EventFaultRemoved    EventKind = "fault-removed"
	EventGroup           EventKind = "group"
)

// Event is one thing the cluster did. Fields that do not apply are zero.
type Event struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Kind      EventKind `json:"kind"`
	Broker    int32     `json:"broker,omitempty"`
	Topic     string    `json:"topic,omitempty"`
	Partition int32     `json:"partition,omitempty"`
	// Offset is the first offset of an append, truncation or fetch, and
	// the new high watermark of a high-watermark event.
	Offset int64 `json:"offset,omitempty"`
	// LastOffset is the last offset (inclusive) of an append, truncation or fetch.
	LastOffset    int64   `json:"last_offset,omitempty"`
	Acks          int16   `json:"acks,omitempty"`
	ProducerID    int64   `json:"producer_id,omitempty"`
	ProducerEpoch int16   `json:"producer_epoch,omitempty"`
	Sequence      int32   `json:"sequence,omitempty"`
	Transactional bool    `json:"transactional,omitempty"`
	Committed     bool    `json:"committed,omitempty"` // txn-end: commit (true) or abort
	Leader        int32   `json:"leader,omitempty"`
	Epoch         int32   `json:"epoch,omitempty"`
	ISR           []int32 `json:"isr,omitempty"`
	Group         string  `json:"group,omitempty"`
	Client        string  `json:"client,omitempty"` // client id
	Conn          string  `json:"conn,omitempty"`   // client address
	Error         string  `json:"error,omitempty"`
	Detail        string  `json:"detail,omitempty"`
	// Records are the records of an un-replicated append, kept because
	// a failover may drop them: the journal is then the only place that
	// knows what was acknowledged and lost.
	Records []RecordValue `json:"records,omitempty"`
	// ReadCommitted marks a fetch at isolation level read_committed.
	ReadCommitted bool `json:"read_committed,omitempty"`
}

// RecordValue is one record's offset, key and value.
type RecordValue struct {
	Offset int64  `json:"offset"`
	Key    string `json:"key,omitempty"`
	Value  string `json:"value"`
}

// String is a one-line, human-readable form of e.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", e.Seq, e.Time.Format("15:04:05.000000"), e.Kind)
	if e.Topic != "" {
		fmt.Fprintf(&b, " %s[%d]", e.Topic, e.Partition)
	}
	switch e.Kind {
	case EventAppend, EventTruncate, EventFetch:
		fmt.Fprintf(&b, " offsets %d..%d", e.Offset, e.LastOffset)
	case EventHighWatermark, EventOffsetCommit:
		fmt.Fprintf(&b, " offset %d", e.Offset)
	case EventLeaderChange:
		fmt.Fprintf(&b, " leader %d epoch %d", e.Leader, e.Epoch)
	case EventISRChange:
		fmt.Fprintf(&b, " isr %v", e.ISR)
	case EventBrokerUp, EventBrokerDown:
		fmt.Fprintf(&b, " broker %d", e.Broker)
	}
	if e.Kind == EventAppend {
		fmt.Fprintf(&b, " acks=%d", e.Acks)
		if e.ProducerID >= 0 && (e.ProducerID != 0 || e.Sequence != 0) {
			fmt.Fprintf(&b, " pid=%d/%d seq=%d", e.ProducerID, e.ProducerEpoch, e.Sequence)
		}
		if e.Transactional {
			b.WriteString(" txn")
		}
	}
	if e.Group != "" {
		fmt.Fprintf(&b, " group=%s", e.Group)
	}
	if e.Client != "" {
		fmt.Fprintf(&b, " client=%s", e.Client)
	}
	if e.Error != "" {
		fmt.Fprintf(&b, " error=%s", e.Error)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	return b.String()
}

// journal is an append-only, concurrency-safe event log.
type journal struct {
	mu     sync.Mutex
	events []Event
	seq    int64
}

func (j *journal) add(e Event) {
	j.mu.Lock()
	j.seq++
	e.Seq = j.seq
	e.Time = time.Now()
	j.events = append(j.events, e)
	j.mu.Unlock()
}

func (j *journal) snapshot() []Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Event(nil), j.events...)
}

// Journal returns every event so far, in order.
func (c *Cluster) Journal() []Event { return c.journal.snapshot() }

// WriteJournal writes the journal as JSON lines, one event a line.
func (c *Cluster) WriteJournal(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, e := range c.journal.snapshot() {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// JournalTail is the last n events as readable lines, for a test log.
func (c *Cluster) JournalTail(n int) string {
	evs := c.journal.snapshot()
	if len(evs) > n {
		evs = evs[len(evs)-n:]
	}
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}
