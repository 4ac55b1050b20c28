package harness

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Recorder returns assertion hooks that record what one client does into
// the cluster's client-side History, under name:
//
//	cl := c.Client(t, kgo.WithHooks(c.Recorder("producer")))
func (c *Cluster) Recorder(name string, opts ...assertions.RecorderOpt) *assertions.Recorder {
	return assertions.NewRecorder(c.history, name, opts...)
}

// History is the client-side history every Recorder of this cluster
// fills, with the offset commits the brokers accepted so far. Checking it
// also judges what the cluster's logs hold at that moment
// (assertions.History.SetLogReader), so a write the log holds is never
// reported lost, only unseen or skipped.
func (c *Cluster) History() *assertions.History {
	c.syncCommits()
	return c.history
}

// BrokerHistory builds a History from the broker's side, for programs
// whose client cannot be hooked (sarama, kafka-go, Python, Node through
// the server): what the log stores (read back from every partition), what
// was appended and acknowledged (including acknowledged writes a failover
// dropped), what each connection was served by fetch (one consumer per
// connection, one poll per fetched partition), offset commits and
// transaction outcomes. A fetch is what was served, not what the client
// processed, and read_committed clients filter aborted records after the
// fetch, so G1a is judged only from client-side histories.
func (c *Cluster) BrokerHistory(tb testing.TB) *assertions.History {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := brokerHistoryOf(ctx, c)
	if err != nil {
		tb.Fatalf("kafkaemu: %v", err)
	}
	return h
}

// BrokerHistoryOf is Cluster.BrokerHistory for a cluster started without
// harness (kafkaemu serve's GET /check). It judges the journal in memory:
// with fake.JournalLimit, only the events not dropped.
func BrokerHistoryOf(ctx context.Context, c *fake.Cluster) (*assertions.History, error) {
	return brokerHistoryOf(ctx, c)
}

// logSource is a cluster whose journal and logs a broker-side history is
// built from: a fake.Cluster, or a harness Cluster (the emulator's, or a
// real cluster's behind the proxy).
type logSource interface {
	Journal() []fake.Event
	Topics() []string
	Partition(topic string, partition int32) (fake.PartitionState, error)
	PartitionLog(ctx context.Context, topic string, partition int32) ([]fake.LogRecord, error)
}

func brokerHistoryOf(ctx context.Context, c logSource) (*assertions.History, error) {
	parts := partitionsOf(c)
	log, err := readLog(ctx, c, parts)
	if err != nil {
		return nil, err
	}
	h := assertions.NewHistory()
	openTxn := map[int64]bool{}
	for _, e := range c.Journal() {
		switch e.Kind {
		case fake.EventAppend:
			if e.Detail != "" && e.Detail != "un-replicated" {
				continue // a note about an append, not one
			}
			if e.Detail == "un-replicated" && e.Acks == -1 {
				continue // acknowledged only once replicated: it is in the log then
			}
			producer := e.Client
			if e.Transactional {
				producer = fmt.Sprint("pid ", e.ProducerID)
			}
			if len(e.Records) > 0 {
				for _, r := range e.Records {
					h.Send(producer, e.Topic, r.Key, r.Value)
					h.Ack(producer, e.Topic, e.Partition, r.Offset, r.Key, r.Value)
				}
				continue
			}
			for o := e.Offset; o <= e.LastOffset; o++ {
				if r, ok := log[tpo{e.Topic, e.Partition, o}]; ok {
					h.Send(producer, e.Topic, string(r.Key), string(r.Value))
					h.Ack(producer, e.Topic, e.Partition, o, string(r.Key), string(r.Value))
				}
			}
		case fake.EventTxnBegin:
			openTxn[e.ProducerID] = true
			h.BeginTxn(fmt.Sprint("pid ", e.ProducerID))
		case fake.EventTxnEnd:
			if openTxn[e.ProducerID] {
				delete(openTxn, e.ProducerID)
				h.EndTxn(fmt.Sprint("pid ", e.ProducerID), e.Committed)
			}
		case fake.EventFetch:
			var rs []assertions.Record
			for o := e.Offset; o <= e.LastOffset; o++ {
				if r, ok := log[tpo{e.Topic, e.Partition, o}]; ok {
					rs = append(rs, assertions.Record{Topic: e.Topic, Partition: e.Partition, Offset: o, Key: string(r.Key), Value: string(r.Value)})
				}
			}
			h.Poll(e.Conn, "", 0, false, rs)
		case fake.EventOffsetCommit:
			if e.Error == "" {
				h.Commit(e.Group, e.Client, 0, e.Topic, e.Partition, e.Offset)
			}
		}
	}
	for k, r := range log {
		h.Stored(k.topic, k.part, k.off, string(r.Key), string(r.Value))
	}
	// Retention and DeleteRecords removed what lies below each log start:
	// deleted, not lost.
	for _, st := range parts {
		if st.LogStartOffset > 0 {
			h.Deleted(st.Topic, st.Partition, st.LogStartOffset)
		}
	}
	return h, nil
}

// ReadLog reads back every record the cluster stores (read_uncommitted,
// from each partition's log start), in topic, partition, offset order.
func (c *Cluster) ReadLog(tb testing.TB) []*kgo.Record {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log, err := readLog(ctx, c, partitionsOf(c))
	if err != nil {
		tb.Fatalf("kafkaemu: %v", err)
	}
	var out []*kgo.Record
	for _, r := range log {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *kgo.Record) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	return out
}

// partitionsOf is a snapshot of every partition of every topic of c.
func partitionsOf(c logSource) []fake.PartitionState {
	var out []fake.PartitionState
	for _, t := range c.Topics() {
		for p := int32(0); ; p++ {
			st, err := c.Partition(t, p)
			if err != nil {
				break
			}
			out = append(out, st)
		}
	}
	return out
}

// tpo is a record's place.
type tpo struct {
	topic string
	part  int32
	off   int64
}

// readLog reads every record of parts back from the cluster's logs. It
// reads inside the process (fake.Cluster.PartitionLog), so the journal does
// not show the read-back as a consumer's fetch.
func readLog(ctx context.Context, c logSource, parts []fake.PartitionState) (map[tpo]*kgo.Record, error) {
	out := map[tpo]*kgo.Record{}
	for _, st := range parts {
		if st.HighWatermark <= st.LogStartOffset {
			continue
		}
		recs, err := c.PartitionLog(ctx, st.Topic, st.Partition)
		if err != nil {
			return nil, fmt.Errorf("reading the log back: %w", err)
		}
		for _, r := range recs {
			out[tpo{st.Topic, st.Partition, r.Offset}] = &kgo.Record{
				Topic: st.Topic, Partition: st.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value,
				Headers: r.Headers, Timestamp: r.Timestamp, ProducerID: r.ProducerID, ProducerEpoch: r.ProducerEpoch,
			}
		}
	}
	return out, nil
}
