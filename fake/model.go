package fake

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type topicState struct {
	name    string
	parts   []*partitionState
	minISR  int
	unclean bool
}

type partitionState struct {
	topic    *topicState
	id       int32
	replicas []int32 // preferred leader first
	isr      []int32
	leader   int32 // -1: offline
	epoch    int32
	paused   bool // every follower of this partition copies nothing

	// The replication model. While some ISR follower is paused, writes
	// collect in tail (acknowledged per acks, invisible to consumers);
	// kfake's log is the replicated prefix and ends at the high watermark.
	tailMode bool
	leo      int64 // leader log end, valid in tail mode
	tail     []*tailBatch
	inflight int  // produce requests forwarded to kfake and not answered yet
	entering bool // someone is switching this partition to tail mode
	flushMu  sync.Mutex
	// epochs is the leader epoch history: each epoch and the offset its
	// leader started at, answering OffsetForLeaderEpoch as Kafka does.
	epochs   []epochStart
	lagTimer *time.Timer
	offline  *kfake.FaultHandle
	// logged is each idempotent producer's last batches in kfake's log,
	// so a retry kfake deduplicates is not journaled as an append.
	logged map[int64]*loggedBatches
	// stale holds, by broker, the fenced brokers that still believe they
	// lead this partition (Isolate); see isolate.go.
	stale map[int32]*staleLead
}

type epochStart struct {
	epoch int32
	start int64
}

func (p *partitionState) noteEpochLocked(epoch int32, start int64) {
	if n := len(p.epochs); n > 0 && p.epochs[n-1].epoch >= epoch {
		return
	}
	p.epochs = append(p.epochs, epochStart{epoch, start})
}

// endOffsetFor is Kafka's answer to OffsetForLeaderEpoch: the end of
// epoch e, i.e. where the next epoch started, or the log end for the
// current epoch.
func (p *partitionState) endOffsetFor(e int32, logEnd int64) (int32, int64) {
	if e == p.epoch {
		return e, logEnd
	}
	for i, es := range p.epochs {
		if es.epoch > e {
			if i == 0 {
				return -1, -1
			}
			return p.epochs[i-1].epoch, es.start
		}
	}
	return -1, -1
}

func (p *partitionState) name() string { return fmt.Sprintf("%s[%d]", p.topic.name, p.id) }

func (p *partitionState) tailEnd() int64 {
	if p.tailMode {
		return p.leo
	}
	return 0
}

func (p *partitionState) stopLagTimer() {
	if p.lagTimer != nil {
		p.lagTimer.Stop()
		p.lagTimer = nil
	}
}

// followerPausedLocked reports whether broker b, as a follower of p, copies nothing.
func (c *Cluster) followerPausedLocked(p *partitionState, b int32) bool {
	if p.paused {
		return true
	}
	bs := c.brokers[b]
	return bs == nil || bs.paused || !bs.up || c.net.Isolated(p.leader, b)
}

// needsTailLocked: some in-sync follower is not copying, so new writes
// cannot be committed at once.
func (c *Cluster) needsTailLocked(p *partitionState) bool {
	for _, r := range p.isr {
		if r != p.leader && c.followerPausedLocked(p, r) {
			return true
		}
	}
	return false
}

// assignReplicas is Kafka's rack-unaware assignment over the live brokers:
// a random start and a random shift, both from the cluster seed.
func (c *Cluster) assignReplicasLocked(partitions int, rf int) [][]int32 {
	var live []int32
	for _, id := range c.brokerIDsLocked() {
		if c.brokers[id].eligible() {
			live = append(live, id)
		}
	}
	n := len(live)
	if n == 0 {
		return make([][]int32, partitions)
	}
	rf = min(rf, n)
	start := c.rng.IntN(n)
	shift := c.rng.IntN(n)
	out := make([][]int32, partitions)
	for p := 0; p < partitions; p++ {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (p + start) % n
		rs := []int32{live[first]}
		for j := 0; j < rf-1; j++ {
			s := 1 + (shift+j)%(n-1)
			rs = append(rs, live[(first+s)%n])
		}
		out[p] = rs
	}
	return out
}

