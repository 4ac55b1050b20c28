package fake

import (
	"fmt"
	"slices"
	"time"

	"github.com/seed73168108/kafkaemu/internal/logread"
	"github.com/seed73168108/kafkaemu/internal/observe"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// tailBatch is a batch the leader appended that no follower has copied.
type tailBatch struct {
	topicID  [16]byte
	version  int16
	txnID    *string
	acks     int16
	records  []byte
	hdr      batchHeader
	base     int64 // the offset the leader assigned
	waiters  []*partResult
	clientID string
}

// batchHeader is what the journal and the model need from a record batch.
type batchHeader struct {
	producerID    int64
	producerEpoch int16
	sequence      int32
	records       int32
	transactional bool
	control       bool
	ok            bool
}

func parseBatchHeader(b []byte) batchHeader { return toBatchHeader(observe.ParseBatch(b)) }

func toBatchHeader(ob observe.Batch) batchHeader {
	return batchHeader{
		producerID:    ob.ProducerID,
		producerEpoch: ob.ProducerEpoch,
		sequence:      ob.Sequence,
		records:       ob.Records,
		transactional: ob.Transactional,
		control:       ob.Control,
		ok:            ob.OK,
	}
}

// produceReq is one client produce request whose answer is assembled from
// kfake's answer (partitions that went straight through) and ours.
type produceReq struct {
	c       *Cluster
	h       reqHeader
	req     *kmsg.ProduceRequest
	slot    *slot // nil for acks=0: the client expects no answer
	local   []*partResult
	direct  []*partitionState // partitions forwarded to kfake, for inflight
	kresp   *kmsg.ProduceResponse
	pending int // unanswered parts: local results plus kfake's answer
}

// partResult is our answer for one partition of one produce request.
type partResult struct {
	pr        *produceReq
	topic     string
	topicID   [16]byte
	partition int32
	done      bool
	errCode   int16
	base      int64
	timer     *time.Timer
}

// resolveLocked answers one partition; the request is answered once all are.
func (r *partResult) resolveLocked(code int16, base int64) {
	if r.done {
		return
	}
	r.done = true
	r.errCode, r.base = code, base
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.pr.partDoneLocked()
}

func (pr *produceReq) partDoneLocked() {
	pr.pending--
	if pr.pending == 0 {
		pr.finishLocked()
	}
}

func (pr *produceReq) finishLocked() {
	if pr.slot == nil {
		return
	}
	resp := pr.kresp
	if resp == nil {
		resp = kmsg.NewPtrProduceResponse()
		resp.Version = pr.h.Version
	}
	for _, r := range pr.local {
		sp := kmsg.NewProduceResponseTopicPartition()
		sp.Partition = r.partition
		sp.ErrorCode = r.errCode
		sp.BaseOffset = -1
		if r.errCode == 0 || r.errCode == kerr.NotEnoughReplicasAfterAppend.Code {
			sp.BaseOffset = r.base
		}
		sp.LogAppendTime = -1
		if r.errCode != 0 && pr.h.Version >= 8 {
			msg := "kafkaemu: " + kerr.ErrorForCode(r.errCode).Error()
			sp.ErrorMessage = &msg
		}
		var st *kmsg.ProduceResponseTopic
		for i := range resp.Topics {
			if resp.Topics[i].Topic == r.topic && resp.Topics[i].TopicID == r.topicID {
				st = &resp.Topics[i]
			}
		}
		if st == nil {
			t := kmsg.NewProduceResponseTopic()
			t.Topic, t.TopicID = r.topic, r.topicID
			resp.Topics = append(resp.Topics, t)
			st = &resp.Topics[len(resp.Topics)-1]
		}
		st.Partitions = append(st.Partitions, sp)
	}
	pr.slot.Fill(encodeResponse(pr.h.Corr, resp))
}

// routeProduce decides, per partition, whether kfake appends the batch now
// (replication is flowing), we keep it in the leader's un-replicated tail,
// or we refuse it as Kafka would.
func (c *Cluster) routeProduce(cn *conn, h reqHeader, frame, body []byte) bool {
	kreq, err := decodeRequest(h, body)
	if err != nil {
		return c.forwardPlain(cn, h, frame)
	}
	req := kreq.(*kmsg.ProduceRequest)
	// pending starts with a token for the routing itself, so that parts
	// answered while we route do not finish the request early.
	pr := &produceReq{c: c, h: h, req: req, pending: 1}
	if req.Acks != 0 {
		pr.slot = newSlot(h)
	}
	node := cn.Node()
	direct := make([]kmsg.ProduceRequestTopic, 0, len(req.Topics))
	var kicks []*partitionState

	c.mu.Lock()
	for _, rt := range req.Topics {
		name := rt.Topic
		if req.Version >= 13 {
			name = c.topicIDs[rt.TopicID]
		}
		dt := rt
		dt.Partitions = nil
		for _, rp := range rt.Partitions {
			p := c.lookupLocked(name, rp.Partition)
			if p == nil || c.closed {
				dt.Partitions = append(dt.Partitions, rp)
				continue
			}
			for p.entering {
				c.cond.Wait()
			}
			local := func(code int16) *partResult {
				r := &partResult{pr: pr, topic: rt.Topic, topicID: rt.TopicID, partition: rp.Partition}
				pr.local = append(pr.local, r)
				pr.pending++
				if code >= 0 {
					r.done, r.errCode = true, code
					pr.pending--
				}
				return r
			}
			hdr := parseBatchHeader(rp.Records)
			if hdr.transactional {
				c.noteTxnPartitionLocked(hdr.producerID, p)
			}
			switch {
			case c.staleLeadsLocked(p, node):
				c.appendStaleLocked(p, rt, rp.Records, hdr, req, local(-1), h.ClientID, node)
			case p.leader != node:
				local(kerr.NotLeaderForPartition.Code)
				c.journal.Add(Event{Kind: EventProduceRejected, Broker: node, Topic: name, Partition: p.id, Acks: req.Acks, Client: h.ClientID, Error: kerr.NotLeaderForPartition.Message, Detail: fmt.Sprintf("leader is %d", p.leader)})
			case req.Acks == -1 && len(p.isr) < p.topic.minISR:
				local(kerr.NotEnoughReplicas.Code)
				c.journal.Add(Event{Kind: EventProduceRejected, Broker: node, Topic: name, Partition: p.id, Acks: req.Acks, Client: h.ClientID, Error: kerr.NotEnoughReplicas.Message, ISR: cloneIDs(p.isr), Detail: fmt.Sprintf("min.insync.replicas=%d", p.topic.minISR)})
			case p.tailMode || c.needsTailLocked(p):
				c.enterTailModeLocked(p)
				if p.leader != node || c.closed { // changed while we waited
					local(kerr.NotLeaderForPartition.Code)
					continue
				}
				r := local(-1)
				c.appendTailLocked(p, rt, rp.Records, hdr, req, r, h.ClientID, node)
				kicks = append(kicks, p)
			default:
				p.inflight++
				pr.direct = append(pr.direct, p)
				dt.Partitions = append(dt.Partitions, rp)
			}
		}
		if len(dt.Partitions) > 0 {
			direct = append(direct, dt)
		}
	}
	toKfake := len(direct) > 0
	if toKfake {
		pr.pending++
	}
	allDirect := toKfake && len(pr.local) == 0
	if !allDirect {
		pr.partDoneLocked() // the routing token
	}
	c.mu.Unlock()

	for _, p := range kicks {
		c.kickFlush(p)
	}
	release := func() {
		for _, p := range pr.direct {
			p.inflight--
		}
		c.cond.Broadcast()
	}
	// Returning before forwarding (the connection closed, a dropped
	// response's doing, say) releases the partitions counted in flight,
	// or a later write to them waits for ever to enter tail mode.
	unforwarded := func() bool {
		c.mu.Lock()
		release()
		c.mu.Unlock()
		return false
	}
	// An acks=0 producer never reads an answer, so Kafka closes the
	// connection when a write fails: the client then refreshes metadata
	// and finds the new leader.
	if req.Acks == 0 && slices.ContainsFunc(pr.local, func(r *partResult) bool { return r.errCode != 0 }) {
		return unforwarded()
	}
	if pr.slot != nil && !cn.Respond(pr.slot) {
		return unforwarded()
	}
	if !toKfake {
		return true
	}
	// acks=0 goes to kfake as acks=1, so that we learn the offsets and
	// when kfake is done; the client still gets no answer.
	if !allDirect || req.Acks == 0 {
		sub := *req
		sub.Topics = direct
		if sub.Acks == 0 {
			sub.Acks = 1
		}
		frame = encodeRequest(h, &sub)
	}
	ks := newSlot(h)
	ks.OnAbandon = func() {
		c.mu.Lock()
		release()
		c.mu.Unlock()
	}
	ks.OnResp = func(f []byte) []byte {
		resp := kmsg.NewPtrProduceResponse()
		resp.Version = h.Version
		decErr := decodeResponse(f, resp)
		c.mu.Lock()
		defer c.mu.Unlock()
		release()
		if decErr == nil {
			c.journalAppendsLocked(node, h, req, resp)
			pr.kresp = resp
			if req.Acks == 0 && produceFailed(resp) {
				go cn.Close() // as above: how an acks=0 client learns of an error
			}
		}
		if pr.slot != nil {
			if allDirect {
				pr.slot.Fill(f)
			} else {
				pr.partDoneLocked()
			}
		}
		return []byte(nil)
	}
	return cn.Forward(frame, ks)
}

func produceFailed(resp *kmsg.ProduceResponse) bool {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return true
			}
		}
	}
	return false
}

