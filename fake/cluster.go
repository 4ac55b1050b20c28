package fake

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cluster is an in-process, multi-broker Kafka cluster: kfake speaks the
// protocol, Cluster owns the topology (replicas, ISR, leaders), the
// replication model and the wire between clients and brokers.
type Cluster struct {
	kf      *kfake.Cluster
	cfg     config
	seed    int64
	journal journal.Log
	net     *netfault.Layer
	vnet    *vnet // the in-memory network (VirtualNetwork); nil on TCP

	mu          sync.Mutex
	cond        *sync.Cond // broadcast when in-flight produces finish
	rng         *rand.Rand
	brokers     map[int32]*brokerState
	topics      map[string]*topicState
	topicIDs    map[[16]byte]string
	groups      map[string]*groupTrack
	staticJoins map[string][]kmsg.JoinGroupRequestProtocol // group + instance id -> its last protocols
	txnParts    map[int64]map[*partitionState]bool         // producer id -> partitions its open transaction wrote
	listening   int32                                      // the broker id the next ListenFn call is for
	controller  int32                                      // kfake's controller, which alone creates and deletes topics
	coordKeys   map[string]int8                            // group (0) and transactional (1) ids clients looked up
	// issuedEpochs: transactional producer id -> the newest epoch an
	// InitProducerID handed out (see routeInitProducerID).
	issuedEpochs map[int64]int16
	closed       bool
	isolations   []*isolation // Isolate faults not yet healed; see isolate.go

	kfMu     sync.RWMutex // held (read) by every call into kfake; see onKfake
	kfClosed bool

	topoMu sync.Mutex // one broker crash or restart at a time
	syncMu sync.Mutex // one topic sync at a time

	closeOnce sync.Once
	closeErr  error
	timers    sync.WaitGroup

	apiVersions wire.Versions // what clients may send, see wire_api.go
}

type brokerState struct {
	id       int32
	addr     string
	up       bool
	ln       *wire.Listener
	internal *conn
	paused   bool // as a follower, fetches nothing
	fenced   bool // the controller fenced it (Isolate); see isolate.go
}

// BrokerState is a snapshot of one broker.
// Its JSON field names are the journal's (lower case, words joined by _).
type BrokerState struct {
	ID   int32  `json:"id"`
	Addr string `json:"addr"`
	Up   bool   `json:"up"`
	// ReplicationPaused is set while the broker, as a follower, copies
	// nothing from its leaders (PauseFollower).
	ReplicationPaused bool `json:"replication_paused"`
	// Isolated is set while an Isolate fault cuts the broker off from the
	// controller and the other brokers; Fenced once the controller has
	// fenced it for that (after BrokerSessionTimeout).
	Isolated bool `json:"isolated"`
	Fenced   bool `json:"fenced"`
}

// Its JSON field names are the journal's (lower case, words joined by _).
type PartitionState struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Leader is the broker id of the leader, or -1 while the partition is
	// offline (no eligible replica).
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"` // the assignment, preferred leader first
	ISR         []int32 `json:"isr"`
	// HighWatermark is the end of the replicated prefix: consumers read
	// only below it.
	HighWatermark int64 `json:"high_watermark"`
	// LogEndOffset is the leader's log end, including records acknowledged
	// with acks=0/1 that no follower has copied yet.
	LogEndOffset   int64 `json:"log_end_offset"`
	LogStartOffset int64 `json:"log_start_offset"`
	// ReplicationPaused is set while this partition's followers copy nothing.
	ReplicationPaused bool `json:"replication_paused"`
}

