package harness

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kfake"
)

// waitTick is how often the waits look again: far below a fetch interval
// (FetchMaxWait, 50ms with ClientDefaults), so a wait returns within one
// of its condition becoming true.
const waitTick = 2 * time.Millisecond

// WaitConsumed waits until name, a consumer (a Recorder's name, a harness
// client's id) or a group in the cluster's History, has read every
// partition of topics up to its high watermark, and returns nil then; it
// returns an error naming the partitions behind when ctx ends first.
//
// Read means what the History counts: records the consumer polled, or,
// for a Recorder with assertions.Processing, records the application
// reported with Processed. A partition is read once the history shows
// name reading its last record below the high watermark (or has nothing
// to read: it is empty, or its records were deleted). Transaction
// markers, records of aborted transactions and of transactions still
// open are not waited for, so read_committed consumers catch up too.
// A record the application drops in the middle does not hold the wait
// up (the assertions find it); one it drops at the very end does.
//
// It replaces "wait until nothing moved for 300ms": it returns within a
// few milliseconds of the last record being read.
func (c *Cluster) WaitConsumed(ctx context.Context, name string, topics ...string) error {
	if len(topics) == 0 {
		return fmt.Errorf("WaitConsumed(%q): no topics named", name)
	}
	w := c.newWaiter()
	read := map[topicPartition]int64{} // the next offset name has not read
	var seen int64                     // history events looked at
	tick := time.NewTicker(waitTick)
	defer tick.Stop()
	for {
		for _, e := range c.history.EventsSince(seen) {
			seen = e.Seq
			if e.Op == assertions.OpPoll && (e.Consumer == name || e.Group == name) {
				tp := topicPartition{e.Topic, e.Partition}
				read[tp] = max(read[tp], e.Offset+1)
			}
		}
		behind, err := w.behind(topics, func(tp topicPartition) (int64, bool) { n, ok := read[tp]; return n, ok })
		if err != nil {
			return fmt.Errorf("WaitConsumed(%q): %w", name, err)
		}
		if len(behind) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("WaitConsumed(%q): %w; %s has not read %s", name, ctx.Err(), name, strings.Join(behind, ", "))
		case <-tick.C:
		}
	}
}

// WaitCommitted waits until group has committed, for every partition of
// topics, an offset past the partition's last record below the high
// watermark (as WaitConsumed counts it), and returns nil then; it returns
// an error naming the partitions behind when ctx ends first. It is the
// WaitGroup condition for "the group is done": what a restarted member
// would resume from.
func (c *Cluster) WaitCommitted(ctx context.Context, group string, topics ...string) error {
	if len(topics) == 0 {
		return fmt.Errorf("WaitCommitted(%q): no topics named", group)
	}
	w := c.newWaiter()
	var behind []string
	var werr error
	_, err := c.WaitGroup(ctx, group, func(gi *kfake.GroupInfo) bool {
		behind, werr = w.behind(topics, func(tp topicPartition) (int64, bool) {
			if gi == nil {
				return 0, false
			}
			gc, ok := gi.Commits[tp.topic][tp.partition]
			return gc.Offset, ok
		})
		return werr != nil || len(behind) == 0
	})
	switch {
	case werr != nil:
		return fmt.Errorf("WaitCommitted(%q): %w", group, werr)
	case err != nil:
		return fmt.Errorf("WaitCommitted(%q): %w; not committed: %s", group, err, strings.Join(behind, ", "))
	}
	return nil
}

type topicPartition struct {
	topic     string
	partition int32
}

// waiter follows the journal for where each partition's readable records
// end: the last record appended outside an aborted or open transaction.
type waiter struct {
	c       *Cluster
	states  []fake.PartitionState     // the partitions' latest snapshots
	at      time.Time                 // when they were taken
	seen    int64                     // journal events looked at
	last    map[topicPartition]int64  // the highest offset a readable record was appended at
	pending map[int64][]appendedRange // producer id -> its open transaction's appends
}

// appendedRange is where an append's records end.
type appendedRange struct {
	tp   topicPartition
	last int64
}

func (c *Cluster) newWaiter() *waiter {
	return &waiter{c: c, last: map[topicPartition]int64{}, pending: map[int64][]appendedRange{}}
}

// follow reads the journal's new events.
func (w *waiter) follow() {
	for _, e := range w.c.JournalSince(w.seen) {
		w.seen = e.Seq
		switch e.Kind {
		case fake.EventAppend:
			r := appendedRange{topicPartition{e.Topic, e.Partition}, e.LastOffset}
			if e.Transactional {
				w.pending[e.ProducerID] = append(w.pending[e.ProducerID], r)
				continue
			}
			w.appended(r)
		case fake.EventTxnEnd:
			if e.Committed {
				for _, r := range w.pending[e.ProducerID] {
					w.appended(r)
				}
			}
			delete(w.pending, e.ProducerID)
		}
	}
}

// appended notes the records of r. A failover may truncate them and
// reuse their offsets; the high watermark decides which still count.
func (w *waiter) appended(r appendedRange) {
	if l, ok := w.last[r.tp]; !ok || r.last > l {
		w.last[r.tp] = r.last
	}
}

// behind lists the partitions of topics whose readable records next (the
// next offset to read, ok false if none yet) has not passed. Partition
// snapshots cost a request to the cluster each, so behind reuses them for
// up to waitRefresh: a high watermark only grows, so a partition behind
// an old one is behind the new one too, and behind looks again before it
// reports that none is behind.
func (w *waiter) behind(topics []string, next func(topicPartition) (int64, bool)) ([]string, error) {
	w.follow()
	fresh := w.states == nil || time.Since(w.at) >= waitRefresh
	if fresh {
		if err := w.refresh(topics); err != nil {
			return nil, err
		}
	}
	out := w.check(next)
	if len(out) == 0 && !fresh {
		if err := w.refresh(topics); err != nil {
			return nil, err
		}
		out = w.check(next)
	}
	return out, nil
}

// waitRefresh is how long behind reuses partition snapshots.
const waitRefresh = 20 * time.Millisecond

// refresh takes a snapshot of every partition of topics.
func (w *waiter) refresh(topics []string) error {
	w.states = w.states[:0]
	for _, t := range topics {
		for p := int32(0); ; p++ {
			st, err := w.c.Partition(t, p)
			if err != nil {
				if p == 0 {
					return err
				}
				break
			}
			w.states = append(w.states, st)
		}
	}
	w.at = time.Now()
	return nil
}

func (w *waiter) check(next func(topicPartition) (int64, bool)) []string {
	var out []string
	for _, st := range w.states {
		t, p := st.Topic, st.Partition
		tp := topicPartition{t, p}
		// The last readable record is below the high watermark: what
		// lies at or above it is not replicated yet, or was truncated.
		last, ok := w.last[tp]
		end := min(last+1, st.HighWatermark)
		if !ok || end <= st.LogStartOffset {
			continue // nothing to read
		}
		n, ok := next(tp)
		switch {
		case ok && n >= end:
		case !ok:
			out = append(out, fmt.Sprintf("%s[%d] (nothing of offsets %d..%d, high watermark %d)", t, p, st.LogStartOffset, end-1, st.HighWatermark))
		default:
			out = append(out, fmt.Sprintf("%s[%d] (up to offset %d of %d, high watermark %d)", t, p, n-1, end-1, st.HighWatermark))
		}
	}
	return out
}
