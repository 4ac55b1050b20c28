package fake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// phantom is a group member that is not a client: fake joins it, keeps it
// alive with heartbeats and, if it becomes a classic group's leader,
// balances with the same kgo balancer a real member named. It takes
// partitions like any member.
type phantom struct {
	c        *Cluster
	group    string
	memberID string
	stop     chan struct{}
	done     chan struct{}
	joined   chan struct{} // closed once the phantom has an assignment
	joinOnce bool
	// sessionMs is a classic phantom's session timeout, kept alive while
	// it waits in JoinGroup or SyncGroup as Kafka keeps waiting members.
	sessionMs int32

	cn *conn // the connection to the coordinator, replaced on NOT_COORDINATOR
}

// JoinPhantom adds n phantom members to group: members that are not
// clients but take partitions, so a test can shrink a real consumer's
// assignment without starting another process. It returns their member
// ids once each has joined. The group must have had a real member, whose
// protocol and subscription the phantoms copy.
func (c *Cluster) JoinPhantom(group string, n int) ([]string, error) {
	if n < 1 {
		return nil, fmt.Errorf("JoinPhantom(%q, %d): want n >= 1", group, n)
	}
	g, _, err := c.groupOrErr(group)
	if err != nil {
		return nil, fmt.Errorf("JoinPhantom: %w", err)
	}
	c.mu.Lock()
	if (len(g.topics) == 0 && g.regex == nil) || (!g.consumer && len(g.protocols) == 0) {
		c.mu.Unlock()
		return nil, fmt.Errorf("JoinPhantom(%q): no real member has joined yet, so there is no subscription to copy", group)
	}
	var ps []*phantom
	consumer := g.consumer // read under c.mu: a member's request may set it meanwhile
	for i := 0; i < n; i++ {
		p := &phantom{c: c, group: group, stop: make(chan struct{}), done: make(chan struct{}), joined: make(chan struct{})}
		if consumer {
			p.memberID = fmt.Sprintf("kafkaemu-phantom-%016x", c.rng.Uint64())
		}
		g.phantoms = append(g.phantoms, p)
		ps = append(ps, p)
		c.timers.Add(1)
		go func() {
			defer c.timers.Done()
			defer close(p.done)
			if consumer {
				p.run848()
			} else {
				p.runClassic()
			}
		}()
	}
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for _, p := range ps {
		select {
		case <-p.joined:
			ids = append(ids, p.memberID)
		case <-p.done:
			return ids, fmt.Errorf("JoinPhantom(%q): a phantom stopped before it joined", group)
		case <-ctx.Done():
			return ids, fmt.Errorf("JoinPhantom(%q): phantom did not join within 30s", group)
		}
	}
	c.journal.Add(Event{Kind: EventGroup, Group: group, Detail: fmt.Sprintf("phantoms joined: %v", ids)})
	return ids, nil
}

// LeavePhantom makes n of group's phantom members leave (the newest first).
func (c *Cluster) LeavePhantom(group string, n int) error {
	if n < 1 {
		return fmt.Errorf("LeavePhantom(%q, %d): want n >= 1", group, n)
	}
	c.mu.Lock()
	g := c.groups[group]
	if g == nil || len(g.phantoms) < n {
		have := 0
		if g != nil {
			have = len(g.phantoms)
		}
		c.mu.Unlock()
		return fmt.Errorf("LeavePhantom(%q, %d): the group has %d phantoms", group, n, have)
	}
	var ids []string
	for _, p := range g.phantoms[len(g.phantoms)-n:] {
		ids = append(ids, p.memberID)
	}
	c.mu.Unlock()
	c.leavePhantomIDs(group, ids)
	return nil
}

func (c *Cluster) leavePhantomIDs(group string, ids []string) {
	c.mu.Lock()
	g := c.groups[group]
	var leaving []*phantom
	if g != nil {
		g.phantoms = slices.DeleteFunc(g.phantoms, func(p *phantom) bool {
			if slices.Contains(ids, p.memberID) {
				leaving = append(leaving, p)
				return true
			}
			return false
		})
	}
	c.mu.Unlock()
	for _, p := range leaving {
		close(p.stop)
		<-p.done
	}
	c.journal.Add(Event{Kind: EventGroup, Group: group, Detail: fmt.Sprintf("phantoms left: %v", ids)})
}

// stopPhantoms ends every phantom (cluster close).
func (c *Cluster) stopPhantomsLocked() []*phantom {
	var all []*phantom
	for _, g := range c.groups {
		all = append(all, g.phantoms...)
		g.phantoms = nil
	}
	return all
}

var errPhantomStopped = errors.New("phantom stopped")