// New starts a cluster on 127.0.0.1 with random ports (or on an in-memory
// network: VirtualNetwork). Close it when done.
func New(opts ...Option) (*Cluster, error) {
	cfg := config{brokers: 3, replicaLagMax: 200 * time.Millisecond, brokerSessionTimeout: DefaultBrokerSessionTimeout}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("fake.New: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, t := range cfg.topics {
		if seen[t.name] {
			return nil, fmt.Errorf("fake.Topic(%q): the topic is declared twice", t.name)
		}
		seen[t.name] = true
		if int(t.replicas) > cfg.brokers {
			return nil, fmt.Errorf("fake.Topic(%q): replicas = %d, but the cluster has %d brokers", t.name, t.replicas, cfg.brokers)
		}
		if err := checkTopicConfigs(t); err != nil {
			return nil, err
		}
	}
	if !cfg.seedSet {
		cfg.seed = rand.Int64()
	}
	c := &Cluster{
		cfg:          cfg,
		seed:         cfg.seed,
		rng:          rand.New(rand.NewPCG(uint64(cfg.seed), 0x6b61666b61656d75)),
		brokers:      make(map[int32]*brokerState),
		topics:       make(map[string]*topicState),
		topicIDs:     make(map[[16]byte]string),
		coordKeys:    make(map[string]int8),
		issuedEpochs: make(map[int64]int16),
		txnParts:     make(map[int64]map[*partitionState]bool),
		groups:       make(map[string]*groupTrack),
		staticJoins:  make(map[string][]kmsg.JoinGroupRequestProtocol),
	}
	c.journal.Bound(cfg.journalLimit, cfg.journalHooks...)
	c.cond = sync.NewCond(&c.mu)
	c.controller = -1
	if cfg.virtual {
		c.vnet = newVnet()
	}
	c.net = c.newNetLayer()

	// Fast group defaults first, so that the caller's kfake options win.
	kopts := []kfake.Opt{
		kfake.DefaultNumPartitions(1), // Kafka's num.partitions
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
		kfake.BrokerConfigs(map[string]string{"group.consumer.heartbeat.interval.ms": "100"}),
	}
	kopts = append(kopts, cfg.kfakeOpts...)
	kopts = append(kopts, c.cfg.saslOpts()...)
	kopts = append(kopts,
		kfake.NumBrokers(cfg.brokers),
		kfake.ListenFn(c.listen),
	)
	if cfg.autoCreate {
		kopts = append(kopts, kfake.AllowAutoTopicCreation())
	}
	kf, err := kfake.NewCluster(kopts...)
	if err != nil {
		c.closeListeners()
		return nil, fmt.Errorf("fake.New: starting kfake: %w", err)
	}
	c.kf = kf
	for _, b := range c.Brokers() {
		c.journal.Add(Event{Kind: EventBrokerUp, Broker: b.ID, Detail: b.Addr})
	}
	for _, t := range cfg.topics {
		if err := c.createTopic(t); err != nil {
			c.Close()
			return nil, fmt.Errorf("fake.Topic(%q): %w", t.name, err)
		}
	}
	return c, nil
}

func checkTopicConfigs(t topicSpec) error {
	if v, ok := t.configs["min.insync.replicas"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("fake.Topic(%q): min.insync.replicas = %q, want a whole number >= 1", t.name, v)
		}
		if n > int(t.replicas) {
			return fmt.Errorf("fake.Topic(%q): min.insync.replicas = %d exceeds replicas = %d: acks=all writes could never succeed", t.name, n, t.replicas)
		}
	}
	if v, ok := t.configs["unclean.leader.election.enable"]; ok && v != "true" && v != "false" {
		return fmt.Errorf("fake.Topic(%q): unclean.leader.election.enable = %q, want \"true\" or \"false\"", t.name, v)
	}
	return nil
}

