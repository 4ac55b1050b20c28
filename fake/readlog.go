package fake

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed73168108/kafkaemu/internal/logread"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LogRecord is one record of a partition's log, as PartitionLog returns it
// (internal/logread.Record, shared with the fault proxy).
type LogRecord = logread.Record

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
	out, err := logread.Read(ctx, func(_ context.Context, at int64) (*kmsg.FetchResponseTopicPartition, error) {
		leader := int32(-1)
		if !c.onKfake(func(kf *kfake.Cluster) { leader = kf.LeaderFor(topic, partition) }) {
			return nil, errClosed
		}
		return c.fetchLog(leader, topic, partition, at)
	})
	if err != nil {
		if errors.Is(err, errClosed) {
			return out, err
		}
		return out, fmt.Errorf("PartitionLog(%q, %d): %w", topic, partition, err)
	}
	return out, nil
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