// request sends req to the group's coordinator on the phantom's own
// connection: a parked JoinGroup must not block anyone else's requests.
func (p *phantom) request(req kmsg.Request) (kmsg.Response, error) {
	select {
	case <-p.stop:
		return nil, errPhantomStopped
	default:
	}
	if p.cn == nil {
		coord := p.c.coordinatorFor(p.group)
		p.c.mu.Lock()
		b := p.c.brokers[coord]
		p.c.mu.Unlock()
		if b == nil || b.ln == nil {
			return nil, fmt.Errorf("no coordinator for %q", p.group)
		}
		cn, err := p.c.newInternalConn(b.ln)
		if err != nil {
			return nil, err
		}
		p.cn = cn
	}
	type result struct {
		resp kmsg.Response
		err  error
	}
	res := make(chan result, 1)
	answered := make(chan struct{})
	cn := p.cn
	go func() {
		r, err := cn.RoundTrip(req)
		close(answered)
		res <- result{r, err}
	}()
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		p.c.heartbeatWhileWaiting(p.group, r.MemberID, nil, p.sessionMs, answered, p.stop, nil)
	case *kmsg.SyncGroupRequest:
		p.c.heartbeatWhileWaiting(p.group, r.MemberID, nil, p.sessionMs, answered, p.stop, nil)
	}
	select {
	case r := <-res:
		return r.resp, r.err
	case <-p.stop:
		cn.Close()
		<-res
		return nil, errPhantomStopped
	}
}

func (p *phantom) reconnect() {
	if p.cn != nil {
		p.cn.Close()
		p.cn = nil
	}
}

func (p *phantom) markJoined() {
	if !p.joinOnce {
		p.joinOnce = true
		close(p.joined)
	}
}

// wait sleeps for d unless the phantom is stopped.
func (p *phantom) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stop:
		return false
	}
}

func balancerFor(name string) kgo.GroupBalancer {
	for _, b := range []kgo.GroupBalancer{kgo.CooperativeStickyBalancer(), kgo.StickyBalancer(), kgo.RangeBalancer(), kgo.RoundRobinBalancer()} {
		if b.ProtocolName() == name {
			return b
		}
	}
	return nil
}

func (p *phantom) runClassic() {
	defer p.reconnect()
	c := p.c
	c.mu.Lock()
	g := c.groups[p.group]
	sessionMs, rebalMs := max(g.sessionMs, 1000), max(g.rebalMs, 1000)
	p.sessionMs = sessionMs
	topics := slices.Clone(g.topics)
	var protocols []kmsg.JoinGroupRequestProtocol
	for _, rp := range g.protocols {
		pr := kmsg.NewJoinGroupRequestProtocol()
		pr.Name = rp.Name
		if b := balancerFor(rp.Name); b != nil {
			pr.Metadata = b.JoinGroupMetadata(topics, nil, -1)
		} else {
			pr.Metadata = rp.Metadata
		}
		protocols = append(protocols, pr)
	}
	c.mu.Unlock()
	heartbeat := 100 * time.Millisecond

	for {
		// Join (twice for a new member: MEMBER_ID_REQUIRED hands us an id).
		jr := kmsg.NewPtrJoinGroupRequest()
		jr.Version = 5
		jr.Group, jr.MemberID, jr.ProtocolType, jr.Protocols = p.group, p.memberID, "consumer", protocols
		jr.SessionTimeoutMillis, jr.RebalanceTimeoutMillis = sessionMs, rebalMs
		resp, err := p.request(jr)
		if errors.Is(err, errPhantomStopped) {
			p.leaveClassic()
			return
		}
		if err != nil {
			p.reconnect()
			if !p.wait(heartbeat) {
				return
			}
			continue
		}
		join := resp.(*kmsg.JoinGroupResponse)
		switch join.ErrorCode {
		case 0:
		case kerr.MemberIDRequired.Code:
			p.memberID = join.MemberID
			continue
		case kerr.UnknownMemberID.Code:
			p.memberID = ""
			continue
		case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code:
			p.reconnect()
			continue
		default:
			if !p.wait(heartbeat) {
				return
			}
			continue
		}
		p.memberID = join.MemberID
		c.noteJoinResponse(p.group, join)

		sr := kmsg.NewPtrSyncGroupRequest()
		sr.Version = 3
		sr.Group, sr.Generation, sr.MemberID = p.group, join.Generation, p.memberID
		sr.ProtocolType, sr.Protocol = kmsg.StringPtr("consumer"), join.Protocol
		if join.LeaderID == p.memberID {
			sr.GroupAssignment = p.balance(join)
		}
		resp, err = p.request(sr)
		if errors.Is(err, errPhantomStopped) {
			p.leaveClassic()
			return
		}
		if err != nil || resp.(*kmsg.SyncGroupResponse).ErrorCode != 0 {
			p.reconnect()
			continue
		}
		p.markJoined()

		// Heartbeat until told to rejoin.
		for {
			if !p.wait(heartbeat) {
				p.leaveClassic()
				return
			}
			hr := kmsg.NewPtrHeartbeatRequest()
			hr.Version = 3
			hr.Group, hr.Generation, hr.MemberID = p.group, join.Generation, p.memberID
			resp, err := p.request(hr)
			if errors.Is(err, errPhantomStopped) {
				p.leaveClassic()
				return
			}
			if err != nil {
				p.reconnect()
				break
			}
			code := resp.(*kmsg.HeartbeatResponse).ErrorCode
			if code == 0 {
				continue
			}
			if code == kerr.UnknownMemberID.Code {
				p.memberID = ""
			}
			if code == kerr.NotCoordinator.Code {
				p.reconnect()
			}
			break
		}
	}
}