// listen is kfake's ListenFn: every broker listens through the wire layer.
func (c *Cluster) listen(_, addr string) (net.Listener, error) {
	c.mu.Lock()
	id := c.listening
	c.listening++
	c.mu.Unlock()
	l, err := c.newListener(id, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	b := c.brokers[id]
	if b == nil {
		b = &brokerState{id: id}
		c.brokers[id] = b
	}
	b.addr, b.up, b.ln, b.internal = l.Addr().String(), true, l, nil
	c.mu.Unlock()
	return l, nil
}

func (c *Cluster) closeListeners() {
	c.mu.Lock()
	var ls []*wire.Listener
	for _, b := range c.brokers {
		if b.ln != nil {
			ls = append(ls, b.ln)
		}
	}
	c.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
}

// Seed is the seed every random choice of this cluster flows from.
func (c *Cluster) Seed() int64 { return c.seed }

// Kfake is the underlying kfake cluster, for its own features (Fault,
// Control, GroupInfo, ...). Changing leaders or brokers through it bypasses
// the model.
func (c *Cluster) Kfake() *kfake.Cluster { return c.kf }

// Addrs are the host:port of every live broker, for a client's seed brokers.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var addrs []string
	for _, id := range c.brokerIDsLocked() {
		if b := c.brokers[id]; b.up {
			addrs = append(addrs, b.addr)
		}
	}
	return addrs
}

func (c *Cluster) brokerIDsLocked() []int32 {
	ids := make([]int32, 0, len(c.brokers))
	for id := range c.brokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Brokers is a snapshot of every broker, by id.
func (c *Cluster) Brokers() []BrokerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	var bs []BrokerState
	for _, id := range c.brokerIDsLocked() {
		b := c.brokers[id]
		bs = append(bs, BrokerState{ID: b.id, Addr: b.addr, Up: b.up, ReplicationPaused: b.paused, Isolated: c.isolationOfLocked(id) != nil, Fenced: b.fenced})
	}
	return bs
}

// Partition is a snapshot of one partition. It returns an error for an
// unknown topic or partition.
func (c *Cluster) Partition(topic string, partition int32) (PartitionState, error) {
	if c.isClosed() {
		return PartitionState{}, errClosed
	}
	if err := c.syncTopics(); err != nil {
		return PartitionState{}, err
	}
	c.mu.Lock()
	p, err := c.partitionLocked(topic, partition)
	if err != nil {
		c.mu.Unlock()
		return PartitionState{}, err
	}
	st := PartitionState{
		Topic:             topic,
		Partition:         partition,
		Leader:            p.leader,
		LeaderEpoch:       p.epoch,
		Replicas:          slices.Clone(p.replicas),
		ISR:               slices.Clone(p.isr),
		ReplicationPaused: p.paused,
	}
	tail := p.tailEnd()
	c.mu.Unlock()
	if pi := c.partitionInfo(topic, partition); pi != nil {
		st.HighWatermark = pi.HighWatermark
		st.LogStartOffset = pi.LogStartOffset
		st.LogEndOffset = max(pi.HighWatermark, tail)
	}
	return st, nil
}

// WaitPartition waits until cond holds for a snapshot of topic/partition
// (for example that acknowledged writes sit in the leader's un-replicated
// tail: LogEndOffset > HighWatermark) and returns that snapshot.
func (c *Cluster) WaitPartition(ctx context.Context, topic string, partition int32, cond func(PartitionState) bool) (PartitionState, error) {
	if cond == nil {
		return PartitionState{}, fmt.Errorf("WaitPartition(%q, %d): the condition is nil", topic, partition)
	}
	tick := time.NewTicker(c.pollEvery(time.Millisecond))
	defer tick.Stop()
	for {
		st, err := c.Partition(topic, partition)
		if err != nil {
			return st, fmt.Errorf("WaitPartition: %w", err)
		}
		if cond(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("WaitPartition(%q, %d): %w (last seen leader %d epoch %d, ISR %v, high watermark %d, log end %d)",
				topic, partition, ctx.Err(), st.Leader, st.LeaderEpoch, st.ISR, st.HighWatermark, st.LogEndOffset)
		case <-tick.C:
		}
	}
}

