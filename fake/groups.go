package fake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupTrack is what the wire taught us about a consumer group: kfake's
// GroupInfo does not say who leads a classic group or which protocol a
// group speaks.
type groupTrack struct {
	name       string
	classic    bool // JoinGroup/SyncGroup/Heartbeat
	consumer   bool // KIP-848 ConsumerGroupHeartbeat
	leader     string
	generation int32
	protocols  []kmsg.JoinGroupRequestProtocol // a real member's, for phantoms
	topics     []string                        // the subscription, for phantoms
	regex      *string                         // KIP-848: a subscription by pattern instead
	sessionMs  int32                           // a real member's session timeout
	sessions   map[string]int32                // member id -> its session timeout
	assignor   *string                         // KIP-848: the server assignor a real member named
	rebalMs    int32                           // and rebalance timeout
	phantoms   []*phantom
}

func (c *Cluster) trackLocked(group string) *groupTrack {
	g := c.groups[group]
	if g == nil {
		g = &groupTrack{name: group}
		c.groups[group] = g
	}
	return g
}

// noteGroupRequest learns a group's protocol from a client's request.
func (c *Cluster) noteGroupRequest(req kmsg.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		g := c.trackLocked(r.Group)
		g.classic = true
		g.sessionMs, g.rebalMs = r.SessionTimeoutMillis, r.RebalanceTimeoutMillis
		if r.MemberID != "" {
			if g.sessions == nil {
				g.sessions = map[string]int32{}
			}
			g.sessions[r.MemberID] = r.SessionTimeoutMillis
		}
		if len(r.Protocols) > 0 {
			g.protocols = slices.Clone(r.Protocols)
			var meta kmsg.ConsumerMemberMetadata
			if meta.ReadFrom(r.Protocols[0].Metadata) == nil && len(meta.Topics) > 0 {
				g.topics = slices.Clone(meta.Topics)
			}
		}
	case *kmsg.ConsumerGroupHeartbeatRequest:
		g := c.trackLocked(r.Group)
		g.consumer = true
		if len(r.SubscribedTopicNames) > 0 {
			g.topics = slices.Clone(r.SubscribedTopicNames)
		}
		if r.SubscribedTopicRegex != nil {
			re := *r.SubscribedTopicRegex
			g.regex = &re
		}
		if r.ServerAssignor != nil {
			a := *r.ServerAssignor
			g.assignor = &a
		}
	}
}

// noteJoinResponse learns a classic group's leader and generation.
func (c *Cluster) noteJoinResponse(group string, r *kmsg.JoinGroupResponse) {
	if r.ErrorCode != 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.trackLocked(group)
	if r.Generation >= g.generation {
		g.generation, g.leader = r.Generation, r.LeaderID
	}
}

// keepAwaitingAlive heartbeats for a classic member while it waits in
// JoinGroup or SyncGroup for the rest of its group. Kafka never expires a
// member that is waiting for the coordinator's answer (its session starts
// again with the answer); kfake's session timer keeps running, and a member
// it expires while waiting is never answered, which hung the surviving
// consumer when another member crashed mid-rebalance. The heartbeats stop
// with the answer or when the member's connection closes: a client that
// died while waiting is expired as Kafka would.
func (c *Cluster) keepAwaitingAlive(cn *conn, s *slot, h reqHeader, body []byte) {
	kreq, err := decodeRequest(h, body)
	if err != nil {
		return
	}
	var group, member string
	var instance *string
	var onRebalance func(code int16)
	switch r := kreq.(type) {
	case *kmsg.JoinGroupRequest:
		group, member, instance = r.Group, r.MemberID, r.InstanceID
	case *kmsg.SyncGroupRequest:
		group, member, instance = r.Group, r.MemberID, r.InstanceID
		// The generation being synced is over (a member expired or
		// left before the leader's SyncGroup, and the group prepares a
		// new one): Kafka answers the waiting members
		// REBALANCE_IN_PROGRESS and they rejoin. kfake leaves them
		// waiting, so fake answers; kfake's late answer, if any, is
		// dropped.
		onRebalance = func(code int16) {
			resp := kmsg.NewPtrSyncGroupResponse()
			resp.Version = h.Version
			resp.ErrorCode = code
			if s.Fill(encodeResponse(h.Corr, resp)) {
				c.journal.Add(Event{Kind: EventGroup, Broker: cn.Node(), Group: group, Client: h.ClientID, Conn: cn.Remote(),
					Detail: fmt.Sprintf("SyncGroup of generation %d answered %s: the generation ended while %s waited", r.Generation, kerr.ErrorForCode(code), member)})
			}
		}
	}
	c.mu.Lock()
	var sessionMs int32
	if g := c.groups[group]; g != nil {
		sessionMs = g.sessions[member]
	}
	c.mu.Unlock()
	c.heartbeatWhileWaiting(group, member, instance, sessionMs, s.Ready(), cn.Done(), onRebalance)
}

