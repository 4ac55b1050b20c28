package fake

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultBrokerSessionTimeout is Kafka's broker.session.timeout.ms default,
// the BrokerSessionTimeout a cluster has unless told otherwise.
const DefaultBrokerSessionTimeout = 9 * time.Second

// Isolate cuts brokers off from the controller and from every broker
// outside the set, while clients still reach them: the commonest real
// leader loss, a split brain. Install it with Cluster.AddFault; Remove
// heals it.
//
// While isolated, a broker still believes it leads. Its followers cannot
// copy from it, so its high watermark stops: consumers see nothing past
// it, acks=0/1 writes are acknowledged from its log alone, and acks=all
// writes wait and time out (REQUEST_TIMED_OUT), since shrinking the ISR
// needs the controller. Its Metadata answers are its own view of the
// cluster as it was when it was cut off.
//
// After BrokerSessionTimeout the controller fences it (journal:
// broker-fenced): every partition it led gets a new leader from the rest
// of its ISR, with the next leader epoch (or goes offline when none is
// left), it leaves every ISR, and the group and transaction coordinators
// it hosted move; commits to it are refused with NOT_COORDINATOR. The
// other brokers answer the new metadata; the fenced broker keeps
// answering its stale view and keeps acknowledging acks=0/1 writes to
// the partitions it believes it leads, at offsets the new leader also
// hands out.
//
// On Remove the broker reaches the controller again (journal: unfence),
// learns the new epochs and truncates each divergent tail to where its
// last epoch ended on the new leader (KIP-101; journal: truncate, with
// the offsets): the writes only it acknowledged are gone. It then catches
// up and rejoins the ISR. An isolation healed before the fence loses
// nothing: the followers copy the tail and the high watermark moves on.
//
// Targets given to AddFault pick clients that lose the isolated brokers
// too (their requests to them are held, as Partition holds them);
// without targets every client still reaches them. Isolating every live
// broker, an unknown or down broker, or a broker already isolated is an
// error; so is Removing the fault twice.
func Isolate(brokers ...int32) NetFault {
	return netfault.Isolate(brokers...)
}

// isolation is one installed Isolate fault, until it is healed.
type isolation struct {
	h       *FaultHandle
	brokers []int32
	start   time.Time
	timer   *time.Timer // the broker session timeout
	fenced  bool
	// view is what the isolated brokers know of each partition: the
	// model when they were cut off. Their Metadata answers show it.
	view map[*partitionState]partView
}

type partView struct {
	leader, epoch int32
	replicas, isr []int32
}

// staleLead is a partition a fenced broker still believes it leads: its
// log holds the replicated prefix up to hw (shared with the new leader)
// and a tail of writes only it has, from hw to leo.
type staleLead struct {
	broker int32
	epoch  int32
	epochs []epochStart // its leader epoch history
	hw     int64
	leo    int64
	tail   []*tailBatch
}

// eligible reports whether the controller may hand b leaderships and
// coordinators: it is up and not fenced.
func (b *brokerState) eligible() bool { return b != nil && b.up && !b.fenced }

func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

