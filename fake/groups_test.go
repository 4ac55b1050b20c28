package fake_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupModes are the group protocols every verb is tested with.
var groupModes = []struct {
	name string
	opts []kgo.Opt
}{
	{"classic-eager", []kgo.Opt{kgo.Balancers(kgo.RangeBalancer())}},
	{"classic-cooperative", []kgo.Opt{kgo.Balancers(kgo.CooperativeStickyBalancer())}},
	{"kip848", []kgo.Opt{kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer()}},
}

// member is a consumer in a group that records what it sees.
type member struct {
	cl *kgo.Client
	mu sync.Mutex

	revoked, assigned, lost int
	records                 int
}

func (m *member) lostCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lost
}

func (m *member) count() (revoked, assigned, records int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.revoked, m.assigned, m.records
}

func startMember(t *testing.T, c *harness.Cluster, group string, extra ...kgo.Opt) *member {
	m := &member{}
	opts := append([]kgo.Opt{
		kgo.ConsumerGroup(group), kgo.ConsumeTopics("t"),
		kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) { m.mu.Lock(); m.revoked++; m.mu.Unlock() }),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { m.mu.Lock(); m.assigned++; m.mu.Unlock() }),
		kgo.OnPartitionsLost(func(context.Context, *kgo.Client, map[string][]int32) { m.mu.Lock(); m.lost++; m.mu.Unlock() }),
	}, extra...)
	m.cl = c.Client(t, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := m.cl.PollFetches(ctx)
			m.mu.Lock()
			m.records += fs.NumRecords()
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); m.cl.Close(); <-done })
	return m
}

func memberIDOf(m *member) string {
	id, _ := m.cl.GroupMetadata()
	return id
}

func TestRebalanceVerb(t *testing.T) {
	t.Parallel()
	for _, mode := range groupModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			c := harness.Start(t, fake.Topic("t", 4, 3))
			ctx := ctxT(t, 20*time.Second)
			a := startMember(t, c, "g", mode.opts...)
			b := startMember(t, c, "g", mode.opts...)
			before, err := c.WaitGroup(ctx, "g", fake.GroupSettled(2, 4))
			if err != nil {
				t.Fatal(err)
			}
			_, aAssigned, _ := a.count()
			if err := c.Rebalance(ctx, "g"); err != nil {
				t.Fatal(err)
			}
			after, err := c.WaitGroup(ctx, "g", func(gi *kfake.GroupInfo) bool {
				return fake.GroupStable(2)(gi) && gi.NumAssigned() == 4 && gi.Epoch > before.Epoch
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("generation %d -> %d", before.Epoch, after.Epoch)
			journaled(t, c, "rebalance forced")
			// The members went through the rebalance: eager members revoke
			// everything and are assigned again.
			if mode.name == "classic-eager" {
				waitFor(t, ctx, "member a to be reassigned", func() bool { _, as, _ := a.count(); return as > aAssigned })
				if rv, _, _ := a.count(); rv == 0 {
					t.Error("eager member a never revoked")
				}
			}
			// Both keep consuming.
			p := c.Client(t, kgo.DefaultProduceTopic("t"))
			for i := 0; i < 40; i++ {
				p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), nil)
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "all 40 records consumed", func() bool {
				_, _, ra := a.count()
				_, _, rb := b.count()
				return ra+rb >= 40
			})
		})
	}
}

