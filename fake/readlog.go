package fake

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LogRecord is one record of a partition's log, as PartitionLog returns it.
type LogRecord struct {
	Offset        int64
	Key, Value    []byte
	Headers       []kgo.RecordHeader
	Timestamp     time.Time
	ProducerID    int64
	ProducerEpoch int16
	Transactional bool
	// Aborted marks a record of a transaction whose abort marker follows
	// it in the log. A record of a transaction still open is not aborted.
	Aborted bool
}

// PartitionLog returns the records of topic/partition's replicated log, from
// its log start to its high watermark, in offset order: what a
// read_uncommitted consumer would read, with transaction markers left out
// and aborted records marked. The un-replicated tail is not in it.
//
// It reads inside the process, through no client connection: network
// faults and down brokers do not stand in its way, and the journal does
// not show it as a fetch, so reading the log back never looks like a
// consumer.
func (c *Cluster) PartitionLog(ctx context.Context, topic string, partition int32) ([]LogRecord, error) {
	if _, err := c.partition(topic, partition); err != nil {
		return nil, fmt.Errorf("PartitionLog(%q, %d): %w", topic, partition, err)
	}
	var out []LogRecord
	pending := map[int64][]int{} // producer id -> its open transaction's records in out
	var at int64 = -1
	for {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("PartitionLog(%q, %d): %w", topic, partition, err)
		}
		leader := int32(-1)
		if !c.onKfake(func(kf *kfake.Cluster) { leader = kf.LeaderFor(topic, partition) }) {
			return out, errClosed
		}
		resp, err := c.fetchLog(leader, topic, partition, at)
		if err != nil {
			return out, fmt.Errorf("PartitionLog(%q, %d): %w", topic, partition, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			if err == kerr.NotLeaderForPartition {
				continue // kfake's leader moved meanwhile
			}
			if err == kerr.OffsetOutOfRange && at >= 0 && at < resp.LogStartOffset {
				at = resp.LogStartOffset // deleted meanwhile
				continue
			}
			return out, fmt.Errorf("PartitionLog(%q, %d) at offset %d: %w", topic, partition, at, err)
		}
		if at < 0 {
			at = resp.LogStartOffset
		}
		if at >= resp.HighWatermark {
			return out, nil
		}
		next, err := appendBatches(&out, pending, resp.RecordBatches, at)
		if err != nil {
			return out, fmt.Errorf("PartitionLog(%q, %d) at offset %d: %w", topic, partition, at, err)
		}
		if next <= at {
			return out, fmt.Errorf("PartitionLog(%q, %d): no records at offset %d below the high watermark %d", topic, partition, at, resp.HighWatermark)
		}
		at = next
	}
}

// LastStableOffset returns topic/partition's last stable offset: the first
// offset of the oldest transaction still open on it, or its high watermark
// when none is. A read_committed consumer reads only below it, so a
// transaction left open (its producer crashed) holds those consumers until
// the transaction coordinator aborts it after the producer's
// transaction.timeout.ms. Like PartitionLog it asks the leader inside the
// process, past network faults.
func (c *Cluster) LastStableOffset(topic string, partition int32) (int64, error) {
	if _, err := c.partition(topic, partition); err != nil {
		return 0, fmt.Errorf("LastStableOffset(%q, %d): %w", topic, partition, err)
	}
	for {
		leader := int32(-1)
		if !c.onKfake(func(kf *kfake.Cluster) { leader = kf.LeaderFor(topic, partition) }) {
			return 0, errClosed
		}
		st, err := c.Partition(topic, partition)
		if err != nil {
			return 0, fmt.Errorf("LastStableOffset(%q, %d): %w", topic, partition, err)
		}
		// At the high watermark, so that no records come back.
		resp, err := c.fetchLog(leader, topic, partition, st.HighWatermark)
		if err != nil {
			return 0, fmt.Errorf("LastStableOffset(%q, %d): %w", topic, partition, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			if err == kerr.NotLeaderForPartition || err == kerr.OffsetOutOfRange {
				continue // kfake's leader or the high watermark moved meanwhile
			}
			return 0, fmt.Errorf("LastStableOffset(%q, %d): %w", topic, partition, err)
		}
		return resp.LastStableOffset, nil
	}
}

// fetchLog fetches topic/partition from offset at (-1: the log start
// first; the answer's LogStartOffset says where that is) on broker id.
func (c *Cluster) fetchLog(id int32, topic string, partition int32, at int64) (*kmsg.FetchResponseTopicPartition, error) {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12 // the last version that names topics
	req.ReplicaID = -1
	req.MaxBytes = 64 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.FetchOffset = max(at, 0)
	rp.PartitionMaxBytes = 64 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kresp, err := c.request(id, req)
	if err != nil {
		return nil, err
	}
	resp := kresp.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, err
	}
	for _, t := range resp.Topics {
		for i := range t.Partitions {
			if p := &t.Partitions[i]; t.Topic == topic && p.Partition == partition {
				if at < 0 && p.ErrorCode == kerr.OffsetOutOfRange.Code {
					// Offset 0 was deleted: fetch from the log start.
					return c.fetchLog(id, topic, partition, p.LogStartOffset)
				}
				return p, nil
			}
		}
	}
	return nil, fmt.Errorf("broker %d answered the fetch without the partition", id)
}

