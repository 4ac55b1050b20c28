package fake

import (
	"fmt"
	"slices"
	"time"

	"github.com/seed73168108/kafkaemu/internal/observe"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startLagTimerLocked arms replica.lag.time.max for p: when it fires, the
// followers still not copying leave the ISR and the high watermark
// advances over the rest.
func (c *Cluster) startLagTimerLocked(p *partitionState) {
	p.lagTimer = time.AfterFunc(c.cfg.replicaLagMax, func() {
		c.mu.Lock()
		if c.closed || p.lagTimer == nil || len(p.tail) == 0 {
			p.lagTimer = nil
			c.mu.Unlock()
			return
		}
		p.lagTimer = nil
		if c.isolationOfLocked(p.leader) != nil {
			// Shrinking the ISR takes an AlterPartition to the
			// controller, which an isolated leader cannot reach.
			c.mu.Unlock()
			return
		}
		before := cloneIDs(p.isr)
		p.isr = slices.DeleteFunc(p.isr, func(r int32) bool { return r != p.leader && c.followerPausedLocked(p, r) })
		if !slices.Equal(before, p.isr) {
			c.journal.Add(Event{Kind: EventISRChange, Topic: p.topic.name, Partition: p.id, ISR: cloneIDs(p.isr), Leader: p.leader, Detail: fmt.Sprintf("followers behind for replica.lag.time.max=%v", c.cfg.replicaLagMax)})
		}
		c.mu.Unlock()
		c.kickFlush(p)
	})
}

// kickFlush replicates p's tail in the background if replication flows.
func (c *Cluster) kickFlush(p *partitionState) {
	c.background(func() { c.flush(p) })
}

// background runs fn in a goroutine that Close waits for, unless the
// cluster is already closed.
func (c *Cluster) background(fn func()) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.timers.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.timers.Done()
		fn()
	}()
}

