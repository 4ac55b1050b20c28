package fake

import (
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
)

// KillBroker crashes broker id: it stops listening and its connections
// close, every partition it led fails over to the next in-sync replica
// (dropping the un-replicated tail), it leaves every ISR, and the group
// and transaction coordinators it hosted move (clients get
// NOT_COORDINATOR or a broken connection and find the new one). A
// partition with no in-sync replica left goes offline (LEADER_NOT_AVAILABLE)
// until a replica returns, unless the topic allows unclean leader election.
func (c *Cluster) KillBroker(id int32) error {
	c.topoMu.Lock()
	defer c.topoMu.Unlock()
	c.mu.Lock()
	b, err := c.brokerLocked("KillBroker", id)
	if err == nil && !b.up {
		err = fmt.Errorf("KillBroker(%d): the broker is already down", id)
	}
	if iso := c.isolationOfLocked(id); err == nil && iso != nil {
		err = fmt.Errorf("KillBroker(%d): the broker is isolated (fault %s); Remove that fault first", id, iso.h)
	}
	if err != nil {
		c.mu.Unlock()
		return err
	}
	live := 0
	for _, x := range c.brokers {
		if x.up {
			live++
		}
	}
	if live == 1 {
		c.mu.Unlock()
		return fmt.Errorf("KillBroker(%d): it is the last live broker; kafkaemu keeps one up", id)
	}
	b.up = false
	parts := c.allPartitionsLocked()
	ln := b.ln
	c.mu.Unlock()
	c.journal.Add(Event{Kind: EventBrokerDown, Broker: id, Detail: b.addr})
	ln.Down()

	var moved []*partitionState
	for _, p := range parts {
		p.flushMu.Lock()
		c.mu.Lock()
		if p.leader == id {
			next, clean := c.electLocked(p, id)
			c.dropTailLocked(p, kerr.NotLeaderForPartition, fmt.Sprintf("broker %d crashed before followers copied these", id), true)
			p.leader = next
			switch {
			case next < 0:
				// Offline: the ISR keeps its last member, which
				// leads again when it returns.
			case clean:
				p.isr = slices.DeleteFunc(p.isr, func(r int32) bool { return r == id })
			default:
				p.isr = []int32{next}
			}
			moved = append(moved, p)
		} else if slices.Contains(p.isr, id) {
			p.isr = slices.DeleteFunc(p.isr, func(r int32) bool { return r == id })
			c.journal.Add(Event{Kind: EventISRChange, Topic: p.topic.name, Partition: p.id, Leader: p.leader, ISR: cloneIDs(p.isr), Detail: fmt.Sprintf("broker %d crashed", id)})
		}
		c.mu.Unlock()
		p.flushMu.Unlock()
	}
	if err := c.reapplyLeaders(moved, fmt.Sprintf("broker %d crashed", id)); err != nil {
		return err
	}
	for _, p := range parts {
		c.kickFlush(p) // followers left: the high watermark may advance
	}
	return c.moveCoordinatorsOff()
}

// RestartBroker brings a killed broker back on its old address. It
// rejoins as a follower: offline partitions it can lead come back online,
// and it returns once its replicas have caught up and re-entered the ISR
// (unless a paused follower or a network partition keeps them out), so a
// test can fail the next broker right after it.
func (c *Cluster) RestartBroker(id int32) error {
	c.topoMu.Lock()
	defer c.topoMu.Unlock()
	c.mu.Lock()
	b, err := c.brokerLocked("RestartBroker", id)
	if err == nil && b.up {
		err = fmt.Errorf("RestartBroker(%d): the broker is running", id)
	}
	if err != nil {
		c.mu.Unlock()
		return err
	}
	ln, addr := b.ln, b.addr
	c.mu.Unlock()
	if err := ln.Up(addr); err != nil {
		return fmt.Errorf("RestartBroker(%d): listening on %s again: %w", id, addr, err)
	}
	c.mu.Lock()
	b.up = true
	c.journal.Add(Event{Kind: EventBrokerUp, Broker: id, Detail: addr})
	parts := c.allPartitionsLocked()
	var back []*partitionState
	for _, p := range parts {
		if p.leader >= 0 || !slices.Contains(p.replicas, id) {
			continue
		}
		if slices.Contains(p.isr, id) || p.topic.unclean {
			p.leader = id
			if !slices.Contains(p.isr, id) {
				p.isr = []int32{id}
			}
			back = append(back, p)
		}
	}
	c.mu.Unlock()
	if err := c.reapplyLeaders(back, fmt.Sprintf("broker %d returned", id)); err != nil {
		return err
	}
	for _, p := range parts {
		c.flush(p) // catches up and re-enters the ISR
	}
	return nil
}

