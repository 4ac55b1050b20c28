package fake_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// After a crash and restart leave leadership off the preferred replica, a
// preferred ElectLeaders from kadm moves it back with a new epoch, as
// Kafka's controller does; clients see it in Metadata, the journal shows
// it, and producers keep writing without losing anything.
func TestElectPreferredLeaderAfterRestart(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RecordDeliveryTimeout(10*time.Second))
	adm := kadm.NewClient(c.Client(t))
	if err := p.ProduceSync(ctx, kgo.StringRecord("a")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	st := partition(t, c, "t", 0)
	pref := st.Replicas[0]
	if st.Leader != pref {
		t.Fatalf("new topic: leader %d, want the preferred replica %d", st.Leader, pref)
	}
	if err := c.KillBroker(pref); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartBroker(pref); err != nil {
		t.Fatal(err)
	}
	moved := partition(t, c, "t", 0)
	if moved.Leader == pref || !slices.Contains(moved.ISR, pref) {
		t.Fatalf("after the restart: leader %d ISR %v, want another leader and %d back in the ISR", moved.Leader, moved.ISR, pref)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("b")).FirstErr(); err != nil {
		t.Fatal(err)
	}

	rs, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"t": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := rs["t"][0]; !ok || r.Err != nil {
		t.Fatalf("preferred election of t[0]: %+v (present %v), want success", r, ok)
	}
	md, err := adm.Metadata(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	pd := md.Topics["t"].Partitions[0]
	if pd.Leader != pref || pd.LeaderEpoch <= moved.LeaderEpoch {
		t.Errorf("metadata after the election: leader %d epoch %d, want %d with an epoch above %d", pd.Leader, pd.LeaderEpoch, pref, moved.LeaderEpoch)
	}
	changes := partitionEvents(c, fake.EventLeaderChange, "t", 0)
	last := changes[len(changes)-1]
	if last.Leader != pref || last.Epoch != pd.LeaderEpoch || !strings.Contains(last.Detail, "preferred leader election") {
		t.Errorf("journal's last leader change %+v, want the preferred election of %d at epoch %d", last, pref, pd.LeaderEpoch)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("c")).FirstErr(); err != nil {
		t.Fatalf("produce after the election: %v", err)
	}
	if got := values(consumeAll(t, ctx, c, "t", 3)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("log after the election: %v, want [a b c]", got)
	}
}

// Elections Kafka refuses: the preferred replica leads already or is down,
// an unclean election of a partition that has a leader, unknown
// partitions. None changes a leader.
func TestElectLeadersRefusals(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 2, 3))
	ctx := ctxT(t, 15*time.Second)
	adm := kadm.NewClient(c.Client(t))
	check := func(how kadm.ElectLeadersHow, s kadm.TopicsSet, topic string, part int32, want *kerr.Error) {
		t.Helper()
		rs, err := adm.ElectLeaders(ctx, how, s)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := rs[topic][part]
		if !ok || !errors.Is(r.Err, want) || r.ErrMessage == "" {
			t.Errorf("election %v of %s[%d]: %+v (present %v), want %v with a message", how, topic, part, r, ok, want)
		}
	}
	check(kadm.ElectPreferredReplica, kadm.TopicsSet{"t": {0: {}}}, "t", 0, kerr.ElectionNotNeeded)
	check(kadm.ElectLiveReplica, kadm.TopicsSet{"t": {1: {}}}, "t", 1, kerr.ElectionNotNeeded)
	check(kadm.ElectPreferredReplica, kadm.TopicsSet{"t": {7: {}}}, "t", 7, kerr.UnknownTopicOrPartition)
	check(kadm.ElectPreferredReplica, kadm.TopicsSet{"nope": {0: {}}}, "nope", 0, kerr.UnknownTopicOrPartition)

	// All partitions (a null topic list): those that need no election
	// are left out, as Kafka does.
	rs, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs["t"]) != 0 {
		t.Errorf("election of all partitions, all led by their preferred replica: %+v, want t's left out", rs)
	}

	// The preferred replica is down: not available.
	pref := partition(t, c, "t", 0).Replicas[0]
	if err := c.KillBroker(pref); err != nil {
		t.Fatal(err)
	}
	before := partition(t, c, "t", 0)
	check(kadm.ElectPreferredReplica, kadm.TopicsSet{"t": {0: {}}}, "t", 0, kerr.PreferredLeaderNotAvailable)
	if st := partition(t, c, "t", 0); st.Leader != before.Leader || st.LeaderEpoch != before.LeaderEpoch {
		t.Errorf("after refused elections: %+v, want leader %d epoch %d", st, before.Leader, before.LeaderEpoch)
	}
}