func (c *Cluster) forwardPlain(cn *conn, h reqHeader, frame []byte) bool {
	return cn.ForwardPlain(h, frame)
}

func (c *Cluster) lookupLocked(topic string, partition int32) *partitionState {
	t := c.topics[topic]
	if t == nil || partition < 0 || int(partition) >= len(t.parts) {
		return nil
	}
	return t.parts[partition]
}

// journalAppendsLocked records what kfake appended for a request; an
// idempotent retry kfake answered from its log (deduplicated) appended
// nothing and is not journaled.
func (c *Cluster) journalAppendsLocked(node int32, h reqHeader, req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) {
	for _, rt := range resp.Topics {
		name := rt.Topic
		if resp.Version >= 13 {
			name = c.topicIDs[rt.TopicID]
		}
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				continue
			}
			ob := observe.FindBatch(req, rt.Topic, rt.TopicID, rp.Partition)
			hdr := toBatchHeader(ob)
			if p := c.lookupLocked(name, rp.Partition); p != nil {
				if base, ok := p.loggedLocked(hdr); ok && base == rp.BaseOffset {
					continue // a retry kfake deduplicated: the log did not grow
				}
				p.noteLoggedLocked(hdr, rp.BaseOffset)
			}
			c.journal.Add(observe.Append(observe.Source{Broker: node, Client: h.ClientID}, req, name, rp.Partition, ob, rp.BaseOffset))
			c.journal.Add(Event{Kind: EventHighWatermark, Broker: node, Topic: name, Partition: rp.Partition, Offset: rp.BaseOffset + int64(hdr.records)})
		}
	}
}

