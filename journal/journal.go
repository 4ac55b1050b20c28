package journal

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
	EventBrokerUp         EventKind = "broker-up"
	EventBrokerDown       EventKind = "broker-down"
	EventTopicCreated     EventKind = "topic-created"
	EventTopicDeleted     EventKind = "topic-deleted"
	EventAppend           EventKind = "append"           // a batch entered the leader's log (maybe only its un-replicated tail)
	EventHighWatermark    EventKind = "high-watermark"   // the replicated prefix grew: records up to Offset are committed
	EventTruncate         EventKind = "truncate"         // an un-replicated tail was dropped by a leader change: those writes are lost
	EventFetch            EventKind = "fetch"            // records served to a client connection
	EventOffsetCommit     EventKind = "offset-commit"    // a group committed an offset
	EventProducerInit     EventKind = "producer-init"    // a transactional producer got its producer id and epoch (fencing older epochs)
	EventTxnBegin         EventKind = "txn-begin"        // a producer's first transactional append since its last txn-end
	EventTxnEnd           EventKind = "txn-end"          // a transaction committed or aborted
	EventLeaderChange     EventKind = "leader-change"    // new leader (or -1: offline) and epoch
	EventISRChange        EventKind = "isr-change"       // the in-sync replica set shrank or grew
	EventReplication      EventKind = "replication"      // replication paused or resumed
	EventProduceRejected  EventKind = "produce-rejected" // the emulator answered a produce with an error
	EventFaultAdded       EventKind = "fault-added"
	EventFaultHit         EventKind = "fault-hit"
	EventFaultRemoved     EventKind = "fault-removed"
	EventGroup            EventKind = "group"
	EventCoordinatorMoved EventKind = "coordinator-moved" // a group's (Group) or a transactional id's coordinator is now Broker
	EventBrokerFenced     EventKind = "broker-fenced"     // the controller fenced an isolated Broker: its leaderships and coordinators move
	EventUnfence          EventKind = "unfence"           // a fenced Broker reached the controller again and rejoins as a follower
	// EventBadRequest: a client connection (Conn) sent Broker a request
	// that was not forwarded and its connection was closed: Error says
	// why, APIKey and APIVersion are the request's (-1 if unread),
	// Detail is the frame's first bytes in hex.
	EventBadRequest EventKind = "bad-request"
	// EventUpstreamUnreachable: the fault proxy could not connect to the
	// upstream broker (Broker) for a client connection (Conn), which it
	// closed; Error says why.
	EventUpstreamUnreachable EventKind = "upstream-unreachable"
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
	// APIKey and APIVersion are a bad request's key and version.
	APIKey     int16 `json:"api_key,omitempty"`
	APIVersion int16 `json:"api_version,omitempty"`
}

// RecordValue is one record's offset, key and value.
type RecordValue struct {
	Offset int64  `json:"offset"`
	Key    string `json:"key,omitempty"`
	Value  string `json:"value"`
}

// String is a one-line, human-readable form of e.
func (e Event) String() string {
	return fmt.Sprintf("#%d %s %s", e.Seq, e.Time.Format("15:04:05.000000"), e.Describe())
}