func (c *Cluster) validateIsolate(f NetFault) error {
	if f.Kind() != netfault.KindIsolate {
		return nil
	}
	brokers := f.Brokers()
	name := fmt.Sprintf("fake.Isolate(%s)", joinIDs(brokers))
	if len(brokers) == 0 {
		return errors.New("fake.Isolate(): name at least one broker to isolate")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	for i, b := range brokers {
		bs := c.brokers[b]
		switch {
		case bs == nil:
			return fmt.Errorf("%s: unknown broker %d (brokers are %v)", name, b, c.brokerIDsLocked())
		case slices.Contains(brokers[:i], b):
			return fmt.Errorf("%s: broker %d is named twice", name, b)
		case !bs.up:
			return fmt.Errorf("%s: broker %d is down (KillBroker); restart it first", name, b)
		}
		if iso := c.isolationOfLocked(b); iso != nil {
			return fmt.Errorf("%s: broker %d is isolated already (fault %s); Remove that fault first", name, b, iso.h)
		}
	}
	for _, id := range c.brokerIDsLocked() {
		if !slices.Contains(brokers, id) && c.brokers[id].eligible() && c.isolationOfLocked(id) == nil {
			return nil
		}
	}
	return fmt.Errorf("%s: no live broker would be left outside the isolation, and the controller needs one to move leaders and coordinators to; isolate fewer brokers (or use Partition to cut clients off)", name)
}

// isolationOfLocked is the isolation broker b is in, or nil.
func (c *Cluster) isolationOfLocked(b int32) *isolation {
	for _, iso := range c.isolations {
		if slices.Contains(iso.brokers, b) {
			return iso
		}
	}
	return nil
}

// startIsolation freezes the isolated brokers' view of the cluster and
// arms the broker session timeout, after which the controller fences
// them. The fault is installed already: followers cannot copy across it.
func (c *Cluster) startIsolation(h *FaultHandle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	iso := &isolation{h: h, brokers: h.Fault().Brokers(), start: time.Now(), view: map[*partitionState]partView{}}
	for _, p := range c.allPartitionsLocked() {
		iso.view[p] = partView{p.leader, p.epoch, cloneIDs(p.replicas), cloneIDs(p.isr)}
	}
	c.isolations = append(c.isolations, iso)
	iso.timer = time.AfterFunc(c.cfg.brokerSessionTimeout, func() {
		c.background(func() { c.fence(iso) })
	})
}

// fence is the controller giving up on an isolation's brokers after the
// broker session timeout: it fences them, elects new leaders for the
// partitions they led from the rest of each ISR (they keep believing they
// lead: staleLead), drops them from every ISR and moves their
// coordinators.
func (c *Cluster) fence(iso *isolation) {
	c.topoMu.Lock()
	defer c.topoMu.Unlock()
	c.mu.Lock()
	if c.closed || iso.fenced || !slices.Contains(c.isolations, iso) {
		c.mu.Unlock()
		return
	}
	iso.fenced = true
	for _, b := range iso.brokers {
		c.brokers[b].fenced = true
		c.journal.Add(Event{Kind: EventBrokerFenced, Broker: b, Detail: fmt.Sprintf("no heartbeat reached the controller for broker.session.timeout=%v", c.cfg.brokerSessionTimeout)})
	}
	parts := c.allPartitionsLocked()
	c.mu.Unlock()
	why := fmt.Sprintf("broker %s fenced", joinIDs(iso.brokers))
	if len(iso.brokers) > 1 {
		why = fmt.Sprintf("brokers %s fenced", joinIDs(iso.brokers))
	}
	in := func(b int32) bool { return slices.Contains(iso.brokers, b) }
	var moved []*partitionState
	for _, p := range parts {
		p.flushMu.Lock()
		c.mu.Lock()
		switch {
		case p.leader >= 0 && in(p.leader):
			old := p.leader
			// Settle the writes kfake is still appending: p.leo is then
			// the leader's log end and the tail starts at the high
			// watermark.
			c.enterTailModeLocked(p)
			hw := p.leo
			if len(p.tail) > 0 {
				hw = p.tail[0].base
			}
			if p.stale == nil {
				p.stale = map[int32]*staleLead{}
			}
			p.stale[old] = &staleLead{broker: old, epoch: p.epoch, epochs: slices.Clone(p.epochs), hw: hw, leo: p.leo, tail: p.tail}
			p.tail, p.tailMode, p.leo = nil, false, 0
			p.stopLagTimer()
			next, clean := c.electLocked(p, old) // fenced brokers are not eligible
			switch {
			case next < 0:
				// Offline: the ISR keeps the fenced leader, which
				// leads again, its tail intact, when it returns.
			case clean:
				p.isr = slices.DeleteFunc(p.isr, in)
			default:
				p.isr = []int32{next}
			}
			p.leader = next
			moved = append(moved, p)
		case slices.ContainsFunc(p.isr, in):
			p.isr = slices.DeleteFunc(p.isr, in)
			c.journal.Add(Event{Kind: EventISRChange, Topic: p.topic.name, Partition: p.id, Leader: p.leader, Epoch: p.epoch, ISR: cloneIDs(p.isr), Detail: why})
		}
		c.cond.Broadcast() // an EndTxn may wait on the tail that moved
		c.mu.Unlock()
		p.flushMu.Unlock()
	}
	if err := c.reapplyLeaders(moved, why); err != nil {
		return // closed meanwhile
	}
	for _, p := range parts {
		c.kickFlush(p) // fenced followers left: high watermarks may advance
	}
	_ = c.moveCoordinatorsOff()
}

// pausedNote tells, in a leader change's detail, that PauseReplication
// outlives it. Called with c.mu held.
func pausedNote(p *partitionState) string {
	if p.paused && p.leader >= 0 {
		return "; replication of " + p.name() + " stays paused (PauseReplication): the new leader's followers copy nothing until ResumeReplication"
	}
	return ""
}

// heal ends the isolation of h's brokers (its Remove). Fenced brokers
// reach the controller again: each partition they kept believing they
// led is truncated to where their last epoch ended on the new leader
// (KIP-101), or, if it went offline for want of another in-sync replica,
// led by them again with their tail. Then they catch up (the caller
// kicks replication) and rejoin the ISRs.
func (c *Cluster) heal(h *FaultHandle) {
	c.topoMu.Lock()
	defer c.topoMu.Unlock()
	c.mu.Lock()
	i := slices.IndexFunc(c.isolations, func(iso *isolation) bool { return iso.h == h })
	if i < 0 {
		c.mu.Unlock()
		return
	}
	iso := c.isolations[i]
	c.isolations = slices.Delete(c.isolations, i, i+1)
	iso.timer.Stop()
	if !iso.fenced {
		c.mu.Unlock()
		return
	}
	took := time.Since(iso.start).Round(time.Millisecond)
	for _, b := range iso.brokers {
		c.brokers[b].fenced = false
		c.journal.Add(Event{Kind: EventUnfence, Broker: b, Detail: fmt.Sprintf("reached the controller again after %v isolated; rejoins as a follower", took)})
	}
	parts := c.allPartitionsLocked()
	c.mu.Unlock()
	for _, p := range parts {
		p.flushMu.Lock()
		c.mu.Lock()
		back := int32(-1)
		for _, b := range iso.brokers {
			s := p.stale[b]
			if s == nil {
				continue
			}
			delete(p.stale, b)
			if p.leader < 0 && slices.Contains(p.isr, b) {
				p.leader, back = b, b
				p.tail, p.tailMode, p.leo = s.tail, len(s.tail) > 0, s.leo
				if !p.tailMode {
					p.leo = 0
				}
			} else {
				c.truncateStaleLocked(p, s)
			}
		}
		c.mu.Unlock()
		p.flushMu.Unlock()
		if back >= 0 {
			_ = c.reapplyLeaders([]*partitionState{p}, fmt.Sprintf("broker %d rejoined holding the only in-sync copy", back))
		}
	}
}

// truncateStaleLocked drops the tail of a partition a fenced broker
// believed it led, as the broker does when it rejoins: it asks the leader
// where its last epoch ended (OffsetForLeaderEpoch, KIP-101) and
// truncates its log there. Waiting acks=all writes fail with
// NOT_LEADER_OR_FOLLOWER.
func (c *Cluster) truncateStaleLocked(p *partitionState, s *staleLead) {
	if len(s.tail) > 0 {
		_, end := p.endOffsetFor(s.epoch, s.hw)
		c.journal.Add(Event{Kind: EventTruncate, Broker: s.broker, Leader: s.broker, Epoch: s.epoch, Topic: p.topic.name, Partition: p.id,
			Offset: s.tail[0].base, LastOffset: s.leo - 1,
			Detail: fmt.Sprintf("broker %d rejoined: leader %d says epoch %d ended at offset %d (KIP-101); the writes only broker %d had, acknowledged while it was isolated, are gone",
				s.broker, p.leader, s.epoch, end, s.broker)})
	}
	dropWaiters(s.tail, kerr.NotLeaderForPartition)
}

func dropWaiters(tail []*tailBatch, code *kerr.Error) {
	for _, tb := range tail {
		for _, w := range tb.waiters {
			w.resolveLocked(code.Code, -1)
		}
	}
}

// endIsolationsLocked stops every isolation at Close.
func (c *Cluster) endIsolationsLocked() {
	for _, iso := range c.isolations {
		iso.timer.Stop()
	}
	c.isolations = nil
	for _, p := range c.allPartitionsLocked() {
		for _, s := range p.stale {
			dropWaiters(s.tail, kerr.NotLeaderForPartition)
		}
		p.stale = nil
	}
}

// staleLeadsLocked reports whether node is a fenced broker that still
// believes it leads p.
func (c *Cluster) staleLeadsLocked(p *partitionState, node int32) bool {
	return p.stale[node] != nil
}

// appendStaleLocked is a write to a fenced broker that believes it leads
// p: acks=0/1 are acknowledged at the offsets its own log hands out,
// acks=all waits for followers that never come and times out.
func (c *Cluster) appendStaleLocked(p *partitionState, rt kmsg.ProduceRequestTopic, records []byte, hdr batchHeader, req *kmsg.ProduceRequest, r *partResult, clientID string, node int32) {
	s := p.stale[node]
	if hdr.producerID >= 0 {
		for _, tb := range s.tail {
			if tb.hdr.producerID == hdr.producerID && tb.hdr.producerEpoch == hdr.producerEpoch && tb.hdr.sequence == hdr.sequence {
				c.answerTailLocked(p, tb, r, req)
				return
			}
		}
		if base, ok := p.loggedLocked(hdr); ok && base < s.hw {
			r.resolveLocked(0, base)
			return
		}
	}
	tb := &tailBatch{topicID: rt.TopicID, version: req.Version, txnID: req.TransactionID, acks: req.Acks, records: records, hdr: hdr, base: s.leo, clientID: clientID}
	n := int64(max(hdr.records, 1))
	s.leo += n
	s.tail = append(s.tail, tb)
	c.journal.Add(tb.appendEvent(node, p, n))
	c.answerTailLocked(p, tb, r, req)
}

// isolatedView makes the Metadata answers of an isolated broker show its
// own view: the partitions as they were when it was cut off.
func (c *Cluster) isolatedView(node int32, h reqHeader, fn func([]byte) []byte) func([]byte) []byte {
	return func(frame []byte) []byte {
		frame = fn(frame)
		c.mu.Lock()
		defer c.mu.Unlock()
		iso := c.isolationOfLocked(node)
		if iso == nil {
			return frame
		}
		resp := kmsg.NewPtrMetadataResponse()
		resp.Version = h.Version
		if decodeResponse(frame, resp) != nil {
			return frame
		}
		for i := range resp.Topics {
			t := &resp.Topics[i]
			if t.Topic == nil {
				continue
			}
			for j := range t.Partitions {
				sp := &t.Partitions[j]
				v, ok := iso.view[c.lookupLocked(*t.Topic, sp.Partition)]
				if !ok {
					continue
				}
				sp.Leader, sp.LeaderEpoch = v.leader, v.epoch
				sp.Replicas, sp.ISR, sp.OfflineReplicas = cloneIDs(v.replicas), cloneIDs(v.isr), nil
				sp.ErrorCode = 0
				if v.leader < 0 {
					sp.ErrorCode = kerr.LeaderNotAvailable.Code
				}
			}
		}
		return encodeResponse(h.Corr, resp)
	}
}