func TestExpireMemberVerb(t *testing.T) {
	t.Parallel()
	for _, mode := range groupModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			c := harness.Start(t, fake.Topic("t", 4, 3))
			ctx := ctxT(t, 20*time.Second)
			a := startMember(t, c, "g", mode.opts...)
			startMember(t, c, "g", mode.opts...)
			before, err := c.WaitGroup(ctx, "g", fake.GroupSettled(2, 4))
			if err != nil {
				t.Fatal(err)
			}
			victim := memberIDOf(a)
			if err := c.ExpireMember("g", victim); err != nil {
				t.Fatal(err)
			}
			journaled(t, c, fmt.Sprintf("member %s expired", victim))
			// The expelled member learns it, rejoins, and the group settles
			// again with two members in a later generation.
			if _, err := c.WaitGroup(ctx, "g", func(gi *kfake.GroupInfo) bool {
				return fake.GroupStable(2)(gi) && gi.NumAssigned() == 4 && gi.Epoch > before.Epoch
			}); err != nil {
				t.Fatal(err)
			}
			told := false
			for _, e := range c.Journal() {
				if e.Kind == fake.EventGroup && (strings.Contains(e.Error, "UNKNOWN_MEMBER_ID") || strings.Contains(e.Error, "FENCED_MEMBER_EPOCH")) {
					told = true
				}
			}
			if !told {
				t.Errorf("no member was told UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH:\n%s", c.JournalTail(30))
			}
			// kgo treats an expulsion as losing its partitions (not a
			// revoke: it cannot commit them any more).
			waitFor(t, ctx, "the expelled member's OnPartitionsLost", func() bool { return a.lostCount() > 0 })
		})
	}
}

func TestPhantomsShrinkAssignment(t *testing.T) {
	t.Parallel()
	for _, mode := range groupModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			c := harness.Start(t, fake.Topic("t", 3, 3))
			ctx := ctxT(t, 20*time.Second)
			a := startMember(t, c, "g", mode.opts...)
			if _, err := c.WaitGroup(ctx, "g", fake.GroupSettled(1, 3)); err != nil {
				t.Fatal(err)
			}
			ids, err := c.JoinPhantom("g", 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 2 {
				t.Fatalf("phantom ids %v", ids)
			}
			real := memberIDOf(a)
			if _, err := c.WaitGroup(ctx, "g", func(gi *kfake.GroupInfo) bool {
				if !fake.GroupStable(3)(gi) || gi.NumAssigned() != 3 {
					return false
				}
				for _, m := range gi.Members {
					if m.MemberID == real {
						return m.NumAssigned() == 1
					}
				}
				return false
			}); err != nil {
				t.Fatal(err)
			}
			journaled(t, c, fmt.Sprintf("phantoms joined: %v", ids))
			if err := c.LeavePhantom("g", 2); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitGroup(ctx, "g", fake.GroupSettled(1, 3)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMoveCoordinatorKeepsCommits(t *testing.T) {
	t.Parallel()
	for _, mode := range groupModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testMoveCoordinator(t, mode.opts)
		})
	}
}

func testMoveCoordinator(t *testing.T, modeOpts []kgo.Opt) {
	c := harness.Start(t, fake.Topic("t", 2, 3))
	ctx := ctxT(t, 20*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	for i := 0; i < 20; i++ {
		p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), nil)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t, append([]kgo.Opt{kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.DisableAutoCommit()}, modeOpts...)...)
	n := 0
	for n < 20 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		n += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	before := c.Kfake().GroupInfo("g").Commits
	old := c.Kfake().CoordinatorFor("g")
	now, err := c.MoveCoordinator("g")
	if err != nil {
		t.Fatal(err)
	}
	if now == old {
		t.Fatalf("coordinator stayed on %d", old)
	}
	// The old coordinator answers NOT_COORDINATOR, which is what sends a
	// client to FindCoordinator.
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "g" // kgo sends v8+ here, which carries groups
	fg := kmsg.NewOffsetFetchRequestGroup()
	fg.Group = "g"
	fetch.Groups = append(fetch.Groups, fg)
	resp, err := fetch.RequestWith(ctx, cl.Broker(int(old)))
	if err != nil {
		t.Fatal(err)
	}
	code := resp.ErrorCode
	if len(resp.Groups) > 0 {
		code = resp.Groups[0].ErrorCode
	}
	if code != kerr.NotCoordinator.Code {
		t.Errorf("OffsetFetch from the old coordinator %d: %v, want NOT_COORDINATOR", old, kerr.ErrorForCode(code))
	}
	for i := 20; i < 30; i++ {
		p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), nil)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for n < 30 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		n += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit after the coordinator moved: %v", err)
	}
	after := c.Kfake().GroupInfo("g").Commits
	total := func(m map[string]map[int32]kfake.GroupCommit) (s int64) {
		for _, ps := range m {
			for _, pc := range ps {
				s += pc.Offset
			}
		}
		return s
	}
	if total(before) != 20 || total(after) != 30 {
		t.Errorf("committed offsets sum %d before, %d after; want 20 and 30", total(before), total(after))
	}
	coordinatorMoveJournaled(t, c, "g", old, now)
}