// brokerLocked is broker id, or an error naming verb for a closed cluster
// or an unknown broker.
func (c *Cluster) brokerLocked(verb string, id int32) (*brokerState, error) {
	if c.closed {
		return nil, errClosed
	}
	b := c.brokers[id]
	if b == nil {
		return nil, fmt.Errorf("%s(%d): unknown broker (brokers are %v)", verb, id, c.brokerIDsLocked())
	}
	return b, nil
}

// reapplyLeaders points kfake at the model's new leaders and journals them.
func (c *Cluster) reapplyLeaders(parts []*partitionState, why string) error {
	for _, p := range parts {
		if err := c.applyLeader(p); err != nil {
			return err
		}
		c.mu.Lock()
		c.journal.Add(Event{Kind: EventLeaderChange, Topic: p.topic.name, Partition: p.id, Leader: p.leader, Epoch: p.epoch, ISR: cloneIDs(p.isr), Detail: why + pausedNote(p)})
		c.mu.Unlock()
	}
	return nil
}

// moveCoordinatorsOff rehashes kfake's coordinators until no group or
// transactional id a client has looked up lands on a dead broker, and
// journals the moves.
func (c *Cluster) moveCoordinatorsOff() error {
	before := c.coordinators()
	defer c.journalCoordinatorMoves(before)
	return c.avoidDeadCoordinators(slices.Sorted(maps.Keys(before)))
}

// avoidDeadCoordinators rehashes until no key is coordinated by a dead
// broker.
func (c *Cluster) avoidDeadCoordinators(keys []string) error {
	for try := 0; try < 10000; try++ {
		ok := true
		for _, k := range keys {
			n := c.coordinatorFor(k)
			c.mu.Lock()
			b := c.brokers[n]
			up := b.eligible()
			c.mu.Unlock()
			if !up {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		if err := c.rehashCoordinators(); err != nil {
			return err
		}
	}
	return fmt.Errorf("could not move the coordinators of %d groups off dead brokers", len(keys))
}

// coordinators is where each group and transactional id clients looked up
// (and extra ids) is coordinated now.
func (c *Cluster) coordinators(extra ...string) map[string]int32 {
	c.mu.Lock()
	keys := slices.Collect(maps.Keys(c.coordKeys))
	c.mu.Unlock()
	at := map[string]int32{}
	for _, k := range append(keys, extra...) {
		at[k] = c.coordinatorFor(k)
	}
	return at
}

// journalCoordinatorMoves journals every id whose coordinator moved since
// before (kfake rehashes all coordinators at once).
func (c *Cluster) journalCoordinatorMoves(before map[string]int32) {
	for _, k := range slices.Sorted(maps.Keys(before)) {
		now := c.coordinatorFor(k)
		if now == before[k] || now < 0 {
			continue
		}
		c.mu.Lock()
		txn := c.coordKeys[k] == 1
		c.mu.Unlock()
		e := Event{Kind: EventCoordinatorMoved, Broker: now, Group: k, Detail: fmt.Sprintf("from broker %d to %d", before[k], now)}
		if txn {
			e.Group, e.Detail = "", fmt.Sprintf("transactional.id=%s from broker %d to %d", k, before[k], now)
		}
		c.journal.Add(e)
	}
}
