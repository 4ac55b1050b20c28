package logread

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one record of a partition's log.
type Record struct {
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

// Fetcher fetches the partition from offset at (-1: from its log start;
// the answer's LogStartOffset says where that is) from its leader. An
// error code in the answer is the answer's, not an error.
type Fetcher func(ctx context.Context, at int64) (*kmsg.FetchResponseTopicPartition, error)

// Read returns the records from the log start to the high watermark, in
// offset order. A NOT_LEADER answer is retried (the leader moved
// meanwhile); an offset deleted meanwhile is skipped to the log start.
func Read(ctx context.Context, fetch Fetcher) ([]Record, error) {
	var out []Record
	pending := map[int64][]int{} // producer id -> its open transaction's records in out
	var at int64 = -1
	for {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		resp, err := fetch(ctx, at)
		if err != nil {
			return out, err
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			if errors.Is(err, kerr.NotLeaderForPartition) {
				continue // the leader moved meanwhile
			}
			if errors.Is(err, kerr.OffsetOutOfRange) && at >= 0 && at < resp.LogStartOffset {
				at = resp.LogStartOffset // deleted meanwhile
				continue
			}
			return out, fmt.Errorf("at offset %d: %w", at, err)
		}
		if at < 0 {
			at = resp.LogStartOffset
		}
		if at >= resp.HighWatermark {
			return out, nil
		}
		next, err := appendBatches(&out, pending, resp.RecordBatches, at)
		if err != nil {
			return out, fmt.Errorf("at offset %d: %w", at, err)
		}
		if next <= at {
			return out, fmt.Errorf("no records at offset %d below the high watermark %d", at, resp.HighWatermark)
		}
		at = next
	}
}

// appendBatches decodes record batches into out, from offset from on, and
// returns the offset after the last batch. pending tracks each producer's
// open transaction, whose records an abort marker marks aborted.
func appendBatches(out *[]Record, pending map[int64][]int, b []byte, from int64) (int64, error) {
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
			recs, err := Records(&batch)
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
		recs, err := Records(&batch)
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
			lr := Record{
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

var decompressor = kgo.DefaultDecompressor()

// Records decompresses and decodes a batch's records.
func Records(b *kmsg.RecordBatch) ([]kmsg.Record, error) {
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