// syncTopics brings topics that clients created, deleted or grew into the
// model, placing their replicas and leaders.
func (c *Cluster) syncTopics() error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	req.Topics = nil // all
	resp, err := c.request(-1, req)
	if err != nil {
		return err
	}
	md := resp.(*kmsg.MetadataResponse)
	present := map[string]int{}
	ids := map[string][16]byte{}
	for _, t := range md.Topics {
		if t.Topic == nil || t.ErrorCode != 0 {
			continue
		}
		present[*t.Topic] = len(t.Partitions)
		ids[*t.Topic] = t.TopicID
	}
	type move struct {
		topic  string
		part   int32
		leader int32
	}
	var moves []move
	var created []string
	c.mu.Lock()
	clear(c.topicIDs)
	for name, id := range ids {
		c.topicIDs[id] = name
	}
	for name, t := range c.topics {
		if _, ok := present[name]; !ok {
			for _, p := range t.parts {
				c.dropTailLocked(p, kerr.UnknownTopicOrPartition, "topic deleted", false)
				p.stopLagTimer()
			}
			delete(c.topics, name)
			c.journal.Add(Event{Kind: EventTopicDeleted, Topic: name})
		}
	}
	var grow []string
	for name, n := range present {
		if t, ok := c.topics[name]; !ok || len(t.parts) < n {
			grow = append(grow, name)
		}
	}
	c.mu.Unlock()
	slices.Sort(grow)
	for _, name := range grow {
		info := c.topicInfo(name)
		if info == nil {
			continue
		}
		c.mu.Lock()
		t, ok := c.topics[name]
		if !ok {
			t = &topicState{name: name}
			c.topics[name] = t
			created = append(created, name)
		}
		t.applyConfigs(info.Configs)
		n := present[name]
		placement := c.assignReplicasLocked(n, info.NumReplicas)
		for i := len(t.parts); i < n; i++ {
			rs := placement[i]
			p := &partitionState{topic: t, id: int32(i), replicas: rs, isr: slices.Clone(rs), leader: -1}
			if len(rs) > 0 {
				p.leader = rs[0]
				moves = append(moves, move{name, int32(i), rs[0]})
			}
			t.parts = append(t.parts, p)
		}
		c.mu.Unlock()
	}
	for _, m := range moves {
		if err := c.moveTopicPartition(m.topic, m.part, m.leader); err != nil {
			return err
		}
	}
	for _, name := range grow {
		c.refreshEpochs(name)
	}
	for _, name := range created {
		c.mu.Lock()
		t := c.topics[name]
		for _, p := range t.parts {
			c.journal.Add(Event{Kind: EventLeaderChange, Topic: name, Partition: p.id, Leader: p.leader, Epoch: p.epoch, ISR: slices.Clone(p.isr), Detail: fmt.Sprintf("replicas %v", p.replicas)})
		}
		c.mu.Unlock()
		c.journal.Add(Event{Kind: EventTopicCreated, Topic: name, Detail: fmt.Sprintf("%d partitions", len(t.parts))})
	}
	return nil
}

func (t *topicState) applyConfigs(cfgs map[string]*string) {
	t.minISR = 1
	if v := cfgs["min.insync.replicas"]; v != nil {
		if n, err := strconv.Atoi(*v); err == nil && n > 0 {
			t.minISR = n
		}
	}
	t.unclean = false
	if v := cfgs["unclean.leader.election.enable"]; v != nil && *v == "true" {
		t.unclean = true
	}
}

// refreshConfigs re-reads topic configs that clients may have altered.
func (c *Cluster) refreshConfigs() {
	c.mu.Lock()
	names := make([]string, 0, len(c.topics))
	for n := range c.topics {
		names = append(names, n)
	}
	c.mu.Unlock()
	for _, n := range names {
		info := c.topicInfo(n)
		if info == nil {
			continue
		}
		c.mu.Lock()
		if t := c.topics[n]; t != nil {
			t.applyConfigs(info.Configs)
		}
		c.mu.Unlock()
	}
}

// refreshEpochs copies kfake's leader epochs (kfake fences with them, so
// the model must agree) and, for partitions in tail mode, nothing else.
func (c *Cluster) refreshEpochs(topic string) {
	infos := c.partitionInfos(topic)
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.topics[topic]
	if t == nil {
		return
	}
	for _, pi := range infos {
		if int(pi.Partition) < len(t.parts) {
			p := t.parts[pi.Partition]
			p.epoch = pi.Epoch
			p.noteEpochLocked(pi.Epoch, pi.HighWatermark)
		}
	}
}

// setLeader points kfake at the model's leader for p and reads back the
// epoch. It must be called without c.mu held.
func (c *Cluster) applyLeader(p *partitionState) error {
	c.mu.Lock()
	leader, topic, part, prev := p.leader, p.topic.name, p.id, p.epoch
	c.mu.Unlock()
	if leader >= 0 {
		c.setOffline(p, false)
		if err := c.moveTopicPartition(topic, part, leader); err != nil {
			return err
		}
		// Every leader gets a new epoch. An offline partition's epoch is
		// already one past kfake's, so a leader after it needs kfake's
		// epoch bumped once more (each move bumps it).
		if pi := c.partitionInfo(topic, part); pi != nil && pi.Epoch <= prev {
			if err := c.moveTopicPartition(topic, part, leader); err != nil {
				return err
			}
		}
	} else {
		c.setOffline(p, true)
	}
	if pi := c.partitionInfo(topic, part); pi != nil {
		c.mu.Lock()
		p.epoch = pi.Epoch
		if leader < 0 {
			p.epoch++ // offline: no broker leads, but clients must refresh
		}
		p.noteEpochLocked(p.epoch, pi.HighWatermark)
		c.mu.Unlock()
	}
	return nil
}

// setOffline makes kfake refuse reads and writes of an offline partition,
// through kfake's own fault injection.
func (c *Cluster) setOffline(p *partitionState, offline bool) {
	c.mu.Lock()
	h := p.offline
	p.offline = nil
	c.mu.Unlock()
	if h != nil {
		h.Remove()
	}
	if !offline {
		return
	}
	c.mu.Lock()
	nodes := c.offlineNodesLocked(p)
	c.mu.Unlock()
	h = c.kf.Fault(kfake.Fault{
		Nodes:      nodes,
		Keys:       []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.ListOffsets, kmsg.OffsetForLeaderEpoch},
		Topic:      p.topic.name,
		Partitions: []int32{p.id},
		Err:        kerr.NotLeaderForPartition,
		Count:      -1,
	})
	c.mu.Lock()
	p.offline = h
	c.mu.Unlock()
}
