package fake

import (
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Election types of ElectLeaders (KIP-460).
const (
	electPreferred int8 = 0
	electUnclean   int8 = 1
)

// routeElectLeaders answers an ElectLeaders request from the model, as
// Kafka's controller does; kfake never sees it (it would move leaders
// behind the model's back).
func (c *Cluster) routeElectLeaders(cn *conn, h reqHeader, body []byte) bool {
	kreq, err := decodeRequest(h, body)
	if err != nil {
		return false // validation decoded it already
	}
	s := newSlot(h)
	if !cn.Respond(s) {
		return false
	}
	s.Fill(encodeResponse(h.Corr, c.electLeaders(kreq.(*kmsg.ElectLeadersRequest))))
	return true
}

// electLeaders is Kafka's answer to req: for each partition named (every
// partition when the topic list is null, leaving out those that need no
// election), a preferred election moves leadership to the first replica
// of the assignment if it is alive and in the ISR; an unclean one elects
// a leader only for an offline partition, any live replica when no
// in-sync one is, whatever the topic's unclean.leader.election.enable.
func (c *Cluster) electLeaders(req *kmsg.ElectLeadersRequest) *kmsg.ElectLeadersResponse {
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	typ := req.ElectionType
	if req.Version == 0 {
		typ = electPreferred
	}
	_ = c.syncTopics() // topics clients created join the model
	add := func(topic string, part int32, code *kerr.Error, msg string, all bool) {
		if all && code == kerr.ElectionNotNeeded {
			return
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = part
		if code != nil {
			rp.ErrorCode = code.Code
			rp.ErrorMessage = &msg
		}
		i := len(resp.Topics) - 1
		if i < 0 || resp.Topics[i].Topic != topic {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = topic
			resp.Topics = append(resp.Topics, rt)
			i++
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	if typ != electPreferred && typ != electUnclean {
		resp.ErrorCode = kerr.InvalidRequest.Code
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				add(t.Topic, p, kerr.InvalidRequest, fmt.Sprintf("unknown election type %d (0 is preferred, 1 unclean)", typ), false)
			}
		}
		return resp
	}
	if req.Topics == nil {
		c.mu.Lock()
		type tp struct {
			topic string
			n     int
		}
		var all []tp
		for _, name := range slices.Sorted(maps.Keys(c.topics)) {
			all = append(all, tp{name, len(c.topics[name].parts)})
		}
		c.mu.Unlock()
		for _, t := range all {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = t.topic
			resp.Topics = append(resp.Topics, rt) // listed even when nothing needed an election, as Kafka does
			for p := range int32(t.n) {
				code, msg := c.electOne(t.topic, p, typ == electUnclean)
				add(t.topic, p, code, msg, true)
			}
		}
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewElectLeadersResponseTopic()
		rt.Topic = t.Topic
		resp.Topics = append(resp.Topics, rt)
		for _, p := range t.Partitions {
			code, msg := c.electOne(t.Topic, p, typ == electUnclean)
			add(t.Topic, p, code, msg, false)
		}
	}
	return resp
}

// electOne runs one partition's election and returns Kafka's error for
// it (nil: a new leader was elected) with a message.
func (c *Cluster) electOne(topic string, part int32, unclean bool) (*kerr.Error, string) {
	c.mu.Lock()
	p, err := c.partitionLocked(topic, part)
	c.mu.Unlock()
	if err != nil {
		return kerr.UnknownTopicOrPartition, err.Error()
	}
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return kerr.BrokerNotAvailable, errClosed.Error()
	}
	old := p.leader
	if !unclean {
		if len(p.replicas) == 0 {
			return kerr.PreferredLeaderNotAvailable, fmt.Sprintf("%s has no replicas", p.name())
		}
		pref := p.replicas[0]
		switch b := c.brokers[pref]; {
		case old == pref:
			return kerr.ElectionNotNeeded, fmt.Sprintf("preferred replica %d leads %s already", pref, p.name())
		case b == nil || !b.up:
			return kerr.PreferredLeaderNotAvailable, fmt.Sprintf("preferred replica %d of %s is down", pref, p.name())
		case b.fenced:
			return kerr.PreferredLeaderNotAvailable, fmt.Sprintf("preferred replica %d of %s is fenced (isolated from the controller)", pref, p.name())
		case !slices.Contains(p.isr, pref):
			return kerr.PreferredLeaderNotAvailable, fmt.Sprintf("preferred replica %d of %s is not in the ISR %v", pref, p.name(), p.isr)
		}
		why := fmt.Sprintf("preferred leader election: replica %d takes over from leader %d", pref, old)
		if err := c.handOverLocked(p, pref, true, why); err != nil {
			return kerr.UnknownServerError, err.Error()
		}
		return nil, ""
	}
	if old >= 0 {
		return kerr.ElectionNotNeeded, fmt.Sprintf("%s has a leader (broker %d)", p.name(), old)
	}
	next, clean := c.pickLeaderLocked(p, -1, true)
	if next < 0 {
		return kerr.EligibleLeadersNotAvailable, fmt.Sprintf("no replica of %s (replicas %v) is alive", p.name(), p.replicas)
	}
	if err := c.handOverLocked(p, next, clean, "unclean leader election requested by a client"); err != nil {
		return kerr.UnknownServerError, err.Error()
	}
	return nil, ""
}

// routeAlterPartitionAssignments answers AlterPartitionAssignments from
// the model: fake does not move replicas, so a reassignment is refused
// per partition with INVALID_REQUEST; one to the current replicas is done
// already, and cancelling (null replicas) finds no reassignment in
// progress. kfake never sees the request (it would move leaders behind
// the model's back).
func (c *Cluster) routeAlterPartitionAssignments(cn *conn, h reqHeader, body []byte) bool {
	kreq, err := decodeRequest(h, body)
	if err != nil {
		return false // validation decoded it already
	}
	req := kreq.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	_ = c.syncTopics()
	c.mu.Lock()
	for _, t := range req.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, rp := range t.Partitions {
			sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			sp.Partition = rp.Partition
			var code *kerr.Error
			var msg string
			p, err := c.partitionLocked(t.Topic, rp.Partition)
			switch {
			case err != nil:
				code, msg = kerr.UnknownTopicOrPartition, err.Error()
			case rp.Replicas == nil:
				code, msg = kerr.NoReassignmentInProgress, fmt.Sprintf("no reassignment of %s is in progress", p.name())
			case slices.Equal(rp.Replicas, p.replicas):
			default:
				code, msg = kerr.InvalidRequest, fmt.Sprintf("kafkaemu does not reassign replicas; %s keeps replicas %v (asked for %v)", p.name(), p.replicas, rp.Replicas)
			}
			if code != nil {
				sp.ErrorCode, sp.ErrorMessage = code.Code, &msg
			}
			rt.Partitions = append(rt.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	c.mu.Unlock()
	return c.answer(cn, h, resp)
}
