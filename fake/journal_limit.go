package fake

import "fmt"

// JournalLimit keeps at most n events of the journal in memory: beyond it
// the oldest are dropped (Cluster.JournalDropped counts them) and Journal,
// JournalSince, WriteJournal and the checks built on them (BrokerHistory)
// see only the newest n. Sequence numbers go on counting, so a gap is
// visible. For a long run whose whole journal matters, stream it with
// OnJournal: the hook sees every event before any is dropped. Without
// JournalLimit the journal keeps everything, as a test wants.
func JournalLimit(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("fake.JournalLimit(%d): want at least 1 event", n)
		}
		c.journalLimit = n
		return nil
	}
}

// OnJournal calls fn with every journal event, in order, as it is
// recorded (with its Seq and Time set). fn runs while the journal is
// locked: it must be quick and must not call the Cluster (a call that
// records an event would deadlock). kafkaemu serve -journal writes the
// journal to a file with it. Several OnJournal options add several hooks,
// called in the order given.
func OnJournal(fn func(Event)) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("fake.OnJournal(nil): want a function")
		}
		c.journalHooks = append(c.journalHooks, fn)
		return nil
	}
}

// JournalDropped is how many of the oldest journal events JournalLimit
// dropped from memory (0 without it).
func (c *Cluster) JournalDropped() int64 { return c.journal.Dropped() }
