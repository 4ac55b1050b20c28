package proxy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed73168108/kafkaemu/internal/logread"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// PartitionState is one partition as the upstream reports it.
type PartitionState struct {
	Topic          string  `json:"topic"`
	Partition      int32   `json:"partition"`
	Leader         int32   `json:"leader"` // -1 while offline
	LeaderEpoch    int32   `json:"leader_epoch"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	HighWatermark  int64   `json:"high_watermark"`
	LogStartOffset int64   `json:"log_start_offset"`
}

// lookupTopicID asks the upstream for the name of the topic with id, for
// a request that names topics by id before any Metadata answer crossed
// the proxy ("" if the upstream does not know it).
func (p *Proxy) lookupTopicID(id [16]byte) string {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.dialTimeout)
	defer cancel()
	kresp, err := p.adminRequest(ctx, kmsg.NewPtrMetadataRequest())
	if err != nil {
		return ""
	}
	resp := kresp.(*kmsg.MetadataResponse)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range resp.Topics {
		if t.Topic != nil {
			p.topicIDs[t.TopicID] = *t.Topic
		}
	}
	return p.topicIDs[id]
}

// Topics is the sorted list of the upstream's topics, internal ones left
// out.
func (p *Proxy) Topics(ctx context.Context) ([]string, error) {
	ts, err := p.Admin().ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the upstream's topics: %w", err)
	}
	return ts.Names(), nil
}

// Partition is one partition as the upstream reports it: leader, epoch,
// replicas, ISR (Metadata) and its offsets (ListOffsets).
func (p *Proxy) Partition(ctx context.Context, topic string, partition int32) (PartitionState, error) {
	adm := p.Admin()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return PartitionState{}, fmt.Errorf("Partition(%q, %d): %w", topic, partition, err)
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil {
		if ok && !errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			return PartitionState{}, fmt.Errorf("Partition(%q, %d): %w", topic, partition, td.Err)
		}
		return PartitionState{}, fmt.Errorf("unknown topic %q", topic)
	}
	pd, ok := td.Partitions[partition]
	if !ok {
		return PartitionState{}, fmt.Errorf("topic %q has no partition %d (it has %d)", topic, partition, len(td.Partitions))
	}
	st := PartitionState{Topic: topic, Partition: partition, Leader: pd.Leader, LeaderEpoch: pd.LeaderEpoch,
		Replicas: slices.Clone(pd.Replicas), ISR: slices.Clone(pd.ISR)}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return st, fmt.Errorf("Partition(%q, %d): log start: %w", topic, partition, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return st, fmt.Errorf("Partition(%q, %d): high watermark: %w", topic, partition, err)
	}
	if o, ok := starts.Lookup(topic, partition); ok && o.Err == nil {
		st.LogStartOffset = o.Offset
	}
	if o, ok := ends.Lookup(topic, partition); ok && o.Err == nil {
		st.HighWatermark = o.Offset
	}
	return st, nil
}

// FailLeader moves a partition's leadership off its leader with the
// upstream's own tools, as an operator would: a preferred-leader election
// (ElectLeaders) once another in-sync replica is the preferred one,
// reordering the replicas first (AlterPartitionAssignments, the same
// replicas in another order: no data moves) if the leader is preferred.
// It returns the new leader once the upstream's Metadata shows it, and
// journals the leader change. Unlike the emulator's FailLeader, the old
// leader stays up and in the ISR: a real cluster loses no acknowledged
// write here.
func (p *Proxy) FailLeader(ctx context.Context, topic string, partition int32) (int32, error) {
	fail := func(format string, args ...any) (int32, error) {
		return -1, fmt.Errorf("FailLeader(%q, %d): %s", topic, partition, fmt.Sprintf(format, args...))
	}
	before, err := p.Partition(ctx, topic, partition)
	if err != nil {
		return -1, err
	}
	old := before.Leader
	var next int32 = -1
	for _, r := range before.ISR {
		if r != old {
			next = r
			break
		}
	}
	if next < 0 {
		return fail("no in-sync replica but the leader %d (replicas %v, ISR %v) can take over", old, before.Replicas, before.ISR)
	}
	adm := p.Admin()
	if len(before.Replicas) > 0 && before.Replicas[0] == old {
		// Make next the preferred replica: same replicas, new order.
		order := append([]int32{next}, slices.DeleteFunc(slices.Clone(before.Replicas), func(r int32) bool { return r == next })...)
		var req kadm.AlterPartitionAssignmentsReq
		req.Assign(topic, partition, order)
		res, err := adm.AlterPartitionAssignments(ctx, req)
		if err != nil {
			return fail("reordering the replicas to %v (AlterPartitionAssignments): %v", order, err)
		}
		if r, ok := res[topic][partition]; ok && r.Err != nil {
			return fail("the upstream refused to reorder the replicas to %v (AlterPartitionAssignments): %v%s", order, r.Err, errDetail(r.ErrMessage))
		}
	}
	set := kadm.TopicsSet{}
	set.Add(topic, partition)
	res, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, set)
	if err != nil {
		return fail("preferred-leader election (ElectLeaders): %v", err)
	}
	if r, ok := res[topic][partition]; ok && r.Err != nil && !errors.Is(r.Err, kerr.ElectionNotNeeded) {
		return fail("the upstream refused the preferred-leader election (ElectLeaders): %v%s", r.Err, errDetail(r.ErrMessage))
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := p.Partition(ctx, topic, partition)
		if err == nil && st.Leader >= 0 && st.Leader != old {
			p.journal.Add(journal.Event{Kind: journal.EventLeaderChange, Topic: topic, Partition: partition, Leader: st.Leader, Epoch: st.LeaderEpoch,
				ISR: st.ISR, Detail: fmt.Sprintf("fail-leader: the upstream elected %d in place of %d", st.Leader, old)})
			return st.Leader, nil
		}
		select {
		case <-ctx.Done():
			return fail("the upstream accepted the election but its Metadata still shows leader %d: %v", old, ctx.Err())
		case <-tick.C:
		}
	}
}

func errDetail(msg string) string {
	if msg == "" {
		return ""
	}
	return " (" + msg + ")"
}

// LogRecord is one record of a partition's log, as PartitionLog returns
// it.
type LogRecord = logread.Record

// PartitionLog reads topic/partition's log back from the upstream, from
// its log start to its high watermark: what a read_uncommitted consumer
// reads, with transaction markers left out and aborted records marked.
// It asks the leader with the proxy's own client, past the network faults,
// and the journal does not show it as a fetch.
func (p *Proxy) PartitionLog(ctx context.Context, topic string, partition int32) ([]LogRecord, error) {
	var fetch logread.Fetcher
	fetch = func(ctx context.Context, at int64) (*kmsg.FetchResponseTopicPartition, error) {
		md, err := p.Admin().Metadata(ctx, topic)
		if err != nil {
			return nil, err
		}
		td := md.Topics[topic]
		pd, ok := td.Partitions[partition]
		if td.Err != nil || !ok {
			return nil, fmt.Errorf("unknown topic or partition (%v)", td.Err)
		}
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxBytes, req.SessionEpoch = -1, 64<<20, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, td.ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, max(at, 0), 64<<20
		rp.CurrentLeaderEpoch = -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, p.admin.Broker(int(pd.Leader)))
		if err != nil {
			return nil, err
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return nil, err
		}
		for _, t := range resp.Topics {
			for i := range t.Partitions {
				if r := &t.Partitions[i]; r.Partition == partition {
					if at < 0 && r.ErrorCode == kerr.OffsetOutOfRange.Code {
						return fetch(ctx, r.LogStartOffset) // offset 0 was deleted
					}
					return r, nil
				}
			}
		}
		return nil, fmt.Errorf("broker %d answered the fetch without the partition", pd.Leader)
	}
	recs, err := logread.Read(ctx, fetch)
	if err != nil {
		return recs, fmt.Errorf("PartitionLog(%q, %d): %w", topic, partition, err)
	}
	return recs, nil
}

// LastStableOffset is topic/partition's last stable offset as the
// upstream reports it (ListOffsets at read_committed): below it,
// read_committed consumers read.
func (p *Proxy) LastStableOffset(ctx context.Context, topic string, partition int32) (int64, error) {
	offs, err := p.Admin().ListCommittedOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("LastStableOffset(%q, %d): %w", topic, partition, err)
	}
	o, ok := offs.Lookup(topic, partition)
	if !ok {
		return 0, fmt.Errorf("LastStableOffset(%q, %d): unknown topic or partition", topic, partition)
	}
	if o.Err != nil {
		return 0, fmt.Errorf("LastStableOffset(%q, %d): %w", topic, partition, o.Err)
	}
	return o.Offset, nil
}

// Groups is the sorted list of the upstream's groups, of every type.
func (p *Proxy) Groups(ctx context.Context) ([]string, error) {
	gs, err := p.Admin().ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the upstream's groups: %w", err)
	}
	return gs.Groups(), nil
}

// Group is group as the upstream describes it, in kfake's form (what
// the emulator's Group returns): a KIP-848 consumer group through
// ConsumerGroupDescribe (with its epoch), a classic one through
// DescribeGroups, and its committed offsets. It is nil, with no error,
// when the upstream does not know the group.
func (p *Proxy) Group(ctx context.Context, group string) (*kfake.GroupInfo, error) {
	adm := p.Admin()
	gi, err := consumerGroup(ctx, adm, group)
	if err != nil {
		return nil, err
	}
	if gi == nil { // not a KIP-848 group: a classic one?
		ds, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return nil, fmt.Errorf("describing group %q: %w", group, err)
		}
		d, ok := ds[group]
		if !ok || d.Err != nil || d.State == "Dead" {
			return nil, nil
		}
		gi = &kfake.GroupInfo{Group: group, State: d.State}
		for _, m := range d.Members {
			gm := kfake.GroupMember{MemberID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID, ClientHost: m.ClientHost, Assignment: map[string][]int32{}}
			if a, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range a.Topics {
					gm.Assignment[t.Topic] = t.Partitions
				}
			}
			gi.Members = append(gi.Members, gm)
		}
	}
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("the committed offsets of group %q: %w", group, err)
	}
	gi.Commits = map[string]map[int32]kfake.GroupCommit{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			return
		}
		if gi.Commits[o.Topic] == nil {
			gi.Commits[o.Topic] = map[int32]kfake.GroupCommit{}
		}
		gi.Commits[o.Topic][o.Partition] = kfake.GroupCommit{Offset: o.At, LeaderEpoch: o.LeaderEpoch, Metadata: o.Metadata}
	})
	return gi, nil
}

// consumerGroup describes group as a KIP-848 consumer group (nil if it
// is not one, or the upstream has no ConsumerGroupDescribe).
func consumerGroup(ctx context.Context, adm *kadm.Client, group string) (*kfake.GroupInfo, error) {
	ds, err := adm.DescribeConsumerGroups(ctx, group)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, nil // an older upstream, or an error DescribeGroups will name
	}
	d, ok := ds[group]
	if !ok || d.Err != nil || d.State == "Dead" {
		return nil, nil
	}
	gi := &kfake.GroupInfo{Group: group, State: d.State, Epoch: d.Epoch}
	for _, m := range d.Members {
		gm := kfake.GroupMember{MemberID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID, ClientHost: m.ClientHost,
			SubscribedTopics: m.SubscribedTopics, Assignment: map[string][]int32{}}
		for t, ps := range m.Assignment {
			for part := range ps {
				gm.Assignment[t] = append(gm.Assignment[t], part)
			}
			slices.Sort(gm.Assignment[t])
		}
		gi.Members = append(gi.Members, gm)
	}
	slices.SortFunc(gi.Members, func(a, b kfake.GroupMember) int { return strings.Compare(a.MemberID, b.MemberID) })
	return gi, nil
}