// Describe is e's line without its sequence number and time.
func (e Event) Describe() string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
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
	case EventBrokerUp, EventBrokerDown, EventBrokerFenced, EventUnfence:
		fmt.Fprintf(&b, " broker %d", e.Broker)
	case EventTxnBegin, EventTxnEnd, EventProducerInit:
		fmt.Fprintf(&b, " pid=%d/%d", e.ProducerID, e.ProducerEpoch)
		if e.Kind == EventTxnEnd {
			b.WriteString(map[bool]string{true: " commit", false: " abort"}[e.Committed])
		}
	}
	if e.Kind == EventBadRequest {
		fmt.Fprintf(&b, " broker %d conn=%s key=%d version=%d", e.Broker, e.Conn, e.APIKey, e.APIVersion)
	}
	if e.Kind == EventUpstreamUnreachable {
		fmt.Fprintf(&b, " broker %d conn=%s", e.Broker, e.Conn)
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

// MarshalJSON writes the fields that apply to e's kind even when they are
// zero (broker 0, partition 0, offset 0), so that a reader in another
// language can tell zero from absent, and leaves out the rest.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event // without this method
	out := struct {
		plain
		// These dominate plain's fields of the same name.
		Broker     *int32 `json:"broker,omitempty"`
		Partition  *int32 `json:"partition,omitempty"`
		Offset     *int64 `json:"offset,omitempty"`
		LastOffset *int64 `json:"last_offset,omitempty"`
		Leader     *int32 `json:"leader,omitempty"`
		Epoch      *int32 `json:"epoch,omitempty"`
		APIKey     *int16 `json:"api_key,omitempty"`
		APIVersion *int16 `json:"api_version,omitempty"`
	}{plain: plain(e)}
	// Whatever is set is written; these kinds also write their zeros.
	var broker, leader, epoch, offset, last bool
	switch e.Kind {
	case EventBrokerUp, EventBrokerDown, EventBrokerFenced, EventUnfence, EventAppend, EventFetch, EventOffsetCommit, EventProducerInit, EventTxnBegin, EventTxnEnd, EventFaultHit, EventCoordinatorMoved,
		EventProduceRejected, EventHighWatermark, EventBadRequest, EventUpstreamUnreachable:
		broker = true
	case EventGroup:
		broker, epoch = e.Client != "", e.Client != "" // from a member's request
	case EventReplication:
		broker = e.Topic == "" // a follower paused or resumed
	case EventLeaderChange, EventISRChange:
		leader, epoch = true, true
	case EventTruncate:
		leader = true // whose tail was dropped
	}
	switch e.Kind {
	case EventAppend, EventTruncate, EventFetch:
		offset, last = true, true
	case EventHighWatermark, EventOffsetCommit:
		offset = true
	}
	if broker || e.Broker != 0 {
		out.Broker = &e.Broker
	}
	if (e.Topic != "" && e.Kind != EventTopicCreated) || e.Partition != 0 {
		out.Partition = &e.Partition
	}
	if offset || e.Offset != 0 {
		out.Offset = &e.Offset
	}
	if last || e.LastOffset != 0 {
		out.LastOffset = &e.LastOffset
	}
	if leader || e.Leader != 0 {
		out.Leader = &e.Leader
	}
	if epoch || e.Epoch != 0 {
		out.Epoch = &e.Epoch
	}
	if e.Kind == EventBadRequest || e.APIKey != 0 || e.APIVersion != 0 {
		out.APIKey, out.APIVersion = &e.APIKey, &e.APIVersion
	}
	return json.Marshal(out)
}

// Timeline renders events (a Log's, or ones read back from JSON lines) as
// a report: a summary of what happened, then one line per event with its
// time since the first event.
func Timeline(events []Event) string {
	var b strings.Builder
	if len(events) == 0 {
		return "no events\n"
	}
	var appended, lost, served int64
	count := map[EventKind]int{}
	for _, e := range events {
		count[e.Kind]++
		switch e.Kind {
		case EventAppend:
			if e.Detail == "" || e.Detail == "un-replicated" { // not a note about an append
				appended += e.LastOffset - e.Offset + 1
			}
		case EventTruncate:
			lost += e.LastOffset - e.Offset + 1
		case EventFetch:
			served += e.LastOffset - e.Offset + 1
		}
	}
	span := events[len(events)-1].Time.Sub(events[0].Time)
	fmt.Fprintf(&b, "%d events over %v: %d records appended, %d dropped by failovers, %d served by fetch; "+
		"%d leader changes, %d ISR changes, %d brokers down, %d coordinator moves; faults %d added, %d hits, %d removed\n",
		len(events), span.Round(time.Microsecond), appended, lost, served,
		count[EventLeaderChange], count[EventISRChange], count[EventBrokerDown], count[EventCoordinatorMoved],
		count[EventFaultAdded], count[EventFaultHit], count[EventFaultRemoved])
	start := events[0].Time
	for _, e := range events {
		fmt.Fprintf(&b, "%+10.3fms #%-5d %s\n", float64(e.Time.Sub(start).Microseconds())/1000, e.Seq, e.Describe())
	}
	return b.String()
}