// heartbeatWhileWaiting heartbeats for member every third of its session
// until answered or gone is closed (see keepAwaitingAlive; phantoms use it
// too). If a heartbeat is answered with an error (REBALANCE_IN_PROGRESS,
// ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) and onRebalance is set, it calls
// onRebalance with that error and stops.
func (c *Cluster) heartbeatWhileWaiting(group, member string, instance *string, sessionMs int32, answered, gone <-chan struct{}, onRebalance func(code int16)) {
	if member == "" || sessionMs <= 0 {
		return
	}
	c.background(func() {
		tick := time.NewTicker(time.Duration(sessionMs) * time.Millisecond / 3)
		defer tick.Stop()
		for {
			select {
			case <-answered:
				return
			case <-gone:
				return
			case <-tick.C:
			}
			info := c.groupInfo(group)
			if info == nil {
				return
			}
			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Version = 4
			hb.Group, hb.MemberID, hb.InstanceID, hb.Generation = group, member, instance, info.Epoch
			resp, err := c.groupRequest(group, hb)
			if err != nil {
				return
			}
			if r, ok := resp.(*kmsg.HeartbeatResponse); ok && r.ErrorCode != 0 && onRebalance != nil {
				onRebalance(r.ErrorCode)
				return
			}
		}
	})
}

func (c *Cluster) groupOrErr(group string) (*groupTrack, *kfake.GroupInfo, error) {
	info := c.groupInfo(group)
	c.mu.Lock()
	g, closed := c.groups[group], c.closed
	c.mu.Unlock()
	switch {
	case closed:
		return nil, nil, errClosed
	case info == nil:
		return nil, nil, fmt.Errorf("unknown group %q", group)
	case g == nil:
		// Known to kfake only through committed offsets (kadm, a
		// consumer that never joined): no member ever joined.
		return nil, nil, fmt.Errorf("group %q has no members", group)
	}
	return g, info, nil
}

// Rebalance forces a new generation of group now. A classic group's leader
// is told REBALANCE_IN_PROGRESS on its next heartbeat, as Kafka tells
// members; its rejoin starts the rebalance, every member revokes and
// rejoins, and the generation increases. A KIP-848 group gets a new group
// epoch and target assignment through the members' heartbeats. It returns
// once the group has moved past its current generation, or ctx ends.
func (c *Cluster) Rebalance(ctx context.Context, group string) error {
	g, info, err := c.groupOrErr(group)
	if err != nil {
		return fmt.Errorf("Rebalance: %w", err)
	}
	if len(info.Members) == 0 {
		return fmt.Errorf("Rebalance(%q): the group has no members", group)
	}
	c.journal.Add(Event{Kind: EventGroup, Group: group, Epoch: info.Epoch, Detail: "rebalance forced"})
	c.mu.Lock()
	classic, leader := g.classic, g.leader
	c.mu.Unlock()
	if classic {
		h := c.kf.Fault(kfake.Fault{
			Keys:  []kmsg.Key{kmsg.Heartbeat},
			Group: group,
			Err:   kerr.RebalanceInProgress,
			Count: 1,
			When: func(r kmsg.Request) bool {
				return r.(*kmsg.HeartbeatRequest).MemberID == leader
			},
		})
		defer h.Remove()
	} else {
		// KIP-848: a phantom member joining and leaving bumps the group
		// epoch twice; the members reconcile the new target each time.
		ids, err := c.JoinPhantom(group, 1)
		if err != nil {
			return fmt.Errorf("Rebalance(%q): %w", group, err)
		}
		defer c.leavePhantomIDs(group, ids)
	}
	_, err = c.WaitGroup(ctx, group, func(gi *kfake.GroupInfo) bool {
		return gi != nil && gi.Epoch > info.Epoch
	})
	if err != nil {
		return fmt.Errorf("Rebalance(%q): waiting for a generation after %d: %w", group, info.Epoch, err)
	}
	return nil
}

// ExpireMember makes the coordinator expel a member as if its session had
// timed out: the member learns it (UNKNOWN_MEMBER_ID, or
// FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID in a KIP-848 group) on its next
// request and must rejoin; the rest of the group rebalances.
func (c *Cluster) ExpireMember(group, memberID string) error {
	g, info, err := c.groupOrErr(group)
	if err != nil {
		return fmt.Errorf("ExpireMember: %w", err)
	}
	var m *kfake.GroupMember
	var ids []string
	for i := range info.Members {
		ids = append(ids, info.Members[i].MemberID)
		if info.Members[i].MemberID == memberID {
			m = &info.Members[i]
		}
	}
	if m == nil {
		return fmt.Errorf("ExpireMember(%q, %q): no such member (members are %v)", group, memberID, ids)
	}
	c.mu.Lock()
	classic := g.classic
	c.mu.Unlock()
	var req kmsg.Request
	if classic {
		r := kmsg.NewPtrLeaveGroupRequest()
		r.Version = 3
		r.Group = group
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = memberID
		lm.InstanceID = m.InstanceID
		r.Members = append(r.Members, lm)
		req = r
	} else {
		r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		r.Group = group
		r.MemberID = memberID
		r.InstanceID = m.InstanceID
		r.MemberEpoch = -1 // leave for good, even a static member
		req = r
	}
	resp, err := c.groupRequest(group, req)
	if err != nil {
		return fmt.Errorf("ExpireMember(%q, %q): %w", group, memberID, err)
	}
	if code := groupErrCode(resp); code != 0 {
		return fmt.Errorf("ExpireMember(%q, %q): the coordinator answered %s", group, memberID, errMessage(code))
	}
	c.journal.Add(Event{Kind: EventGroup, Group: group, Detail: fmt.Sprintf("member %s expired", memberID)})
	return nil
}