// enterTailModeLocked switches p to tail mode: once the writes kfake is
// still appending are done, the leader's log end is kfake's high
// watermark, and new writes are numbered from there.
func (c *Cluster) enterTailModeLocked(p *partitionState) {
	for p.entering {
		c.cond.Wait()
	}
	if p.tailMode {
		return
	}
	p.entering = true
	for p.inflight > 0 && !c.closed {
		c.cond.Wait()
	}
	topic, part := p.topic.name, p.id
	c.mu.Unlock()
	pi := c.partitionInfo(topic, part)
	c.mu.Lock()
	if pi != nil {
		p.leo = pi.HighWatermark
	}
	p.tailMode = true
	p.entering = false
	c.cond.Broadcast()
}

func (c *Cluster) appendTailLocked(p *partitionState, rt kmsg.ProduceRequestTopic, records []byte, hdr batchHeader, req *kmsg.ProduceRequest, r *partResult, clientID string, node int32) {
	// An idempotent retry of a batch the log already holds (its answer
	// was lost) is answered with its offset, as Kafka's leader does.
	if base, ok := p.loggedLocked(hdr); ok {
		r.resolveLocked(0, base)
		return
	}
	// An idempotent retry of a batch still in the tail is the same batch.
	if hdr.producerID >= 0 {
		for _, tb := range p.tail {
			if tb.hdr.producerID == hdr.producerID && tb.hdr.producerEpoch == hdr.producerEpoch && tb.hdr.sequence == hdr.sequence {
				c.answerTailLocked(p, tb, r, req)
				return
			}
		}
	}
	tb := &tailBatch{
		topicID:  rt.TopicID,
		version:  req.Version,
		txnID:    req.TransactionID,
		acks:     req.Acks,
		records:  records,
		hdr:      hdr,
		base:     p.leo,
		clientID: clientID,
	}
	n := int64(max(hdr.records, 1))
	p.leo += n
	p.tail = append(p.tail, tb)
	c.journal.Add(tb.appendEvent(node, p, n))
	c.answerTailLocked(p, tb, r, req)
	if p.lagTimer == nil && !c.closed {
		c.startLagTimerLocked(p)
	}
}