// appendBatches decodes record batches into out, from offset from on, and
// returns the offset after the last batch. pending tracks each producer's
// open transaction, whose records an abort marker marks aborted.
func appendBatches(out *[]LogRecord, pending map[int64][]int, b []byte, from int64) (int64, error) {
	next := from
	for len(b) >= 12 {
		size := 12 + int(int32(binary.BigEndian.Uint32(b[8:12])))
		if size < 61 || size > len(b) {
			break // a partial batch at the end of the answer
		}
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(b[:size]); err != nil {
			return next, fmt.Errorf("decoding a record batch: %w", err)
		}
		b = b[size:]
		end := batch.FirstOffset + int64(batch.LastOffsetDelta) + 1
		if end <= next {
			continue // before the offset asked for
		}
		next = end
		txn := batch.Attributes&0x10 != 0
		if batch.Attributes&0x20 != 0 { // a transaction marker
			recs, err := batchKmsgRecords(&batch)
			if err != nil {
				return next, err
			}
			if len(recs) > 0 && len(recs[0].Key) >= 4 && binary.BigEndian.Uint16(recs[0].Key[2:4]) == 0 {
				for _, i := range pending[batch.ProducerID] {
					(*out)[i].Aborted = true
				}
			}
			delete(pending, batch.ProducerID)
			continue
		}
		recs, err := batchKmsgRecords(&batch)
		if err != nil {
			return next, err
		}
		for _, r := range recs {
			off := batch.FirstOffset + int64(r.OffsetDelta)
			if off < from {
				continue
			}
			if txn {
				pending[batch.ProducerID] = append(pending[batch.ProducerID], len(*out))
			}
			lr := LogRecord{
				Offset: off, Key: r.Key, Value: r.Value,
				Timestamp:  time.UnixMilli(batch.FirstTimestamp + r.TimestampDelta64),
				ProducerID: batch.ProducerID, ProducerEpoch: batch.ProducerEpoch, Transactional: txn,
			}
			for _, h := range r.Headers {
				lr.Headers = append(lr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
			}
			*out = append(*out, lr)
		}
	}
	return next, nil
}

// batchKmsgRecords decompresses and decodes a batch's records.
func batchKmsgRecords(b *kmsg.RecordBatch) ([]kmsg.Record, error) {
	data, err := decompressor.Decompress(b.Records, kgo.CompressionCodecType(b.Attributes&0x7))
	if err != nil {
		return nil, fmt.Errorf("decompressing a record batch: %w", err)
	}
	var out []kmsg.Record
	for len(data) > 0 {
		l, n := binary.Varint(data)
		if n <= 0 || l < 0 || int(l) > len(data)-n {
			return out, fmt.Errorf("a record of batch at offset %d is cut short", b.FirstOffset)
		}
		var r kmsg.Record
		if err := r.ReadFrom(data[:n+int(l)]); err != nil {
			return out, fmt.Errorf("decoding a record of batch at offset %d: %w", b.FirstOffset, err)
		}
		data = data[n+int(l):]
		out = append(out, r)
	}
	return out, nil
}