// Read reads events written as JSON lines (Log.WriteJSON, or kafkaemu
// serve's and kafkaemu proxy's GET /journal). A line that is not an event
// is an error naming the line.
func Read(r io.Reader) ([]Event, error) {
	var evs []Event
	dec := json.NewDecoder(r)
	for line := 1; ; line++ {
		var e Event
		err := dec.Decode(&e)
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, fmt.Errorf("journal event %d: %w", line, err)
		}
		evs = append(evs, e)
	}
}

// Log is an append-only, concurrency-safe event log; its zero value is
// ready to use. It numbers events from 1 (Event.Seq) and stamps each with
// time.Now (the bubble's clock inside testing/synctest).
type Log struct {
	mu     sync.Mutex
	events []Event
	seq    int64
	open   map[int64]bool // producer ids with a transaction in progress
	bound  bound          // Bound
}

// bound is what Bound adds to the log.
type bound struct {
	limit   int // 0: unbounded
	dropped int64
	hooks   []func(Event)
}

// Bound keeps at most limit events in memory (0: every one), dropping the
// oldest beyond it (Dropped counts them; Seq goes on counting, so a gap is
// visible), and calls each hook with every event, in order, as it is
// added and before any drop. The hooks run while the log is locked: they
// must be quick and must not add to the log. Call Bound before the first
// Add.
func (l *Log) Bound(limit int, hooks ...func(Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bound.limit = limit
	l.bound.hooks = append(l.bound.hooks, hooks...)
}

// Dropped is how many of the oldest events Bound's limit dropped.
func (l *Log) Dropped() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bound.dropped
}

// recorded runs the hooks on e, the newest of events, and drops the oldest
// events beyond the limit. It returns the events to keep. Dropping
// re-slices from the front: append copies the kept events into a new
// array once the old one is full, so each event is copied a bounded
// number of times and the memory held stays within a few times the limit.
func (b *bound) recorded(events []Event, e Event) []Event {
	for _, fn := range b.hooks {
		fn(e)
	}
	if b.limit > 0 && len(events) > b.limit {
		n := len(events) - b.limit
		clear(events[:n]) // let the dropped events' records go before the array does
		events = events[n:]
		b.dropped += int64(n)
	}
	return events
}

// Add appends e, setting its Seq and Time. A transactional append by a
// producer with no transaction open is preceded by a txn-begin event:
// Kafka has no begin on the wire (AddPartitionsToTxn is gone with
// KIP-890), so a transaction begins, for the journal, where its first
// record is appended.
func (l *Log) Add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case e.Kind == EventAppend && e.Transactional && !l.open[e.ProducerID]:
		if l.open == nil {
			l.open = map[int64]bool{}
		}
		l.open[e.ProducerID] = true
		l.appendLocked(Event{Kind: EventTxnBegin, Broker: e.Broker, ProducerID: e.ProducerID, ProducerEpoch: e.ProducerEpoch, Client: e.Client})
	case e.Kind == EventTxnEnd:
		delete(l.open, e.ProducerID)
	}
	l.appendLocked(e)
}

func (l *Log) appendLocked(e Event) {
	l.seq++
	e.Seq = l.seq
	e.Time = time.Now()
	l.events = l.bound.recorded(append(l.events, e), e)
}

// Events returns every event so far, in order.
func (l *Log) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// Since returns the events after the one numbered seq (Event.Seq), in
// order: a caller that follows the log reads only what is new.
func (l *Log) Since(seq int64) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Seq numbers events from 1, one apart; the first dropped ones are
	// no longer held.
	seq -= l.bound.dropped
	return append([]Event(nil), l.events[min(max(seq, 0), int64(len(l.events))):]...)
}

// WriteJSON writes every event as JSON lines, one event a line (what Read
// reads back).
func (l *Log) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, e := range l.Events() {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// Tail is the last n events as readable lines, for a test log.
func (l *Log) Tail(n int) string {
	if n <= 0 {
		return ""
	}
	evs := l.Events()
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
