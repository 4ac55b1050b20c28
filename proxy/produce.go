package proxy

import (
	"bytes"

	"github.com/seed73168108/kafkaemu/internal/observe"
	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// routeProduce forwards a produce request and journals what the upstream
// appended, at the offsets its answer gives. An acks=0 request has no
// answer: its appends are journaled as notes without offsets.
func (p *Proxy) routeProduce(cn *wire.Conn, h wire.Header, frame, body []byte) bool {
	kreq, err := wire.DecodeRequest(h, body)
	if err != nil {
		return cn.ForwardPlain(h, frame) // validation decoded it: not reached
	}
	req := kreq.(*kmsg.ProduceRequest)
	src := source(cn, h)
	if req.Acks == 0 {
		for _, rt := range req.Topics {
			name := p.topicName(rt.Topic, rt.TopicID)
			for _, rp := range rt.Partitions {
				b := observe.ParseBatch(rp.Records)
				p.journal.Add(journal.Event{Kind: journal.EventAppend, Broker: src.Broker, Topic: name, Partition: rp.Partition, Offset: -1, LastOffset: -1,
					ProducerID: b.ProducerID, ProducerEpoch: b.ProducerEpoch, Sequence: b.Sequence, Client: src.Client,
					Detail: "acks=0: the broker does not answer, so the offsets are unknown"})
			}
		}
		return cn.Forward(frame, nil)
	}
	keepHeaders(req)
	return cn.ForwardThen(h, frame, func(f []byte) []byte {
		out, ok := p.produceAnswer(src, req, h, f)
		if !ok {
			go cn.Close() // rather than send the client around the proxy
			return nil
		}
		return out
	}) != nil
}

// produceAnswer journals the upstream's answer f to req and returns what
// the client gets: f itself, or f with the new leader a NOT_LEADER answer
// names (v10+, KIP-951) made the proxy's listener. ok is false when that
// listener cannot be had: the client must not see the upstream's address.
// An answer that does not decode passes unchanged (the client cannot
// decode it either).
func (p *Proxy) produceAnswer(src observe.Source, req *kmsg.ProduceRequest, h wire.Header, f []byte) (out []byte, ok bool) {
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = h.Version
	if wire.DecodeResponse(f, resp) != nil {
		return f, true
	}
	p.journalProduce(src, req, resp)
	if len(resp.Brokers) == 0 {
		return f, true
	}
	for i := range resp.Brokers {
		b := &resp.Brokers[i]
		host, port, ok := p.proxied(b.NodeID, b.Host, b.Port)
		if !ok {
			return nil, false
		}
		b.Host, b.Port = host, port
	}
	return wire.EncodeResponse(h.Corr, resp), true
}

// keepHeaders makes req keep only a copy of each partition's batch
// header, all the journal reads of it, so that the request frame it was
// decoded from is not held until the answer comes (the wire layer reuses
// a produce request's frame once it is written upstream).
func keepHeaders(req *kmsg.ProduceRequest) {
	for i := range req.Topics {
		for j := range req.Topics[i].Partitions {
			rp := &req.Topics[i].Partitions[j]
			rp.Records = bytes.Clone(rp.Records[:min(len(rp.Records), observe.BatchHeaderSize)])
		}
	}
}

// appendKey is an idempotent batch: a retry the broker answers from its
// log (the first answer was lost) carries the same key and gets the same
// base offset, and is not a second append.
type appendKey struct {
	topic     string
	partition int32
	pid       int64
	epoch     int16
	seq       int32
}

// maxAppendKeys bounds the idempotent batches remembered (Kafka itself
// deduplicates only the last 5 of each producer and partition).
const maxAppendKeys = 1 << 16

// journalProduce journals a produce answer: an append for each partition
// the upstream accepted, a produce-rejected for each it refused.
func (p *Proxy) journalProduce(src observe.Source, req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) {
	for _, rt := range resp.Topics {
		name := p.topicName(rt.Topic, rt.TopicID)
		for _, rp := range rt.Partitions {
			b := observe.FindBatch(req, rt.Topic, rt.TopicID, rp.Partition)
			if rp.ErrorCode != 0 {
				p.journal.Add(journal.Event{Kind: journal.EventProduceRejected, Broker: src.Broker, Topic: name, Partition: rp.Partition,
					ProducerID: b.ProducerID, ProducerEpoch: b.ProducerEpoch, Sequence: b.Sequence, Client: src.Client, Error: observe.ErrMessage(rp.ErrorCode)})
				continue
			}
			if b.ProducerID >= 0 && p.seenAppend(appendKey{name, rp.Partition, b.ProducerID, b.ProducerEpoch, b.Sequence}, rp.BaseOffset) {
				continue
			}
			p.journal.Add(observe.Append(src, req, name, rp.Partition, b, rp.BaseOffset))
		}
	}
}

// seenAppend reports whether the batch k was journaled at base already,
// and remembers it.
func (p *Proxy) seenAppend(k appendKey, base int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.appended[k]; ok && prev == base {
		return true
	}
	if _, ok := p.appended[k]; !ok {
		p.order = append(p.order, k)
		if len(p.order) > maxAppendKeys {
			delete(p.appended, p.order[0])
			p.order = p.order[1:]
		}
	}
	p.appended[k] = base
	return false
}