func groupErrCode(resp kmsg.Response) int16 {
	switch r := resp.(type) {
	case *kmsg.LeaveGroupResponse:
		if r.ErrorCode != 0 {
			return r.ErrorCode
		}
		for _, m := range r.Members {
			if m.ErrorCode != 0 {
				return m.ErrorCode
			}
		}
	case *kmsg.ConsumerGroupHeartbeatResponse:
		return r.ErrorCode
	}
	return 0
}

// groupRequest sends req to group's coordinator over an internal connection.
func (c *Cluster) groupRequest(group string, req kmsg.Request) (kmsg.Response, error) {
	return c.request(c.coordinatorFor(group), req)
}

// MoveCoordinator moves group's coordinator to another live broker and
// returns it. Members get NOT_COORDINATOR and find the new one; committed
// offsets survive. kfake can only rehash every coordinator at once, so
// other groups may move too.
func (c *Cluster) MoveCoordinator(group string) (int32, error) {
	if _, _, err := c.groupOrErr(group); err != nil {
		return -1, fmt.Errorf("MoveCoordinator: %w", err)
	}
	c.mu.Lock()
	live := 0
	for _, b := range c.brokers {
		if b.up {
			live++
		}
	}
	c.mu.Unlock()
	if live < 2 {
		return -1, fmt.Errorf("MoveCoordinator(%q): only one broker is up", group)
	}
	before := c.coordinators(group)
	old := before[group]
	defer c.journalCoordinatorMoves(before)
	for try := 0; try < 1000; try++ {
		if err := c.rehashCoordinators(); err != nil {
			return -1, fmt.Errorf("MoveCoordinator(%q): %w", group, err)
		}
		if err := c.avoidDeadCoordinators(slices.Sorted(maps.Keys(before))); err != nil {
			return -1, err
		}
		if now := c.coordinatorFor(group); now != old {
			return now, nil
		}
	}
	return -1, fmt.Errorf("MoveCoordinator(%q): the coordinator stayed on broker %d", group, old)
}

// WaitGroup waits until cond holds for group (cond gets nil while the group
// does not exist) and returns the group as it was then.
func (c *Cluster) WaitGroup(ctx context.Context, group string, cond func(*kfake.GroupInfo) bool) (*kfake.GroupInfo, error) {
	if cond == nil {
		return nil, fmt.Errorf("WaitGroup(%q): the condition is nil", group)
	}
	tick := time.NewTicker(c.pollEvery(2 * time.Millisecond))
	defer tick.Stop()
	for {
		gi := c.groupInfo(group)
		if cond(gi) {
			return gi, nil
		}
		if c.isClosed() {
			return gi, fmt.Errorf("group %q: %w", group, errClosed)
		}
		select {
		case <-ctx.Done():
			return gi, fmt.Errorf("group %q: %w (last seen %s)", group, ctx.Err(), describeGroup(gi))
		case <-tick.C:
		}
	}
}

// GroupStable is a WaitGroup condition: the group is stable with n members
// (any number for n < 0).
func GroupStable(n int) func(*kfake.GroupInfo) bool {
	return func(gi *kfake.GroupInfo) bool {
		return gi != nil && gi.State == "Stable" && (n < 0 || len(gi.Members) == n)
	}
}

// GroupSettled is a WaitGroup condition: the group is stable with n
// members and partitions partitions assigned among them.
func GroupSettled(n, partitions int) func(*kfake.GroupInfo) bool {
	return func(gi *kfake.GroupInfo) bool {
		return GroupStable(n)(gi) && gi.NumAssigned() == partitions
	}
}

// GroupOwns is a WaitGroup condition: member owns topic/partition.
func GroupOwns(memberID, topic string, partition int32) func(*kfake.GroupInfo) bool {
	return func(gi *kfake.GroupInfo) bool {
		if gi == nil {
			return false
		}
		for _, m := range gi.Members {
			if m.MemberID == memberID {
				return slices.Contains(m.Assignment[topic], partition)
			}
		}
		return false
	}
}

func describeGroup(gi *kfake.GroupInfo) string {
	if gi == nil {
		return "no such group"
	}
	s := fmt.Sprintf("%s, epoch %d, %d members", gi.State, gi.Epoch, len(gi.Members))
	for _, m := range gi.Members {
		s += fmt.Sprintf("; %s owns %v", m.MemberID, m.Assignment)
	}
	return s
}