// An unclean ElectLeaders brings an offline partition back by electing an
// out-of-sync replica, as Kafka's admin-triggered unclean election does
// even with unclean.leader.election.enable=false.
func TestElectUncleanOfOfflinePartition(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 2), fake.Brokers(2), fake.ReplicaLagMax(20*time.Millisecond))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	adm := kadm.NewClient(c.Client(t))
	if err := p.ProduceSync(ctx, kgo.StringRecord("in-sync")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("leader-only")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var st fake.PartitionState
	waitFor(t, ctx, "the ISR shrunk to the leader", func() bool {
		st = partition(t, c, "t", 0)
		return slices.Equal(st.ISR, []int32{st.Leader})
	})
	old := st.Leader
	follower := st.Replicas[0]
	if follower == old {
		follower = st.Replicas[1]
	}
	if err := c.KillBroker(old); err != nil {
		t.Fatal(err)
	}
	offline := partition(t, c, "t", 0)
	if offline.Leader != -1 {
		t.Fatalf("after killing the only in-sync replica: leader %d, want offline", offline.Leader)
	}
	check := func(how kadm.ElectLeadersHow, want *kerr.Error) {
		t.Helper()
		rs, err := adm.ElectLeaders(ctx, how, kadm.TopicsSet{"t": {0: {}}})
		if err != nil {
			t.Fatal(err)
		}
		r := rs["t"][0]
		if want == nil && r.Err != nil || want != nil && !errors.Is(r.Err, want) {
			t.Fatalf("election %v of the offline t[0]: %+v, want %v", how, r, want)
		}
	}
	check(kadm.ElectPreferredReplica, kerr.PreferredLeaderNotAvailable)
	check(kadm.ElectLiveReplica, nil)

	md, err := adm.Metadata(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if pd := md.Topics["t"].Partitions[0]; pd.Err != nil || pd.Leader != follower || !slices.Equal(pd.ISR, []int32{follower}) {
		t.Errorf("metadata after unclean election: leader %d isr %v err %v; want %d, [%d]", pd.Leader, pd.ISR, pd.Err, follower, follower)
	} else if pd.LeaderEpoch <= offline.LeaderEpoch {
		// Kafka bumps the epoch going offline and again for the new leader.
		t.Errorf("metadata after unclean election: leader epoch %d, want above the offline epoch %d", pd.LeaderEpoch, offline.LeaderEpoch)
	}
	changes := partitionEvents(c, fake.EventLeaderChange, "t", 0)
	if last := changes[len(changes)-1]; last.Leader != follower || !strings.Contains(last.Detail, "unclean election of an out-of-sync replica") {
		t.Errorf("journal's last leader change %+v, want the unclean election of %d", last, follower)
	}
	check(kadm.ElectLiveReplica, kerr.ElectionNotNeeded)
	if err := p.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr(); err != nil {
		t.Errorf("write after unclean election: %v", err)
	}
}

// A zero-valued ElectLeaders (preferred election of every partition) used
// to reach kfake, which moved leaders behind the model's back: producers
// got NOT_LEADER for ever. Now it changes nothing and writes go on.
func TestZeroElectLeadersKeepsProducers(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 3, 3))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RecordDeliveryTimeout(5*time.Second))
	if err := p.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	before := map[int32]fake.PartitionState{}
	for i := range int32(3) {
		before[i] = partition(t, c, "t", i)
	}
	for _, typ := range []int8{0, 1} {
		req := kmsg.NewPtrElectLeadersRequest()
		req.ElectionType = typ
		resp, err := req.RequestWith(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != 0 {
			t.Fatalf("zero-valued ElectLeaders type %d: %v", typ, kerr.ErrorForCode(resp.ErrorCode))
		}
		for _, rt := range resp.Topics {
			if len(rt.Partitions) > 0 {
				t.Errorf("zero-valued ElectLeaders type %d elected in %s: %+v", typ, rt.Topic, rt.Partitions)
			}
		}
	}
	for i := range int32(3) {
		if st := partition(t, c, "t", i); st.Leader != before[i].Leader || st.LeaderEpoch != before[i].LeaderEpoch {
			t.Errorf("t[%d] after zero-valued ElectLeaders: leader %d epoch %d, want %d %d", i, st.Leader, st.LeaderEpoch, before[i].Leader, before[i].LeaderEpoch)
		}
		r := kgo.StringRecord("after")
		r.Partition = i
		if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Errorf("produce to t[%d] after zero-valued ElectLeaders: %v", i, err)
		}
	}
}

// AlterPartitionAssignments is answered by fake, never by kfake: a real
// reassignment is refused per partition, leaders stay.
func TestAlterPartitionAssignmentsRefused(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3), fake.Brokers(4))
	ctx := ctxT(t, 15*time.Second)
	adm := kadm.NewClient(c.Client(t))
	st := partition(t, c, "t", 0)
	var other int32
	for other = 0; slices.Contains(st.Replicas, other); other++ {
	}
	moveTo := append([]int32{other}, st.Replicas[1:]...)
	rs, err := adm.AlterPartitionAssignments(ctx, kadm.AlterPartitionAssignmentsReq{"t": {0: moveTo}, "nope": {0: moveTo}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs["t"][0]; !errors.Is(r.Err, kerr.InvalidRequest) || !strings.Contains(r.ErrMessage, "does not reassign replicas") {
		t.Errorf("reassignment of t[0]: %+v, want INVALID_REQUEST saying kafkaemu does not reassign", r)
	}
	if r := rs["nope"][0]; !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("reassignment of an unknown topic: %+v, want UNKNOWN_TOPIC_OR_PARTITION", r)
	}
	rs, err = adm.AlterPartitionAssignments(ctx, kadm.AlterPartitionAssignmentsReq{"t": {0: st.Replicas}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs["t"][0]; r.Err != nil {
		t.Errorf("reassignment of t[0] to its own replicas: %+v, want success", r)
	}
	if now := partition(t, c, "t", 0); now.Leader != st.Leader || now.LeaderEpoch != st.LeaderEpoch || !slices.Equal(now.Replicas, st.Replicas) {
		t.Errorf("after AlterPartitionAssignments: %+v, want %+v", now, st)
	}
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RecordDeliveryTimeout(5*time.Second))
	if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
		t.Errorf("produce after AlterPartitionAssignments: %v", err)
	}
}
