package fake

import (
	"encoding/binary"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A fenced broker (Isolate, after the broker session timeout) still
// answers clients from its own log and its stale view: it believes it
// leads the partitions it led, its high watermark is where its followers
// left it, and it knows no epoch after its own. kfake has moved those
// partitions to their new leaders, so fake answers the fenced broker's
// reads itself: the records below its high watermark come from kfake's
// log (the prefix both leaders share), nothing past it.

// routeFenced answers the reads a fenced broker serves from its own log
// (Fetch, ListOffsets, OffsetForLeaderEpoch). It reports whether it
// handled the request and whether the connection lives on.
func (c *Cluster) routeFenced(cn *conn, h reqHeader, body []byte) (handled, alive bool) {
	switch kmsg.Key(h.Key) {
	case kmsg.Fetch, kmsg.ListOffsets, kmsg.OffsetForLeaderEpoch:
	default:
		return false, false
	}
	c.mu.Lock()
	b := c.brokers[cn.Node()]
	fenced := b != nil && b.fenced
	c.mu.Unlock()
	if !fenced {
		return false, false
	}
	kreq, err := decodeRequest(h, body)
	if err != nil {
		return false, false
	}
	s := newSlot(h)
	if !cn.Respond(s) {
		return true, false
	}
	var resp kmsg.Response
	switch r := kreq.(type) {
	case *kmsg.FetchRequest:
		fr := c.fencedFetch(cn, r)
		if fr == nil {
			return true, false // the connection closed while the fetch waited
		}
		f := encodeResponse(h.Corr, fr)
		c.observeFetch(cn, h, body)(f)
		s.Fill(f)
		return true, true
	case *kmsg.ListOffsetsRequest:
		resp = c.fencedListOffsets(cn.Node(), r)
	case *kmsg.OffsetForLeaderEpochRequest:
		resp = c.fencedEpochEnds(cn.Node(), r)
	}
	s.Fill(encodeResponse(h.Corr, resp))
	return true, true
}

// staleFor is the stale lead node holds on topic/partition, with its
// kfake leader, or an error code for the partition.
func (c *Cluster) staleFor(node int32, topic string, partition int32, epoch int32) (*partitionState, staleLead, int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.lookupLocked(topic, partition)
	switch {
	case p == nil:
		return nil, staleLead{}, kerr.UnknownTopicOrPartition.Code
	case !c.staleLeadsLocked(p, node):
		return nil, staleLead{}, kerr.NotLeaderForPartition.Code
	case epoch >= 0 && epoch < p.stale[node].epoch:
		return nil, staleLead{}, kerr.FencedLeaderEpoch.Code
	case epoch > p.stale[node].epoch:
		// The client knows a newer epoch than this broker does.
		return nil, staleLead{}, kerr.UnknownLeaderEpoch.Code
	}
	return p, *p.stale[node], 0
}

// epochSince is a request's CurrentLeaderEpoch, or -1 (none) before the
// version that added it.
func epochSince(version, since int16, epoch int32) int32 {
	if version < since {
		return -1
	}
	return epoch
}

func (c *Cluster) kfakeLeader(topic string, partition int32) int32 {
	leader := int32(-1)
	c.onKfake(func(kf *kfake.Cluster) { leader = kf.LeaderFor(topic, partition) })
	return leader
}

// fencedFetch answers a fetch on a fenced broker: what its log holds below
// its high watermark. A fetch that finds nothing waits MaxWaitMillis, as
// a broker whose high watermark does not move makes it wait. It drops any
// fetch session (an incremental fetch is told FETCH_SESSION_ID_NOT_FOUND
// and the client starts over with a full one). nil: the connection
// closed while waiting.
func (c *Cluster) fencedFetch(cn *conn, req *kmsg.FetchRequest) *kmsg.FetchResponse {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if req.SessionID > 0 && req.SessionEpoch > 0 {
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return resp
	}
	served := false
	for _, rt := range req.Topics {
		name := rt.Topic
		if req.Version >= 13 {
			name = c.topicName("", rt.TopicID)
		}
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			p, s, code := c.staleFor(cn.Node(), name, rp.Partition, epochSince(req.Version, 9, rp.CurrentLeaderEpoch))
			if code == 0 && rp.FetchOffset > s.leo {
				code = kerr.OffsetOutOfRange.Code
			}
			if code == 0 {
				code = c.fetchBelow(&sp, p, s, req.IsolationLevel, rp.FetchOffset, rp.PartitionMaxBytes)
			}
			sp.ErrorCode = code
			served = served || len(sp.RecordBatches) > 0 || code != 0
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if !served && req.MaxWaitMillis > 0 {
		t := time.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-cn.Done():
			return nil
		}
	}
	return resp
}

// fetchBelow fills sp from kfake's log at offset, keeping only what lies
// below the fenced broker's high watermark.
func (c *Cluster) fetchBelow(sp *kmsg.FetchResponseTopicPartition, p *partitionState, s staleLead, isolation int8, offset int64, maxBytes int32) int16 {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12 // the last version that names topics
	req.ReplicaID = -1
	req.IsolationLevel = isolation
	req.MaxBytes = max(maxBytes, 1)
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = p.topic.name
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = p.id
	rp.FetchOffset = min(offset, s.hw)
	rp.PartitionMaxBytes = max(maxBytes, 1)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kresp, err := c.request(c.kfakeLeader(p.topic.name, p.id), req)
	if err != nil {
		return kerr.NotLeaderForPartition.Code
	}
	r := kresp.(*kmsg.FetchResponse)
	if r.ErrorCode != 0 {
		return r.ErrorCode
	}
	for _, t := range r.Topics {
		for _, kp := range t.Partitions {
			if kp.Partition != p.id {
				continue
			}
			if kp.ErrorCode != 0 {
				return kp.ErrorCode
			}
			sp.HighWatermark = s.hw
			sp.LastStableOffset = min(kp.LastStableOffset, s.hw)
			sp.LogStartOffset = kp.LogStartOffset
			if offset < s.hw {
				sp.RecordBatches = batchesBelow(kp.RecordBatches, s.hw)
				for _, a := range kp.AbortedTransactions {
					if a.FirstOffset < s.hw {
						sp.AbortedTransactions = append(sp.AbortedTransactions, kmsg.FetchResponseTopicPartitionAbortedTransaction{ProducerID: a.ProducerID, FirstOffset: a.FirstOffset})
					}
				}
			}
			return 0
		}
	}
	return kerr.NotLeaderForPartition.Code
}

// batchesBelow keeps the whole record batches of b that start below end.
func batchesBelow(b []byte, end int64) []byte {
	n := 0
	for rest := b; len(rest) >= 12; {
		size := 12 + int(binary.BigEndian.Uint32(rest[8:12]))
		if size < 12 || size > len(rest) || int64(binary.BigEndian.Uint64(rest[0:8])) >= end {
			break
		}
		n += size
		rest = rest[size:]
	}
	return b[:n]
}

// fencedListOffsets answers ListOffsets on a fenced broker: its latest
// offset is its own high watermark.
func (c *Cluster) fencedListOffsets(node int32, req *kmsg.ListOffsetsRequest) *kmsg.ListOffsetsResponse {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
			p, s, code := c.staleFor(node, rt.Topic, rp.Partition, epochSince(req.Version, 4, rp.CurrentLeaderEpoch))
			if code == 0 {
				code = c.listBelow(&sp, p, s, req.IsolationLevel, rp.Timestamp)
			}
			sp.ErrorCode = code
			if req.Version == 0 && code == 0 {
				sp.OldStyleOffsets = []int64{sp.Offset}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// listBelow asks kfake's log for the offset at timestamp and keeps it
// below the fenced broker's high watermark.
func (c *Cluster) listBelow(sp *kmsg.ListOffsetsResponseTopicPartition, p *partitionState, s staleLead, isolation int8, ts int64) int16 {
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 7
	req.ReplicaID = -1
	req.IsolationLevel = isolation
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = p.topic.name
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p.id, ts, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kresp, err := c.request(c.kfakeLeader(p.topic.name, p.id), req)
	if err != nil {
		return kerr.NotLeaderForPartition.Code
	}
	for _, t := range kresp.(*kmsg.ListOffsetsResponse).Topics {
		for _, kp := range t.Partitions {
			if kp.Partition != p.id {
				continue
			}
			if kp.ErrorCode != 0 {
				return kp.ErrorCode
			}
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = kp.Timestamp, kp.Offset, s.epoch
			switch {
			case ts == -1: // latest: the high watermark (or the last stable offset, read_committed)
				sp.Offset = min(kp.Offset, s.hw)
			case kp.Offset >= s.hw: // found only in the new leader's log
				sp.Timestamp, sp.Offset = -1, -1
			}
			return 0
		}
	}
	return kerr.NotLeaderForPartition.Code
}

// fencedEpochEnds answers OffsetForLeaderEpoch on a fenced broker from its
// own epoch history: its last epoch ends at its own log end.
func (c *Cluster) fencedEpochEnds(node int32, req *kmsg.OffsetForLeaderEpochRequest) *kmsg.OffsetForLeaderEpochResponse {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = -1, -1
			_, s, code := c.staleFor(node, rt.Topic, rp.Partition, epochSince(req.Version, 2, rp.CurrentLeaderEpoch))
			if code == 0 {
				own := &partitionState{epoch: s.epoch, epochs: s.epochs}
				sp.LeaderEpoch, sp.EndOffset = own.endOffsetFor(rp.LeaderEpoch, s.leo)
			}
			sp.ErrorCode = code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// offlineNodesLocked are the brokers kfake refuses an offline partition's
// reads and writes on: all of them, except the fenced brokers that still
// believe they lead it (they answer from their own logs; see
// routeFenced). nil is every broker.
func (c *Cluster) offlineNodesLocked(p *partitionState) []int32 {
	if len(p.stale) == 0 {
		return nil
	}
	var nodes []int32
	for _, id := range c.brokerIDsLocked() {
		if p.stale[id] == nil {
			nodes = append(nodes, id)
		}
	}
	return nodes
}