// balance assigns the group as the leader, with the kgo balancer of the
// chosen protocol.
func (p *phantom) balance(join *kmsg.JoinGroupResponse) []kmsg.SyncGroupRequestGroupAssignment {
	b := balancerFor(*join.Protocol)
	if b == nil {
		return nil
	}
	mb, topics, err := b.MemberBalancer(join.Members)
	if err != nil {
		return nil
	}
	counts := map[string]int32{}
	p.c.mu.Lock()
	for t := range topics {
		if ts := p.c.topics[t]; ts != nil {
			counts[t] = int32(len(ts.parts))
		}
	}
	p.c.mu.Unlock()
	if be, ok := mb.(kgo.GroupMemberBalancerOrError); ok {
		plan, err := be.BalanceOrError(counts)
		if err != nil {
			return nil
		}
		return plan.IntoSyncAssignment()
	}
	return mb.Balance(counts).IntoSyncAssignment()
}

func (p *phantom) leaveClassic() {
	if p.memberID == "" {
		return
	}
	lr := kmsg.NewPtrLeaveGroupRequest()
	lr.Version = 3
	lr.Group = p.group
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = p.memberID
	lr.Members = append(lr.Members, m)
	p.stopFree(lr)
}

// stopFree sends a last request after the phantom was stopped.
func (p *phantom) stopFree(req kmsg.Request) {
	p.reconnect()
	coord := p.c.coordinatorFor(p.group)
	_, _ = p.c.request(coord, req)
}

func (p *phantom) run848() {
	defer p.reconnect()
	c := p.c
	c.mu.Lock()
	topics := slices.Clone(c.groups[p.group].topics)
	regex := c.groups[p.group].regex
	// kfake takes the group's assignor from every joining member: a
	// phantom must name the real members' one or it switches the group's.
	assignor := c.groups[p.group].assignor
	c.mu.Unlock()
	epoch := int32(0)
	interval := 100 * time.Millisecond
	var owned []kmsg.ConsumerGroupHeartbeatRequestTopic
	for {
		hr := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		hr.Group, hr.MemberID, hr.MemberEpoch = p.group, p.memberID, epoch
		hr.RebalanceTimeoutMillis = 5000
		hr.SubscribedTopicNames, hr.SubscribedTopicRegex = topics, regex
		if regex != nil {
			hr.SubscribedTopicNames = nil
		}
		hr.ServerAssignor = assignor
		hr.Topics = owned
		if hr.Topics == nil {
			hr.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		}
		resp, err := p.request(hr)
		if errors.Is(err, errPhantomStopped) {
			leave := kmsg.NewPtrConsumerGroupHeartbeatRequest()
			leave.Group, leave.MemberID, leave.MemberEpoch = p.group, p.memberID, -1
			p.stopFree(leave)
			return
		}
		if err != nil {
			p.reconnect()
		} else {
			r := resp.(*kmsg.ConsumerGroupHeartbeatResponse)
			switch r.ErrorCode {
			case 0:
				epoch = r.MemberEpoch
				if r.HeartbeatIntervalMillis > 0 {
					interval = time.Duration(r.HeartbeatIntervalMillis) * time.Millisecond
				}
				if r.Assignment != nil {
					owned = owned[:0]
					for _, t := range r.Assignment.Topics {
						ot := kmsg.NewConsumerGroupHeartbeatRequestTopic()
						ot.TopicID, ot.Partitions = t.TopicID, slices.Clone(t.Partitions)
						owned = append(owned, ot)
					}
					p.markJoined()
					continue // acknowledge the assignment at once
				}
				if epoch > 0 {
					p.markJoined()
				}
			case kerr.FencedMemberEpoch.Code, kerr.UnknownMemberID.Code:
				epoch, owned = 0, nil
			case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code:
				p.reconnect()
			}
		}
		if !p.wait(interval) {
			leave := kmsg.NewPtrConsumerGroupHeartbeatRequest()
			leave.Group, leave.MemberID, leave.MemberEpoch = p.group, p.memberID, -1
			p.stopFree(leave)
			return
		}
	}
}