// answerTailLocked: acks=0/1 are answered now with the leader's offset;
// acks=all waits until the batch is replicated or the request times out.
func (c *Cluster) answerTailLocked(p *partitionState, tb *tailBatch, r *partResult, req *kmsg.ProduceRequest) {
	if req.Acks != -1 {
		r.resolveLocked(0, tb.base)
		return
	}
	tb.waiters = append(tb.waiters, r)
	timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	r.timer = time.AfterFunc(timeout, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !r.done {
			c.journal.Add(Event{Kind: EventProduceRejected, Topic: p.topic.name, Partition: p.id, Acks: -1, Offset: tb.base, Client: tb.clientID, Error: kerr.RequestTimedOut.Message, Detail: "not replicated within the request timeout; the write stays in the leader's log"})
			r.resolveLocked(kerr.RequestTimedOut.Code, -1)
		}
	})
}

// dropTailLocked discards p's un-replicated tail: the acknowledged
// acks=0/1 writes in it are lost, and waiting acks=all requests fail with
// code. The offsets are reused by the next writes, as in Kafka.
func (c *Cluster) dropTailLocked(p *partitionState, code *kerr.Error, why string, journal bool) {
	if journal && len(p.tail) > 0 {
		first := p.tail[0].base
		last := p.tail[len(p.tail)-1]
		c.journal.Add(Event{Kind: EventTruncate, Leader: p.leader, Topic: p.topic.name, Partition: p.id, Offset: first, LastOffset: last.base + int64(max(last.hdr.records, 1)) - 1, Detail: why})
	}
	for _, tb := range p.tail {
		for _, w := range tb.waiters {
			w.resolveLocked(code.Code, -1)
		}
	}
	p.tail = nil
	p.tailMode = false
	p.leo = 0
	p.stopLagTimer()
	c.cond.Broadcast()
}

// noteTxnPartitionLocked remembers that producer pid's open transaction
// wrote to p, so its EndTxn can wait for p's tail (see waitTxnTails).
func (c *Cluster) noteTxnPartitionLocked(pid int64, p *partitionState) {
	ps := c.txnParts[pid]
	if ps == nil {
		ps = map[*partitionState]bool{}
		c.txnParts[pid] = ps
	}
	ps[p] = true
}

// waitTxnTails holds an EndTxn until the partitions its transaction wrote
// to have no un-replicated tail, so that kfake appends the commit or abort
// marker after the data, keeping Kafka's log order. The tails drain when
// replication resumes, when the lagging followers leave the ISR
// (ReplicaLagMax), or when a failover drops them.
func (c *Cluster) waitTxnTails(pid int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.txnParts[pid] {
		for len(p.tail) > 0 && !c.closed {
			c.cond.Wait()
		}
	}
	delete(c.txnParts, pid)
}

// batchRecords decodes a produce batch's records, numbered from base.
func batchRecords(raw []byte, base int64) []RecordValue {
	var b kmsg.RecordBatch
	if err := b.ReadFrom(raw); err != nil {
		return nil
	}
	recs, _ := logread.Records(&b) // what decodes, up to a broken record
	var out []RecordValue
	for _, r := range recs {
		out = append(out, RecordValue{Offset: base + int64(r.OffsetDelta), Key: string(r.Key), Value: string(r.Value)})
	}
	return out
}

func cloneIDs(ids []int32) []int32 { return append([]int32(nil), ids...) }

// appendEvent is the journal's append event for tb, n records acknowledged
// by node from its un-replicated tail of p.
func (tb *tailBatch) appendEvent(node int32, p *partitionState, n int64) Event {
	hdr := tb.hdr
	return Event{
		Kind: EventAppend, Broker: node, Topic: p.topic.name, Partition: p.id,
		Offset: tb.base, LastOffset: tb.base + n - 1, Acks: tb.acks,
		ProducerID: hdr.producerID, ProducerEpoch: hdr.producerEpoch, Sequence: hdr.sequence,
		Transactional: hdr.transactional, Client: tb.clientID, Detail: "un-replicated",
		Records: batchRecords(tb.records, tb.base),
	}
}
