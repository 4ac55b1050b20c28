package fake

import (
	"io"

	"github.com/seed73168108/kafkaemu/journal"
)

// The journal lives in package journal; these names keep fake's API.

// EventKind names what happened in a journal Event (journal.EventKind).
type EventKind = journal.EventKind

// Event is one thing the cluster did (journal.Event).
type Event = journal.Event

// RecordValue is one record's offset, key and value (journal.RecordValue).
type RecordValue = journal.RecordValue

// The kinds of journal events (see package journal).
const (
	EventBrokerUp         = journal.EventBrokerUp
	EventBrokerDown       = journal.EventBrokerDown
	EventTopicCreated     = journal.EventTopicCreated
	EventTopicDeleted     = journal.EventTopicDeleted
	EventAppend           = journal.EventAppend
	EventHighWatermark    = journal.EventHighWatermark
	EventTruncate         = journal.EventTruncate
	EventFetch            = journal.EventFetch
	EventOffsetCommit     = journal.EventOffsetCommit
	EventProducerInit     = journal.EventProducerInit
	EventTxnBegin         = journal.EventTxnBegin
	EventTxnEnd           = journal.EventTxnEnd
	EventLeaderChange     = journal.EventLeaderChange
	EventISRChange        = journal.EventISRChange
	EventReplication      = journal.EventReplication
	EventProduceRejected  = journal.EventProduceRejected
	EventFaultAdded       = journal.EventFaultAdded
	EventFaultHit         = journal.EventFaultHit
	EventFaultRemoved     = journal.EventFaultRemoved
	EventGroup            = journal.EventGroup
	EventCoordinatorMoved = journal.EventCoordinatorMoved
	EventBrokerFenced     = journal.EventBrokerFenced
	EventUnfence          = journal.EventUnfence
	EventBadRequest       = journal.EventBadRequest
)

// Timeline renders events as a report (journal.Timeline).
func Timeline(events []Event) string { return journal.Timeline(events) }

// ReadJournal reads events written by WriteJournal (or served by
// kafkaemu serve's GET /journal); see journal.Read.
func ReadJournal(r io.Reader) ([]Event, error) { return journal.Read(r) }

// Journal returns every event so far, in order.
func (c *Cluster) Journal() []Event { return c.journal.Events() }

// JournalSince returns the events after the one numbered seq (Event.Seq),
// in order: a caller that follows the journal reads only what is new.
func (c *Cluster) JournalSince(seq int64) []Event { return c.journal.Since(seq) }

// WriteJournal writes the journal as JSON lines, one event a line.
func (c *Cluster) WriteJournal(w io.Writer) error { return c.journal.WriteJSON(w) }

// JournalTail is the last n events as readable lines, for a test log.
func (c *Cluster) JournalTail(n int) string { return c.journal.Tail(n) }