// coordinatorMoveJournaled fails t unless the journal shows group's
// coordinator moving from broker old to now.
func coordinatorMoveJournaled(t *testing.T, c *harness.Cluster, group string, old, now int32) {
	t.Helper()
	for _, e := range c.Journal() {
		if e.Kind == fake.EventCoordinatorMoved && e.Group == group && e.Broker == now && e.Detail == fmt.Sprintf("from broker %d to %d", old, now) {
			return
		}
	}
	t.Errorf("the journal does not show %q's coordinator moving from %d to %d:\n%s", group, old, now, c.JournalTail(20))
}

// journaled fails t unless a group event in c's journal has detail.
func journaled(t *testing.T, c *harness.Cluster, detail string) {
	t.Helper()
	for _, e := range c.Journal() {
		if e.Kind == fake.EventGroup && e.Detail == detail {
			return
		}
	}
	t.Errorf("the journal has no group event %q:\n%s", detail, c.JournalTail(20))
}

// A commit from before a rebalance is refused with the error Kafka gives
// each protocol: ILLEGAL_GENERATION (classic generation) or
// STALE_MEMBER_EPOCH (KIP-848: the partition was assigned to the member
// again at a newer epoch, KIP-1251). The partition goes to a phantom and
// comes back, so the old generation's assignment is lost in between.
func TestStaleGenerationCommitRefused(t *testing.T) {
	t.Parallel()
	for _, mode := range groupModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			want := kerr.IllegalGeneration
			if mode.name == "kip848" {
				want = kerr.StaleMemberEpoch
			}
			testStaleCommit(t, mode.opts, want)
		})
	}
}

