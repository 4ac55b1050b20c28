package observe

import (
	"encoding/binary"
	"fmt"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Source is where a request came from and went.
type Source struct {
	Broker int32  // the broker it was sent to
	Client string // the request header's client id
	Conn   string // the client's address (host:port)
}

// TopicName resolves a topic given by name or, in newer requests, by id
// ("" when the id is unknown).
type TopicName func(name string, id [16]byte) string

// ErrMessage is Kafka's name and text for an error code ("" for none).
func ErrMessage(code int16) string {
	if e := kerr.ErrorForCode(code); e != nil {
		return e.Error()
	}
	return ""
}

// Batch is what the journal needs from a record batch's header.
type Batch struct {
	ProducerID    int64
	ProducerEpoch int16
	Sequence      int32
	Records       int32
	Transactional bool
	Control       bool
	OK            bool // the header was there to read
}

// BatchHeaderSize is the size of a v2 record batch's header: all
// ParseBatch reads.
const BatchHeaderSize = 61

// ParseBatch reads the header of the v2 record batch b begins with.
func ParseBatch(b []byte) Batch {
	if len(b) < BatchHeaderSize {
		return Batch{ProducerID: -1}
	}
	attrs := int16(binary.BigEndian.Uint16(b[21:23]))
	return Batch{
		ProducerID:    int64(binary.BigEndian.Uint64(b[43:51])),
		ProducerEpoch: int16(binary.BigEndian.Uint16(b[51:53])),
		Sequence:      int32(binary.BigEndian.Uint32(b[53:57])),
		Records:       int32(binary.BigEndian.Uint32(b[57:61])),
		Transactional: attrs&0x10 != 0,
		Control:       attrs&0x20 != 0,
		OK:            true,
	}
}

// FindBatch is the header of the batch req sends to a partition.
func FindBatch(req *kmsg.ProduceRequest, topic string, id [16]byte, part int32) Batch {
	for _, rt := range req.Topics {
		if rt.Topic != topic || rt.TopicID != id {
			continue
		}
		for _, rp := range rt.Partitions {
			if rp.Partition == part {
				return ParseBatch(rp.Records)
			}
		}
	}
	return Batch{ProducerID: -1}
}

// Append is the append event of one partition a produce request wrote at
// base: the batch's offsets, acks and producer.
func Append(src Source, req *kmsg.ProduceRequest, topic string, partition int32, b Batch, base int64) journal.Event {
	return journal.Event{
		Kind: journal.EventAppend, Broker: src.Broker, Topic: topic, Partition: partition,
		Offset: base, LastOffset: base + int64(b.Records) - 1,
		Acks: req.Acks, ProducerID: b.ProducerID, ProducerEpoch: b.ProducerEpoch,
		Sequence: b.Sequence, Transactional: b.Transactional, Client: src.Client,
	}
}

// FetchIsolation reads a Fetch request's isolation level without decoding
// the request: it follows ReplicaID (before v15), MaxWaitMillis, MinBytes
// and MaxBytes. Versions before 4 have none (read_uncommitted).
func FetchIsolation(version int16, body []byte) int8 {
	at := 16
	switch {
	case version < 4:
		return 0
	case version >= 15:
		at = 12
	}
	if len(body) <= at {
		return 0
	}
	return int8(body[at])
}

// BatchRange is the first and last offset of the record batches in b.
func BatchRange(b []byte) (first, last int64, ok bool) {
	for len(b) >= 61 {
		base := int64(binary.BigEndian.Uint64(b[0:8]))
		length := int(int32(binary.BigEndian.Uint32(b[8:12])))
		lastDelta := int64(int32(binary.BigEndian.Uint32(b[23:27])))
		if !ok {
			first, ok = base, true
		}
		last = base + lastDelta
		if 12+length > len(b) || length <= 0 {
			break
		}
		b = b[12+length:]
	}
	return first, last, ok
}

// Fetches are the fetch events of a Fetch answer: the record range each
// partition served (none for errors or empty partitions).
func Fetches(src Source, resp *kmsg.FetchResponse, readCommitted bool, name TopicName) []journal.Event {
	var evs []journal.Event
	for _, t := range resp.Topics {
		topic := t.Topic
		if resp.Version >= 13 {
			topic = name("", t.TopicID)
		}
		for _, p := range t.Partitions {
			first, last, ok := BatchRange(p.RecordBatches)
			if !ok || p.ErrorCode != 0 {
				continue
			}
			evs = append(evs, journal.Event{Kind: journal.EventFetch, Broker: src.Broker, Topic: topic, Partition: p.Partition, Offset: first, LastOffset: last, Client: src.Client, Conn: src.Conn, ReadCommitted: readCommitted})
		}
	}
	return evs
}

// Commits are the offset-commit events of an OffsetCommit or
// TxnOffsetCommit and its answer, one a partition, with the error the
// coordinator answered.
func Commits(src Source, req kmsg.Request, resp kmsg.Response, name TopicName) []journal.Event {
	type key struct {
		t string
		p int32
	}
	offsets := map[key]int64{}
	var group string
	var txn bool
	switch r := req.(type) {
	case *kmsg.OffsetCommitRequest:
		group = r.Group
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				offsets[key{name(t.Topic, t.TopicID), p.Partition}] = p.Offset
			}
		}
	case *kmsg.TxnOffsetCommitRequest:
		group, txn = r.Group, true
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				offsets[key{t.Topic, p.Partition}] = p.Offset
			}
		}
	default:
		return nil
	}
	var evs []journal.Event
	report := func(topic string, part int32, code int16) {
		evs = append(evs, journal.Event{Kind: journal.EventOffsetCommit, Broker: src.Broker, Group: group, Topic: topic, Partition: part,
			Offset: offsets[key{topic, part}], Client: src.Client, Conn: src.Conn, Transactional: txn, Error: ErrMessage(code)})
	}
	switch r := resp.(type) {
	case *kmsg.OffsetCommitResponse:
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				report(name(t.Topic, t.TopicID), p.Partition, p.ErrorCode)
			}
		}
	case *kmsg.TxnOffsetCommitResponse:
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				report(t.Topic, p.Partition, p.ErrorCode)
			}
		}
	}
	return evs
}

