package assertions

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Recorder is a set of franz-go hooks that fills a History from one
// client: kgo.WithHooks(rec). It records sends, acknowledgements and
// failures, and every polled record with the consumer's generation and
// isolation level. Transactions and commits are not visible to hooks:
// call BeginTxn/EndTxn and Commit around the client's own calls (or use
// EndTransaction and CommitRecords). With Processing it records what the
// application processed (Processed) instead of what the client polled.
type Recorder struct {
	h        *History
	name     string
	valueID  func(*kgo.Record) string
	customID bool // set by ValueID
	mu       sync.Mutex
	cl       *kgo.Client
	group    string
	readComm bool
	noAcks   bool // acks=0: the client learns no offsets
	// processing: polls are not recorded; the application reports what
	// it processed (Processing, Processed).
	processing bool
}

// RecorderOpt configures a Recorder.
type RecorderOpt func(*Recorder)

// ValueID sets how a record's identity is derived (default: its value as
// a string). Use it when values are not unique, e.g. a header or key plus
// a sequence number.
func ValueID(fn func(*kgo.Record) string) RecorderOpt {
	return func(r *Recorder) { r.valueID, r.customID = fn, true }
}

// HeaderID identifies records by the value of header key.
func HeaderID(key string) RecorderOpt {
	return ValueID(func(r *kgo.Record) string {
		for _, h := range r.Headers {
			if h.Key == key {
				return string(h.Value)
			}
		}
		return string(r.Value)
	})
}

// NewRecorder returns hooks that record into h as name (a producer's or
// consumer's name in reports).
func NewRecorder(h *History, name string, opts ...RecorderOpt) *Recorder {
	r := &Recorder{h: h, name: name, valueID: func(rec *kgo.Record) string { return string(rec.Value) }}
	for _, o := range opts {
		o(r)
	}
	h.noteIdentity(r.customID, r.valueID)
	return r
}

// History is the history the recorder fills.
func (r *Recorder) History() *History { return r.h }

// OnNewClient implements kgo.HookNewClient.
func (r *Recorder) OnNewClient(cl *kgo.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cl = cl
	if g, ok := cl.OptValue(kgo.ConsumerGroup).(string); ok {
		r.group = g
	}
	if lvl, ok := cl.OptValue(kgo.FetchIsolationLevel).(kgo.IsolationLevel); ok {
		r.readComm = lvl == kgo.ReadCommitted()
	}
	if acks, ok := cl.OptValue(kgo.RequiredAcks).(kgo.Acks); ok {
		r.noAcks = acks == kgo.NoAck()
	}
}

// OnProduceRecordBuffered implements kgo.HookProduceRecordBuffered.
func (r *Recorder) OnProduceRecordBuffered(rec *kgo.Record) {
	r.h.Send(r.name, rec.Topic, string(rec.Key), r.valueID(rec))
}

// OnProduceRecordUnbuffered implements kgo.HookProduceRecordUnbuffered.
func (r *Recorder) OnProduceRecordUnbuffered(rec *kgo.Record, err error) {
	id := r.valueID(rec)
	switch {
	case err == nil:
		r.mu.Lock()
		off := rec.Offset
		if r.noAcks {
			off = -1 // acks=0: the broker never said where it wrote
		}
		r.mu.Unlock()
		r.h.Ack(r.name, rec.Topic, rec.Partition, off, string(rec.Key), id)
	case uncertain(err):
		r.h.Unknown(r.name, rec.Topic, string(rec.Key), id, err)
	default:
		r.h.Fail(r.name, rec.Topic, string(rec.Key), id, err)
	}
}

// uncertain: the request may have been applied even though it failed.
func uncertain(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, kgo.ErrRecordTimeout) || errors.Is(err, kerr.RequestTimedOut) ||
		errors.Is(err, kerr.NotEnoughReplicasAfterAppend)
}

// OnFetchRecordUnbuffered implements kgo.HookFetchRecordUnbuffered: every
// polled record is recorded. Hooks do not see poll boundaries, so these
// polls have Poll 0; use History.Poll for the int-* anomalies.
func (r *Recorder) OnFetchRecordUnbuffered(rec *kgo.Record, polled bool) {
	if !polled || r.processing {
		return
	}
	group, gen, rc := r.consumerState()
	r.h.add(Event{Op: OpPoll, Consumer: r.name, Group: group, Generation: gen, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: string(rec.Key), Value: r.valueID(rec), ReadCommitted: rc})
}

// BeginTxn begins a transaction on cl and records it.
func (r *Recorder) BeginTxn(cl *kgo.Client) error {
	if err := cl.BeginTransaction(); err != nil {
		return err
	}
	r.h.BeginTxn(r.name)
	return nil
}

// EndTransaction ends cl's transaction and records how it ended (an
// attempted commit that failed is recorded as an abort).
func (r *Recorder) EndTransaction(ctx context.Context, cl *kgo.Client, commit kgo.TransactionEndTry) error {
	r.h.EndingTxn(r.name)
	err := cl.EndTransaction(ctx, commit)
	r.h.EndTxn(r.name, bool(commit) && err == nil)
	return err
}

// CommitRecords commits rs on cl and records the committed offsets.
func (r *Recorder) CommitRecords(ctx context.Context, cl *kgo.Client, rs ...*kgo.Record) error {
	if err := cl.CommitRecords(ctx, rs...); err != nil {
		return err
	}
	_, gen := cl.GroupMetadata()
	next := map[[2]any]int64{}
	for _, rec := range rs {
		k := [2]any{rec.Topic, rec.Partition}
		if rec.Offset+1 > next[k] {
			next[k] = rec.Offset + 1
		}
	}
	r.mu.Lock()
	group := r.group
	r.mu.Unlock()
	for k, o := range next {
		r.h.Commit(group, r.name, gen, k[0].(string), k[1].(int32), o)
	}
	return nil
}

// OnAssigned records partitions assigned to the client; call it from
// kgo.OnPartitionsAssigned.
func (r *Recorder) OnAssigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	_, gen := cl.GroupMetadata()
	for t, ps := range assigned {
		r.h.Assigned(r.name, r.group, gen, t, ps...)
	}
}

// OnRevoked records partitions revoked from (or lost by) the client; call
// it from kgo.OnPartitionsRevoked and kgo.OnPartitionsLost.
func (r *Recorder) OnRevoked(_ context.Context, cl *kgo.Client, revoked map[string][]int32) {
	_, gen := cl.GroupMetadata()
	for t, ps := range revoked {
		r.h.Revoked(r.name, r.group, gen, t, ps...)
	}
}

var (
	_ kgo.HookNewClient               = (*Recorder)(nil)
	_ kgo.HookProduceRecordBuffered   = (*Recorder)(nil)
	_ kgo.HookProduceRecordUnbuffered = (*Recorder)(nil)
	_ kgo.HookFetchRecordUnbuffered   = (*Recorder)(nil)
)

// consumerState is the recorded client's group, its generation now and
// whether it reads committed records only.
func (r *Recorder) consumerState() (group string, gen int32, readCommitted bool) {
	r.mu.Lock()
	cl, group, rc := r.cl, r.group, r.readComm
	r.mu.Unlock()
	if cl != nil && group != "" {
		_, gen = cl.GroupMetadata()
	}
	return group, gen, rc
}