func testStaleCommit(t *testing.T, modeOpts []kgo.Opt, want *kerr.Error) {
	c := harness.Start(t, fake.Topic("t", 2, 3))
	ctx := ctxT(t, 20*time.Second)
	a := startMember(t, c, "g", modeOpts...)
	if _, err := c.WaitGroup(ctx, "g", fake.GroupSettled(1, 2)); err != nil {
		t.Fatal(err)
	}
	id, gen := a.cl.GroupMetadata()
	phantoms, err := c.JoinPhantom("g", 1)
	if err != nil {
		t.Fatal(err)
	}
	moved := int32(-1)
	if _, err := c.WaitGroup(ctx, "g", func(x *kfake.GroupInfo) bool {
		for p := int32(0); p < 2 && fake.GroupSettled(2, 2)(x); p++ {
			if fake.GroupOwns(phantoms[0], "t", p)(x) {
				moved = p
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.LeavePhantom("g", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGroup(ctx, "g", func(x *kfake.GroupInfo) bool {
		return fake.GroupSettled(1, 2)(x) && fake.GroupOwns(id, "t", moved)(x)
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the member to learn its new generation", func() bool { _, g := a.cl.GroupMetadata(); return g > gen })
	req := kmsg.NewPtrOffsetCommitRequest()
	td, err := kadm.NewClient(a.cl).ListTopics(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	req.Group, req.MemberID, req.Generation = "g", id, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = "t", td["t"].ID // kgo picks the version: name or id
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = moved, 1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != want.Code {
		t.Errorf("commit of t[%d] from generation %d after it moved away and back: %v, want %v", moved, gen, kerr.ErrorForCode(code), want)
	}
}

func TestStaticMemberReturnsWithoutRebalance(t *testing.T) {
	t.Parallel()
	for _, mode := range groupModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			c := harness.Start(t, fake.Topic("t", 2, 3))
			ctx := ctxT(t, 20*time.Second)
			static := append([]kgo.Opt{kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.InstanceID("svc-1"), kgo.SessionTimeout(5 * time.Second)}, mode.opts...)
			first := c.Client(t, static...)
			first.PollFetches(ctxT(t, 50*time.Millisecond)) // join
			gi, err := c.WaitGroup(ctx, "g", fake.GroupSettled(1, 2))
			if err != nil {
				t.Fatal(err)
			}
			first.Close() // a static member does not leave: its session lives on
			second := c.Client(t, static...)
			second.PollFetches(ctxT(t, 50*time.Millisecond))
			after, err := c.WaitGroup(ctx, "g", func(x *kfake.GroupInfo) bool {
				return fake.GroupSettled(1, 2)(x) && x.Members[0].MemberID != gi.Members[0].MemberID
			})
			if err != nil {
				t.Fatal(err)
			}
			if after.Epoch != gi.Epoch {
				t.Errorf("generation %d -> %d: the static member's return rebalanced the group", gi.Epoch, after.Epoch)
			}
		})
	}
}

func TestGroupVerbBadInput(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1))
	ctx := ctxT(t, 10*time.Second)
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to contain %q", what, err, want)
		}
	}
	check("Rebalance unknown", c.Rebalance(ctx, "nope"), `unknown group "nope"`)
	check("ExpireMember unknown group", c.ExpireMember("nope", "m"), `unknown group "nope"`)
	_, err := c.JoinPhantom("nope", 1)
	check("JoinPhantom unknown", err, `unknown group "nope"`)
	_, err = c.MoveCoordinator("nope")
	check("MoveCoordinator unknown", err, `unknown group "nope"`)
	check("LeavePhantom none", c.LeavePhantom("nope", 1), `the group has 0 phantoms`)
	check("LeavePhantom zero", c.LeavePhantom("nope", 0), `want n >= 1`)

	// A group that only has committed offsets (written by an admin) has
	// never had a member.
	adm := kadm.NewClient(c.Client(t))
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "t", Partition: 0, At: 0})
	if _, err := adm.CommitOffsets(ctx, "offsets-only", offsets); err != nil {
		t.Fatal(err)
	}
	check("Rebalance offsets-only", c.Rebalance(ctx, "offsets-only"), `group "offsets-only" has no members`)

	m := startMember(t, c, "g")
	if _, err := c.WaitGroup(ctx, "g", fake.GroupStable(1)); err != nil {
		t.Fatal(err)
	}
	check("ExpireMember unknown member", c.ExpireMember("g", "ghost"), `ExpireMember("g", "ghost"): no such member (members are [`)
	_, err = c.JoinPhantom("g", 0)
	check("JoinPhantom zero", err, `want n >= 1`)
	m.cl.Close()
	if _, err := c.WaitGroup(ctx, "g", func(gi *kfake.GroupInfo) bool { return gi != nil && len(gi.Members) == 0 }); err != nil {
		t.Fatal(err)
	}
	check("Rebalance empty", c.Rebalance(ctx, "g"), `the group has no members`)
}