// Group is the group event of a group request and its answer:
// generations, member epochs, assignments, and errors such as
// REBALANCE_IN_PROGRESS. Healthy heartbeats and offset fetches are not
// events (ok false).
func Group(src Source, req kmsg.Request, resp kmsg.Response) (e journal.Event, ok bool) {
	e = journal.Event{Kind: journal.EventGroup, Broker: src.Broker, Client: src.Client, Conn: src.Conn}
	switch r := resp.(type) {
	case *kmsg.JoinGroupResponse:
		q := req.(*kmsg.JoinGroupRequest)
		e.Group, e.Epoch, e.Error = q.Group, r.Generation, ErrMessage(r.ErrorCode)
		e.Detail = fmt.Sprintf("join: member %s generation %d leader %s protocol %s", r.MemberID, r.Generation, r.LeaderID, str(r.Protocol))
	case *kmsg.SyncGroupResponse:
		q := req.(*kmsg.SyncGroupRequest)
		e.Group, e.Epoch, e.Error = q.Group, q.Generation, ErrMessage(r.ErrorCode)
		e.Detail = fmt.Sprintf("sync: member %s generation %d", q.MemberID, q.Generation)
	case *kmsg.HeartbeatResponse:
		if r.ErrorCode == 0 {
			return e, false // healthy heartbeats would drown the journal
		}
		q := req.(*kmsg.HeartbeatRequest)
		e.Group, e.Epoch, e.Error = q.Group, q.Generation, ErrMessage(r.ErrorCode)
		e.Detail = fmt.Sprintf("heartbeat: member %s generation %d", q.MemberID, q.Generation)
	case *kmsg.LeaveGroupResponse:
		q := req.(*kmsg.LeaveGroupRequest)
		e.Group, e.Error = q.Group, ErrMessage(r.ErrorCode)
		e.Detail = "leave"
	case *kmsg.OffsetFetchResponse:
		// Only refusals: a KIP-848 member can learn here that it was
		// expelled (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH).
		q := req.(*kmsg.OffsetFetchRequest)
		group, member, code := q.Group, "", r.ErrorCode
		if len(q.Groups) > 0 {
			group = q.Groups[0].Group
			member = str(q.Groups[0].MemberID)
			e.Epoch = q.Groups[0].MemberEpoch
		}
		if len(r.Groups) > 0 && r.Groups[0].ErrorCode != 0 {
			code = r.Groups[0].ErrorCode
		}
		if code == 0 {
			return e, false
		}
		e.Group, e.Error = group, ErrMessage(code)
		e.Detail = "offset fetch: member " + member
	case *kmsg.ConsumerGroupHeartbeatResponse:
		q := req.(*kmsg.ConsumerGroupHeartbeatRequest)
		if r.ErrorCode == 0 && r.MemberEpoch == q.MemberEpoch && r.Assignment == nil {
			return e, false // nothing changed
		}
		e.Group, e.Epoch, e.Error = q.Group, r.MemberEpoch, ErrMessage(r.ErrorCode)
		e.Detail = fmt.Sprintf("consumer heartbeat: member %s epoch %d -> %d", str(r.MemberID), q.MemberEpoch, r.MemberEpoch)
		if r.Assignment != nil {
			n := 0
			for _, t := range r.Assignment.Topics {
				n += len(t.Partitions)
			}
			e.Detail += fmt.Sprintf(", assigned %d partitions", n)
		}
	default:
		return e, false
	}
	return e, true
}

// EndTxn is the txn-end event of an EndTxn and its answer.
func EndTxn(src Source, req *kmsg.EndTxnRequest, resp *kmsg.EndTxnResponse) journal.Event {
	return journal.Event{Kind: journal.EventTxnEnd, Broker: src.Broker, ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch, Committed: req.Commit,
		Client: src.Client, Detail: "transactional.id=" + req.TransactionalID, Error: ErrMessage(resp.ErrorCode)}
}

// ProducerInit is the producer-init event of a transactional
// InitProducerID and its answer (ok false for an idempotent producer's).
func ProducerInit(src Source, req *kmsg.InitProducerIDRequest, resp *kmsg.InitProducerIDResponse) (journal.Event, bool) {
	if req.TransactionalID == nil {
		return journal.Event{}, false
	}
	return journal.Event{Kind: journal.EventProducerInit, Broker: src.Broker, ProducerID: resp.ProducerID, ProducerEpoch: resp.ProducerEpoch, Client: src.Client,
		Error: ErrMessage(resp.ErrorCode), Detail: "transactional.id=" + *req.TransactionalID}, true
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