// Topics is the sorted list of topic names the cluster has.
func (c *Cluster) Topics() []string {
	_ = c.syncTopics()
	c.mu.Lock()
	defer c.mu.Unlock()
	var ts []string
	for t := range c.topics {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

func (c *Cluster) partitionLocked(topic string, partition int32) (*partitionState, error) {
	t, ok := c.topics[topic]
	if !ok {
		return nil, fmt.Errorf("unknown topic %q", topic)
	}
	if partition < 0 || int(partition) >= len(t.parts) {
		return nil, fmt.Errorf("topic %q has no partition %d (it has %d)", topic, partition, len(t.parts))
	}
	return t.parts[partition], nil
}

// Close stops every broker and frees every port and goroutine. It is
// safe to call more than once.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		for _, t := range c.topics {
			for _, p := range t.parts {
				c.dropTailLocked(p, kerr.NotLeaderForPartition, "cluster closed", false)
				p.stopLagTimer()
			}
		}
		c.endIsolationsLocked()
		c.cond.Broadcast()
		phantoms := c.stopPhantomsLocked()
		c.mu.Unlock()
		for _, p := range phantoms {
			close(p.stop)
		}
		c.net.RemoveAll()
		c.closeKfake()
		c.closeListeners()
		c.timers.Wait()
	})
	return c.closeErr
}

var errClosed = errors.New("fake: the cluster is closed")

func (c *Cluster) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// internalConn is the connection fake uses to talk to broker id itself.
func (c *Cluster) internalConn(id int32) (*conn, error) {
	c.mu.Lock()
	b := c.brokers[id]
	if b == nil || b.ln == nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("unknown broker %d", id)
	}
	if b.internal != nil {
		cn := b.internal
		c.mu.Unlock()
		return cn, nil
	}
	ln := b.ln
	c.mu.Unlock()
	cn, err := c.newInternalConn(ln)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if b.internal == nil && b.ln == ln {
		b.internal = cn
	} else {
		cn.Close()
		cn = b.internal
	}
	c.mu.Unlock()
	if cn == nil {
		return nil, errClosed
	}
	return cn, nil
}

// anyLiveBroker is the lowest live broker id, or -1.
func (c *Cluster) anyLiveBrokerLocked() int32 {
	for _, id := range c.brokerIDsLocked() {
		if c.brokers[id].up {
			return id
		}
	}
	return -1
}

// request sends req to a live broker over an internal connection.
func (c *Cluster) request(broker int32, req kmsg.Request) (kmsg.Response, error) {
	if broker < 0 {
		c.mu.Lock()
		broker = c.anyLiveBrokerLocked()
		c.mu.Unlock()
	}
	cn, err := c.internalConn(broker)
	if err != nil {
		return nil, err
	}
	return cn.RoundTrip(req)
}

// requestController sends req to kfake's controller, asking kfake which
// broker that is the first time.
func (c *Cluster) requestController(req kmsg.Request) (kmsg.Response, error) {
	c.mu.Lock()
	ctl := c.controller
	c.mu.Unlock()
	if ctl < 0 {
		md := kmsg.NewPtrMetadataRequest()
		md.Version = 12
		resp, err := c.request(-1, md)
		if err != nil {
			return nil, fmt.Errorf("asking kfake for its controller: %w", err)
		}
		ctl = resp.(*kmsg.MetadataResponse).ControllerID
		c.mu.Lock()
		c.controller = ctl
		c.mu.Unlock()
	}
	return c.request(ctl, req)
}

func (c *Cluster) createTopic(t topicSpec) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 5
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = t.name
	rt.NumPartitions = t.partitions
	rt.ReplicationFactor = t.replicas
	for k, v := range t.configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	resp, err := c.requestController(req)
	if err != nil {
		return err
	}
	for _, t := range resp.(*kmsg.CreateTopicsResponse).Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			msg := ""
			if t.ErrorMessage != nil {
				msg = ": " + *t.ErrorMessage
			}
			return fmt.Errorf("creating topic: %w%s", err, msg)
		}
	}
	return c.syncTopics()
}