func TestSessionTimeoutThroughFrozenConnection(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 2, 3))
	ctx := ctxT(t, 20*time.Second)
	victim := startMember(t, c, "g", kgo.ClientID("victim"), kgo.SessionTimeout(300*time.Millisecond), kgo.HeartbeatInterval(50*time.Millisecond))
	startMember(t, c, "g", kgo.ClientID("survivor"))
	gi, err := c.WaitGroup(ctx, "g", fake.GroupSettled(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	victimID := memberIDOf(victim)
	// Freeze the victim's group traffic: its heartbeats never arrive, its
	// session runs out, and the coordinator expels it.
	h, err := c.AddFault(fake.Blackhole(), fake.OnClient("victim"), fake.OnKeys(kmsg.Heartbeat, kmsg.JoinGroup, kmsg.SyncGroup, kmsg.OffsetCommit))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGroup(ctx, "g", func(x *kfake.GroupInfo) bool {
		return fake.GroupStable(1)(x) && x.NumAssigned() == 2 && x.Epoch > gi.Epoch && x.Members[0].MemberID != victimID
	}); err != nil {
		t.Fatal(err)
	}
	// Thawed, the victim learns it was expelled and rejoins.
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGroup(ctx, "g", fake.GroupSettled(2, 2)); err != nil {
		t.Fatal(err)
	}
}

// The KIP-848 path to the same expiry: the broker's
// group.consumer.session.timeout.ms runs out while the member's
// ConsumerGroupHeartbeats are frozen; thawed, it is told
// UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH and joins again.
func TestSessionTimeoutThroughFrozenConnectionKIP848(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 2, 3),
		fake.KfakeOpts(kfake.BrokerConfigs(map[string]string{"group.consumer.session.timeout.ms": "300"})))
	ctx := ctxT(t, 20*time.Second)
	kip848 := []kgo.Opt{kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer()}
	victim := startMember(t, c, "g", append([]kgo.Opt{kgo.ClientID("victim")}, kip848...)...)
	startMember(t, c, "g", append([]kgo.Opt{kgo.ClientID("survivor")}, kip848...)...)
	gi, err := c.WaitGroup(ctx, "g", fake.GroupSettled(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	victimID := memberIDOf(victim)
	h, err := c.AddFault(fake.Blackhole(), fake.OnClient("victim"), fake.OnKeys(kmsg.ConsumerGroupHeartbeat, kmsg.OffsetCommit))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGroup(ctx, "g", func(x *kfake.GroupInfo) bool {
		return fake.GroupSettled(1, 2)(x) && x.Epoch > gi.Epoch && x.Members[0].MemberID != victimID
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGroup(ctx, "g", fake.GroupSettled(2, 2)); err != nil {
		t.Fatal(err)
	}
	told := false
	for _, e := range c.Journal() {
		if e.Kind == fake.EventGroup && e.Client == "victim" && (strings.Contains(e.Error, "UNKNOWN_MEMBER_ID") || strings.Contains(e.Error, "FENCED_MEMBER_EPOCH")) {
			told = true
		}
	}
	if !told {
		t.Errorf("the thawed victim was never told it had been expelled:\n%s", c.JournalTail(30))
	}
}

func TestStaticMemberFencedByNewInstance(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 2, 3))
	ctx := ctxT(t, 20*time.Second)
	static := []kgo.Opt{kgo.ClientID("old"), kgo.InstanceID("svc-1"), kgo.SessionTimeout(5 * time.Second)}
	startMember(t, c, "g", static...)
	if _, err := c.WaitGroup(ctx, "g", fake.GroupSettled(1, 2)); err != nil {
		t.Fatal(err)
	}
	startMember(t, c, "g", kgo.ClientID("new"), kgo.InstanceID("svc-1"), kgo.SessionTimeout(5*time.Second))
	waitFor(t, ctx, "the old instance to be fenced", func() bool {
		for _, e := range c.Journal() {
			if e.Kind == fake.EventGroup && e.Client == "old" && strings.Contains(e.Error, "FENCED_INSTANCE_ID") {
				return true
			}
		}
		return false
	})
}

// A member that dies between its JoinGroup answer and its SyncGroup must
// not take the member waiting in SyncGroup down with it: Kafka keeps a
// member that waits for the coordinator alive, expires only the dead one,
// and answers the waiting SyncGroup with REBALANCE_IN_PROGRESS.
// TestLeaderDiesBeforeSync runs in a synctest bubble with Kafka-sized
// timeouts: on the real clock it used a 300 ms session for the survivor,
// and a loaded machine let the survivor expire between the group settling
// and the test looking (seen as "last seen Empty, 0 members").
func TestLeaderDiesBeforeSync(t *testing.T) {
	t.Parallel()
	synctest.Test(t, leaderDiesBeforeSync)
}

func leaderDiesBeforeSync(t *testing.T) {
	c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("t", 2, 1))
	ctx := ctxT(t, 10*time.Minute)
	// The leader is a client driving the group protocol by hand, so it can
	// die at exactly the wrong moment: after its JoinGroup answer.
	raw := c.Client(t)
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"t"}
	join := func(memberID string) *kmsg.JoinGroupResponse {
		t.Helper()
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = "g", memberID, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 60000
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", meta.AppendTo(nil)
		req.Protocols = append(req.Protocols, p)
		resp, err := req.RequestWith(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := join("")
	gen1 := join(first.MemberID)
	if gen1.ErrorCode != 0 || gen1.LeaderID != first.MemberID {
		t.Fatalf("first join: %v, leader %q", kerr.ErrorForCode(gen1.ErrorCode), gen1.LeaderID)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = "g", first.MemberID, gen1.Generation
	if resp, err := sync.RequestWith(ctx, raw); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("first sync: %v %v", err, resp)
	}
	// A consumer joins; the leader rejoins, gets its answer, and dies. (The
	// consumer's long rebalance timeout keeps its own SyncGroup from timing
	// out and papering over a hang.)
	startMember(t, c, "g", kgo.ClientID("survivor"), kgo.SessionTimeout(45*time.Second),
		kgo.RebalanceTimeout(time.Minute), kgo.Balancers(kgo.RangeBalancer()))
	if _, err := c.WaitGroup(ctx, "g", func(x *kfake.GroupInfo) bool { return x.State == "PreparingRebalance" }); err != nil {
		t.Fatal(err)
	}
	if gen2 := join(first.MemberID); gen2.ErrorCode != 0 || gen2.LeaderID != first.MemberID || len(gen2.Members) != 2 {
		t.Fatalf("rejoin: %v, leader %q, %d members", kerr.ErrorForCode(gen2.ErrorCode), gen2.LeaderID, len(gen2.Members))
	}
	if _, err := c.WaitGroup(ctx, "g", func(x *kfake.GroupInfo) bool {
		return fake.GroupSettled(1, 2)(x) && x.Members[0].MemberID != first.MemberID
	}); err != nil {
		t.Fatal(err)
	}
	// The survivor's SyncGroup was answered REBALANCE_IN_PROGRESS when
	// the leader's generation ended, as Kafka answers it (by kfake, or by
	// fake where kfake left it waiting).
	if !slices.ContainsFunc(c.Journal(), func(e fake.Event) bool {
		s := strings.ToLower(e.String())
		return e.Kind == fake.EventGroup && e.Client == "survivor" && strings.Contains(s, "sync") && strings.Contains(s, "rebalance_in_progress")
	}) {
		t.Errorf("the survivor's SyncGroup was not answered REBALANCE_IN_PROGRESS:\n%s", c.JournalTail(20))
	}
}

// A KIP-848 group that subscribes by pattern can be rebalanced too: the
// phantom that moves the group epoch subscribes with the members' regex.
func TestRebalanceRegexKIP848(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 4, 1))
	ctx := ctxT(t, 20*time.Second)
	startMember(t, c, "g", kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer()), kgo.ConsumeRegex(), kgo.ConsumeTopics("^t$"))
	before, err := c.WaitGroup(ctx, "g", fake.GroupSettled(1, 4))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Rebalance(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGroup(ctx, "g", func(gi *kfake.GroupInfo) bool {
		return fake.GroupSettled(1, 4)(gi) && gi.Epoch > before.Epoch
	}); err != nil {
		t.Fatal(err)
	}
}