// flush copies p's tail into kfake's log, in order and at the offsets the
// leader assigned, once no in-sync follower is paused. Then the high
// watermark covers it and waiting acks=all requests are answered.
func (c *Cluster) flush(p *partitionState) {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	for {
		c.mu.Lock()
		if c.closed || p.leader < 0 || c.needsTailLocked(p) {
			c.mu.Unlock()
			return
		}
		if len(p.tail) == 0 {
			p.tailMode = false
			p.leo = 0
			c.expandISRLocked(p)
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		tb, leader := p.tail[0], p.leader
		req := kmsg.NewPtrProduceRequest()
		req.Version = tb.version
		req.TransactionID = tb.txnID
		req.Acks = 1
		req.TimeoutMillis = 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic, rt.TopicID = p.topic.name, tb.topicID
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p.id, tb.records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		c.mu.Unlock()

		resp, err := c.request(leader, req)

		c.mu.Lock()
		if len(p.tail) == 0 || p.tail[0] != tb {
			c.mu.Unlock() // dropped by a leader change meanwhile
			continue
		}
		p.tail = p.tail[1:]
		code, base := kerr.UnknownServerError.Code, int64(-1)
		if err == nil {
			for _, t := range resp.(*kmsg.ProduceResponse).Topics {
				for _, pp := range t.Partitions {
					code, base = pp.ErrorCode, pp.BaseOffset
				}
			}
		}
		n := int64(max(tb.hdr.records, 1))
		if code == 0 {
			p.noteLoggedLocked(tb.hdr, base)
			if base != tb.base {
				c.journal.Add(Event{Kind: EventAppend, Topic: p.topic.name, Partition: p.id, Offset: base, LastOffset: base + n - 1, Detail: fmt.Sprintf("replicated at %d, leader had assigned %d", base, tb.base)})
			}
			c.journal.Add(Event{Kind: EventHighWatermark, Broker: leader, Topic: p.topic.name, Partition: p.id, Offset: base + n})
			if len(p.isr) < p.topic.minISR {
				code = kerr.NotEnoughReplicasAfterAppend.Code
			}
		} else {
			c.journal.Add(Event{Kind: EventProduceRejected, Broker: leader, Topic: p.topic.name, Partition: p.id, Offset: tb.base, Error: errMessage(code), Detail: "replicating the tail"})
		}
		for _, w := range tb.waiters {
			w.resolveLocked(code, base)
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

func errMessage(code int16) string { return observe.ErrMessage(code) }

// expandISRLocked: replicas that are up and copying have caught up (the
// tail is empty) and rejoin the ISR.
func (c *Cluster) expandISRLocked(p *partitionState) {
	if p.leader < 0 {
		return
	}
	changed := false
	for _, r := range p.replicas {
		if !slices.Contains(p.isr, r) && !c.followerPausedLocked(p, r) {
			p.isr = append(p.isr, r)
			changed = true
		}
	}
	if changed {
		p.isr = c.inReplicaOrder(p, p.isr)
		c.journal.Add(Event{Kind: EventISRChange, Topic: p.topic.name, Partition: p.id, ISR: cloneIDs(p.isr), Leader: p.leader, Detail: "followers caught up"})
	}
}

func (c *Cluster) inReplicaOrder(p *partitionState, ids []int32) []int32 {
	out := make([]int32, 0, len(ids))
	for _, r := range p.replicas {
		if slices.Contains(ids, r) {
			out = append(out, r)
		}
	}
	return out
}

// PauseReplication stops every follower of topic/partition copying from
// its leader. acks=0/1 writes are still acknowledged but stay invisible to
// consumers; acks=all writes wait; after ReplicaLagMax the followers leave
// the ISR. ResumeReplication undoes it.
//
// The pause belongs to the partition, not to its leader: it outlives a
// failover (FailLeader, KillBroker, ElectLeaders, a fence), so the new
// leader's followers do not copy either, its ISR shrinks to itself after
// ReplicaLagMax and, below min.insync.replicas, acks=all writes are
// refused with NOT_ENOUGH_REPLICAS until ResumeReplication (an idempotent
// producer retries them until then). The leader-change event says so.
func (c *Cluster) PauseReplication(topic string, partition int32) error {
	return c.setPartitionPaused(topic, partition, true)
}

// ResumeReplication lets the followers of topic/partition copy again: the
// tail is replicated in order and they rejoin the ISR.
func (c *Cluster) ResumeReplication(topic string, partition int32) error {
	return c.setPartitionPaused(topic, partition, false)
}

func (c *Cluster) setPartitionPaused(topic string, partition int32, paused bool) error {
	p, err := c.partition(topic, partition)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if p.paused == paused {
		c.mu.Unlock()
		return fmt.Errorf("replication of %s is already %s", p.name(), pausedWord(paused))
	}
	p.paused = paused
	c.journal.Add(Event{Kind: EventReplication, Topic: topic, Partition: partition, Detail: pausedWord(paused)})
	c.mu.Unlock()
	if !paused {
		c.kickFlush(p)
	}
	return nil
}

func pausedWord(paused bool) string {
	if paused {
		return "paused"
	}
	return "resumed"
}

// PauseFollower stops broker copying anything as a follower, for every
// partition it replicates.
func (c *Cluster) PauseFollower(broker int32) error { return c.setBrokerPaused(broker, true) }

// ResumeFollower undoes PauseFollower.
func (c *Cluster) ResumeFollower(broker int32) error { return c.setBrokerPaused(broker, false) }

func (c *Cluster) setBrokerPaused(id int32, paused bool) error {
	verb := "PauseFollower"
	if !paused {
		verb = "ResumeFollower"
	}
	c.mu.Lock()
	b, err := c.brokerLocked(verb, id)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	if b.paused == paused {
		c.mu.Unlock()
		return fmt.Errorf("broker %d replication is already %s", id, pausedWord(paused))
	}
	b.paused = paused
	c.journal.Add(Event{Kind: EventReplication, Broker: id, Detail: "follower " + pausedWord(paused)})
	parts := c.allPartitionsLocked()
	c.mu.Unlock()
	if !paused {
		for _, p := range parts {
			c.kickFlush(p)
		}
	}
	return nil
}

func (c *Cluster) allPartitionsLocked() []*partitionState {
	var names []string
	for n := range c.topics {
		names = append(names, n)
	}
	slices.Sort(names)
	var ps []*partitionState
	for _, n := range names {
		ps = append(ps, c.topics[n].parts...)
	}
	return ps
}

func (c *Cluster) partition(topic string, partition int32) (*partitionState, error) {
	c.mu.Lock()
	_, known := c.topics[topic]
	c.mu.Unlock()
	if !known {
		if err := c.syncTopics(); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errClosed
	}
	return c.partitionLocked(topic, partition)
}

// electLocked is Kafka's election: the first replica in assignment order
// that is in the ISR and alive; with unclean election, any live replica.
func (c *Cluster) electLocked(p *partitionState, exclude int32) (leader int32, clean bool) {
	return c.pickLeaderLocked(p, exclude, p.topic.unclean)
}

// pickLeaderLocked is electLocked with unclean election allowed or not
// whatever the topic says (an admin's unclean ElectLeaders allows it).
func (c *Cluster) pickLeaderLocked(p *partitionState, exclude int32, unclean bool) (leader int32, clean bool) {
	for _, r := range p.replicas {
		if r != exclude && slices.Contains(p.isr, r) && c.brokers[r].eligible() {
			return r, true
		}
	}
	if unclean {
		for _, r := range p.replicas {
			if r != exclude && c.brokers[r].eligible() {
				return r, false
			}
		}
	}
	return -1, false
}

// FailLeader makes the leader of topic/partition fail: the next in-sync
// replica becomes leader with a new epoch, the old leader's un-replicated
// tail is dropped (acks=0/1 writes in it are lost, their offsets reused),
// acks=all requests waiting on it fail with NOT_LEADER_OR_FOLLOWER, and the
// old leader comes back as a follower. It returns the new leader. Without
// an in-sync successor it fails, unless the topic sets
// unclean.leader.election.enable=true. A PauseReplication of the partition
// stays in force under the new leader (see PauseReplication).
func (c *Cluster) FailLeader(topic string, partition int32) (int32, error) {
	p, err := c.partition(topic, partition)
	if err != nil {
		return -1, err
	}
	p.flushMu.Lock()
	c.mu.Lock()
	old := p.leader
	if old < 0 {
		c.mu.Unlock()
		p.flushMu.Unlock()
		return -1, fmt.Errorf("%s is offline: there is no leader to fail", p.name())
	}
	next, clean := c.electLocked(p, old)
	if next < 0 {
		isr := cloneIDs(p.isr)
		c.mu.Unlock()
		p.flushMu.Unlock()
		return -1, fmt.Errorf("%s: no in-sync replica can take over from leader %d (ISR %v); KillBroker(%d) takes the partition offline, or set unclean.leader.election.enable=true", p.name(), old, isr, old)
	}
	p.isr = slices.DeleteFunc(p.isr, func(r int32) bool { return r == old })
	err = c.handOverLocked(p, next, clean, fmt.Sprintf("leader %d failed", old))
	c.mu.Unlock()
	p.flushMu.Unlock()
	return next, err
}

// handOverLocked makes next the leader of p, the one leader change of
// FailLeader and of ElectLeaders: the old leader's un-replicated tail is
// dropped (acks=all requests waiting on it fail with
// NOT_LEADER_OR_FOLLOWER), an unclean election leaves the ISR just next,
// kfake is pointed at next and the new epoch read back, the change is
// journaled (Detail: why) and followers that can copy rejoin the ISR (the
// old leader, truncated to the high watermark, follows again). It is
// called with p.flushMu and c.mu held; c.mu is released while kfake
// moves the leader and held again on return.
func (c *Cluster) handOverLocked(p *partitionState, next int32, clean bool, why string) error {
	c.dropTailLocked(p, kerr.NotLeaderForPartition, why+" before followers copied these", true)
	p.leader = next
	if !clean {
		p.isr = []int32{next}
	}
	c.mu.Unlock()
	err := c.applyLeader(p)
	c.mu.Lock()
	c.journal.Add(Event{Kind: EventLeaderChange, Topic: p.topic.name, Partition: p.id, Leader: next, Epoch: p.epoch, ISR: cloneIDs(p.isr), Detail: why + uncleanNote(clean) + pausedNote(p)})
	c.expandISRLocked(p)
	return err
}

func uncleanNote(clean bool) string {
	if clean {
		return ""
	}
	return "; unclean election of an out-of-sync replica"
}
