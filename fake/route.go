package fake

import (
	"fmt"
	"slices"

	"github.com/seed73168108/kafkaemu/internal/observe"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// route handles one client request on its way to kfake (the network
// faults have had their say). It returns false when the connection is
// done.
func (c *Cluster) route(cn *conn, h reqHeader, frame, body []byte) bool {
	if handled, alive := c.routeFenced(cn, h, body); handled {
		return alive
	}
	switch kmsg.Key(h.Key) {
	case kmsg.Produce:
		return c.routeProduce(cn, h, frame, body)
	case kmsg.Metadata:
		if h.Version < 4 && c.cfg.autoCreate {
			c.autoCreateOld(h, body)
		}
		return c.forwardThen(cn, h, frame, c.isolatedView(cn.Node(), h, c.rewriteMetadata(h)))
	case kmsg.Fetch:
		return c.forwardThen(cn, h, frame, c.observeFetch(cn, h, body))
	case kmsg.OffsetCommit, kmsg.TxnOffsetCommit:
		return c.forwardThen(cn, h, frame, c.observeCommit(cn, h, body))
	case kmsg.EndTxn:
		if req, err := decodeRequest(h, body); err == nil {
			r := req.(*kmsg.EndTxnRequest)
			if c.fencedZombie(cn, h, r.ProducerID, r.ProducerEpoch, r.TransactionalID) {
				resp := r.ResponseKind().(*kmsg.EndTxnResponse)
				resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = kerr.ProducerFenced.Code, -1, -1
				return c.answer(cn, h, resp)
			}
			c.waitTxnTails(r.ProducerID)
		}
		return c.forwardThen(cn, h, frame, c.observeEndTxn(cn, h, body))
	case kmsg.JoinGroup, kmsg.SyncGroup:
		if kmsg.Key(h.Key) == kmsg.JoinGroup {
			frame = c.staticRejoin(h, frame, body)
		}
		s := c.forwardObserved(cn, h, frame, c.observeGroup(cn, h, body))
		if s == nil {
			return false
		}
		c.keepAwaitingAlive(cn, s, h, body)
		return true
	case kmsg.Heartbeat, kmsg.LeaveGroup, kmsg.ConsumerGroupHeartbeat, kmsg.OffsetFetch:
		return c.forwardThen(cn, h, frame, c.observeGroup(cn, h, body))
	case kmsg.CreateTopics, kmsg.DeleteTopics, kmsg.CreatePartitions:
		return c.toController(cn, h, body)
	case kmsg.ElectLeaders:
		return c.routeElectLeaders(cn, h, body)
	case kmsg.AlterPartitionAssignments:
		return c.routeAlterPartitionAssignments(cn, h, body)
	case kmsg.InitProducerID:
		return c.routeInitProducerID(cn, h, frame, body)
	case kmsg.FindCoordinator:
		c.noteCoordinatorKeys(h, body)
	case kmsg.OffsetForLeaderEpoch:
		return c.forwardThen(cn, h, frame, c.rewriteEpochEnds(h, body))
	case kmsg.SASLHandshake:
		return c.forwardThen(cn, h, frame, listMechanisms(h))
	case kmsg.AlterConfigs, kmsg.IncrementalAlterConfigs:
		return c.forwardThen(cn, h, frame, func(f []byte) []byte {
			c.refreshConfigs()
			return f
		})
	}
	return c.forwardPlain(cn, h, frame)
}

// autoCreateOld creates the unknown topics a Metadata v0-3 request names:
// before v4 a request could not say AllowAutoTopicCreation and brokers
// created topics for it (kafka-python sends v1), but kfake decodes the
// missing field as false.
func (c *Cluster) autoCreateOld(h reqHeader, body []byte) {
	kreq, err := decodeRequest(h, body)
	if err != nil {
		return
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 4
	req.TimeoutMillis = 5000
	c.mu.Lock()
	for _, t := range kreq.(*kmsg.MetadataRequest).Topics {
		if t.Topic != nil && c.topics[*t.Topic] == nil {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = *t.Topic, -1, -1
			req.Topics = append(req.Topics, rt)
		}
	}
	c.mu.Unlock()
	if len(req.Topics) > 0 {
		_, _ = c.requestController(req) // an existing topic answers TOPIC_ALREADY_EXISTS
	}
}

// staticRejoin keeps a restarted static member from rebalancing its group.
// Kafka (KIP-345) hands a static member that rejoins with the same
// protocols its old assignment without a rebalance; kfake compares the
// protocol metadata byte for byte, and a restarted client's metadata
// differs (it knows no generation or owned partitions yet). So a rejoin
// of a known group.instance.id with the same protocol names carries the
// instance's previous metadata.
func (c *Cluster) staticRejoin(h reqHeader, frame, body []byte) []byte {
	kreq, err := decodeRequest(h, body)
	if err != nil {
		return frame
	}
	req := kreq.(*kmsg.JoinGroupRequest)
	if req.InstanceID == nil {
		return frame
	}
	key := req.Group + "\x00" + *req.InstanceID
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, known := c.staticJoins[key]
	if req.MemberID != "" || !known || !sameProtocolNames(prev, req.Protocols) {
		c.staticJoins[key] = slices.Clone(req.Protocols)
		return frame
	}
	req.Protocols = prev
	return encodeRequest(h, req)
}

func sameProtocolNames(a, b []kmsg.JoinGroupRequestProtocol) bool {
	return slices.EqualFunc(a, b, func(x, y kmsg.JoinGroupRequestProtocol) bool { return x.Name == y.Name })
}

// toController answers a topic admin request on any broker by passing it
// to kfake's controller, as KRaft brokers forward to the controller; so
// killing the controller's broker does not stop topic creation.
func (c *Cluster) toController(cn *conn, h reqHeader, body []byte) bool {
	req, err := decodeRequest(h, body)
	if err != nil {
		return false
	}
	s := newSlot(h)
	if !cn.Respond(s) {
		return false
	}
	resp, err := c.requestController(req)
	if err != nil {
		return false
	}
	_ = c.syncTopics()
	s.Fill(encodeResponse(h.Corr, resp))
	return true
}

// routeInitProducerID keeps a fenced zombie fenced. kfake accepts an
// InitProducerID that names a producer id with any epoch up to the
// current one (KIP-360 recovery), so a zombie whose transactional id a new
// instance took over could re-initialise and fence the new instance in
// turn. Kafka refuses it with PRODUCER_FENCED: only the current epoch (or
// the one before a timeout bump) may recover. fake remembers the epoch
// each InitProducerID handed out and refuses recoveries from before it;
// epochs kfake bumps on its own (transaction timeouts) are still
// recoverable.
func (c *Cluster) routeInitProducerID(cn *conn, h reqHeader, frame, body []byte) bool {
	kreq, err := decodeRequest(h, body)
	if err != nil {
		return c.forwardPlain(cn, h, frame)
	}
	req := kreq.(*kmsg.InitProducerIDRequest)
	if req.TransactionalID != nil && req.ProducerID >= 0 && req.ProducerEpoch >= 0 &&
		c.fencedZombie(cn, h, req.ProducerID, req.ProducerEpoch, *req.TransactionalID) {
		resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ErrorCode, resp.ProducerID, resp.ProducerEpoch = kerr.ProducerFenced.Code, -1, -1
		return c.answer(cn, h, resp)
	}
	return c.forwardThen(cn, h, frame, func(f []byte) []byte {
		resp := kmsg.NewPtrInitProducerIDResponse()
		resp.Version = h.Version
		if decodeResponse(f, resp) != nil {
			return f
		}
		e, ok := observe.ProducerInit(source(cn, h), req, resp)
		if !ok {
			return f
		}
		if resp.ErrorCode == 0 {
			c.mu.Lock()
			c.issuedEpochs[resp.ProducerID] = max(c.issuedEpochs[resp.ProducerID], resp.ProducerEpoch)
			c.mu.Unlock()
		}
		c.journal.Add(e)
		return f
	})
}

// fencedZombie reports (and journals) whether pid at epoch is an instance
// a newer InitProducerID fenced. With transactions V2 (KIP-890) every
// EndTxn bumps the epoch and hands the new one back; kfake accepts an
// EndTxn from the epoch before, as a retry, and so handed a fenced
// zombie its successor's epoch. Kafka answers PRODUCER_FENCED.
func (c *Cluster) fencedZombie(cn *conn, h reqHeader, pid int64, epoch int16, txnID string) bool {
	c.mu.Lock()
	issued, known := c.issuedEpochs[pid]
	c.mu.Unlock()
	if !known || epoch >= issued {
		return false
	}
	c.journal.Add(Event{Kind: EventProduceRejected, Broker: cn.Node(), ProducerID: pid, ProducerEpoch: epoch, Client: h.ClientID,
		Error: errMessage(kerr.ProducerFenced.Code), Detail: fmt.Sprintf("%s from epoch %d, fenced by epoch %d (transactional.id=%s)", kmsg.NameForKey(h.Key), epoch, issued, txnID)})
	return true
}

// answer sends resp, fake's own answer to a request kfake never sees.
func (c *Cluster) answer(cn *conn, h reqHeader, resp kmsg.Response) bool {
	return cn.Answer(h, resp)
}

// noteCoordinatorKeys remembers group and transactional ids so that a
// broker crash can move their coordinators to live brokers.
func (c *Cluster) noteCoordinatorKeys(h reqHeader, body []byte) {
	req, err := decodeRequest(h, body)
	if err != nil {
		return
	}
	r := req.(*kmsg.FindCoordinatorRequest)
	keys := append([]string{r.CoordinatorKey}, r.CoordinatorKeys...)
	c.mu.Lock()
	added, anyDown := false, false
	for _, k := range keys {
		if _, known := c.coordKeys[k]; k != "" && !known {
			c.coordKeys[k] = r.CoordinatorType
			added = true
		}
	}
	for _, b := range c.brokers {
		anyDown = anyDown || !b.eligible()
	}
	c.mu.Unlock()
	if added && anyDown {
		_ = c.moveCoordinatorsOff()
	}
}

// forwardThen forwards a request to kfake and passes kfake's answer
// through fn before the client sees it.
func (c *Cluster) forwardThen(cn *conn, h reqHeader, frame []byte, fn func([]byte) []byte) bool {
	return cn.ForwardThen(h, frame, fn) != nil
}

// forwardObserved is forwardThen returning the response's slot (nil when
// the connection is done), for a caller that waits on the answer.
func (c *Cluster) forwardObserved(cn *conn, h reqHeader, frame []byte, fn func([]byte) []byte) *slot {
	return cn.ForwardThen(h, frame, fn)
}

// rewriteMetadata makes Metadata show the model: leader, epoch, replicas,
// ISR and offline replicas, and a live controller.
func (c *Cluster) rewriteMetadata(h reqHeader) func([]byte) []byte {
	return func(frame []byte) []byte {
		resp := kmsg.NewPtrMetadataResponse()
		resp.Version = h.Version
		if err := decodeResponse(frame, resp); err != nil {
			return frame
		}
		c.mu.Lock()
		unknown := false
		for _, t := range resp.Topics {
			if t.Topic != nil && t.ErrorCode == 0 {
				if mt := c.topics[*t.Topic]; mt == nil || len(mt.parts) < len(t.Partitions) {
					unknown = true
				}
			}
		}
		c.mu.Unlock()
		if unknown {
			_ = c.syncTopics()
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if b := c.brokers[resp.ControllerID]; b == nil || !b.up {
			resp.ControllerID = c.anyLiveBrokerLocked()
		}
		resp.Brokers = slices.DeleteFunc(resp.Brokers, func(b kmsg.MetadataResponseBroker) bool {
			return c.brokers[b.NodeID] != nil && !c.brokers[b.NodeID].up
		})
		for i := range resp.Topics {
			t := &resp.Topics[i]
			if t.Topic == nil {
				continue
			}
			mt := c.topics[*t.Topic]
			if mt == nil {
				continue
			}
			for j := range t.Partitions {
				sp := &t.Partitions[j]
				if sp.ErrorCode != 0 || int(sp.Partition) >= len(mt.parts) {
					continue
				}
				p := mt.parts[sp.Partition]
				sp.Leader = p.leader
				sp.LeaderEpoch = p.epoch
				sp.Replicas = cloneIDs(p.replicas)
				sp.ISR = cloneIDs(p.isr)
				sp.OfflineReplicas = nil
				for _, r := range p.replicas {
					if b := c.brokers[r]; b == nil || !b.up {
						sp.OfflineReplicas = append(sp.OfflineReplicas, r)
					}
				}
				if p.leader < 0 {
					sp.ErrorCode = kerr.LeaderNotAvailable.Code
				}
			}
		}
		return encodeResponse(h.Corr, resp)
	}
}

// topicName resolves a topic given by name or, in newer requests, by id
// (an observe.TopicName).
func (c *Cluster) topicName(name string, id [16]byte) string {
	if name != "" || id == ([16]byte{}) {
		return name
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topicIDs[id]
}

// rewriteEpochEnds answers OffsetForLeaderEpoch from the model's epoch
// history: kfake knows only epochs that have batches, while a Kafka leader
// records its epoch when elected, so a consumer validating its position
// after a failover would otherwise see "unknown epoch" and reset.
func (c *Cluster) rewriteEpochEnds(h reqHeader, body []byte) func([]byte) []byte {
	return func(frame []byte) []byte {
		kreq, err := decodeRequest(h, body)
		if err != nil {
			return frame
		}
		req := kreq.(*kmsg.OffsetForLeaderEpochRequest)
		resp := kmsg.NewPtrOffsetForLeaderEpochResponse()
		resp.Version = h.Version
		if decodeResponse(frame, resp) != nil {
			return frame
		}
		asked := map[string]map[int32]int32{}
		for _, t := range req.Topics {
			asked[t.Topic] = map[int32]int32{}
			for _, p := range t.Partitions {
				asked[t.Topic][p.Partition] = p.LeaderEpoch
			}
		}
		c.mu.Lock()
		type fix struct {
			sp    *kmsg.OffsetForLeaderEpochResponseTopicPartition
			p     *partitionState
			epoch int32
		}
		var fixes []fix
		for i := range resp.Topics {
			t := &resp.Topics[i]
			for j := range t.Partitions {
				sp := &t.Partitions[j]
				e, ok := asked[t.Topic][sp.Partition]
				p := c.lookupLocked(t.Topic, sp.Partition)
				if sp.ErrorCode == 0 && ok && p != nil {
					fixes = append(fixes, fix{sp, p, e})
				}
			}
		}
		c.mu.Unlock()
		for _, f := range fixes {
			var hw int64
			if pi := c.partitionInfo(f.p.topic.name, f.p.id); pi != nil {
				hw = pi.HighWatermark
			}
			c.mu.Lock()
			f.sp.LeaderEpoch, f.sp.EndOffset = f.p.endOffsetFor(f.epoch, hw)
			c.mu.Unlock()
		}
		return encodeResponse(h.Corr, resp)
	}
}

// observeFetch journals the record ranges each connection was served.
func (c *Cluster) observeFetch(cn *conn, h reqHeader, body []byte) func([]byte) []byte {
	readCommitted := observe.FetchIsolation(h.Version, body) == 1
	return func(frame []byte) []byte {
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = h.Version
		if err := decodeResponse(frame, resp); err != nil {
			return frame
		}
		for _, e := range observe.Fetches(source(cn, h), resp, readCommitted, c.topicName) {
			c.journal.Add(e)
		}
		return frame
	}
}

// source is where a client request came from, for the journal.
func source(cn *conn, h reqHeader) observe.Source {
	return observe.Source{Broker: cn.Node(), Client: h.ClientID, Conn: cn.Remote()}
}

// observeCommit journals committed offsets and what the coordinator
// answered.
func (c *Cluster) observeCommit(cn *conn, h reqHeader, body []byte) func([]byte) []byte {
	kreq, err := decodeRequest(h, body)
	return func(frame []byte) []byte {
		if err != nil {
			return frame
		}
		resp := kreq.ResponseKind()
		resp.SetVersion(h.Version)
		if decodeResponse(frame, resp) != nil {
			return frame
		}
		for _, e := range observe.Commits(source(cn, h), kreq, resp, c.topicName) {
			c.journal.Add(e)
		}
		return frame
	}
}

// observeGroup journals group membership: generations, member epochs,
// assignments, and errors such as REBALANCE_IN_PROGRESS.
func (c *Cluster) observeGroup(cn *conn, h reqHeader, body []byte) func([]byte) []byte {
	kreq, err := decodeRequest(h, body)
	if err == nil {
		c.noteGroupRequest(kreq)
	}
	return func(frame []byte) []byte {
		if err != nil {
			return frame
		}
		resp := kreq.ResponseKind()
		resp.SetVersion(h.Version)
		if decodeResponse(frame, resp) != nil {
			return frame
		}
		if r, ok := resp.(*kmsg.JoinGroupResponse); ok {
			c.noteJoinResponse(kreq.(*kmsg.JoinGroupRequest).Group, r)
		}
		if e, ok := observe.Group(source(cn, h), kreq, resp); ok {
			c.journal.Add(e)
		}
		return frame
	}
}

// observeEndTxn journals transaction commits and aborts.
func (c *Cluster) observeEndTxn(cn *conn, h reqHeader, body []byte) func([]byte) []byte {
	kreq, err := decodeRequest(h, body)
	return func(frame []byte) []byte {
		req, ok := kreq.(*kmsg.EndTxnRequest)
		if err != nil || !ok {
			return frame
		}
		resp := kmsg.NewPtrEndTxnResponse()
		resp.Version = h.Version
		if decodeResponse(frame, resp) != nil {
			return frame
		}
		c.journal.Add(observe.EndTxn(source(cn, h), req, resp))
		return frame
	}
}
