package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kerr"
)

// BootstrapEnv names the variable that points Start at a real Kafka
// cluster instead of an emulator: KAFKAEMU_BOOTSTRAP=host:port[,...]
// fronts that cluster with an in-process fault proxy (package proxy).
const BootstrapEnv = "KAFKAEMU_BOOTSTRAP"

// TopicPrefixEnv names the variable whose value leads the name of every
// topic and group a test creates on a real cluster (default "kafkaemu-";
// set it empty for none).
const TopicPrefixEnv = "KAFKAEMU_TOPIC_PREFIX"

// DefaultTopicPrefix is the prefix of a test's topics and groups on a
// real cluster when KAFKAEMU_TOPIC_PREFIX is not set.
const DefaultTopicPrefix = "kafkaemu-"

// real is what a Cluster holds in front of a real cluster.
type real struct {
	p         *proxy.Proxy
	bootstrap string
	prefix    string
	suffix    string // this Start's own: -<8 hex digits>

	mu     sync.Mutex
	topics []string // real names, created by this test
	named  []string // real names handed out by Name (topics and groups)
}

// Real reports whether the cluster is a real one behind the fault proxy
// (KAFKAEMU_BOOTSTRAP) rather than the emulator.
func (c *Cluster) Real() bool { return c.real != nil }

// Proxy is the fault proxy in front of the real cluster, nil on the
// emulator.
func (c *Cluster) Proxy() *proxy.Proxy {
	if c.real == nil {
		return nil
	}
	return c.real.p
}

// Name is the name a test's topic, group or transactional id has on the
// cluster: name itself on the emulator; on a real cluster,
// KAFKAEMU_TOPIC_PREFIX (default "kafkaemu-") + name + a suffix of this
// Start's own, so that tests sharing a cluster never meet, and cleanup
// deletes only what the test made. The topics of fake.Topic options are
// created under their Name: a test that runs in both modes names them
// with c.Name("orders").
func (c *Cluster) Name(name string) string {
	if c.real == nil {
		return name
	}
	n := c.real.prefix + name + c.real.suffix
	c.real.mu.Lock()
	if !slices.Contains(c.real.named, n) {
		c.real.named = append(c.real.named, n)
	}
	c.real.mu.Unlock()
	return n
}

// emulatorOnly skips the test when it runs on a real cluster: verb needs
// the emulator's model.
func (c *Cluster) emulatorOnly(verb string) {
	if c.real == nil {
		return
	}
	c.tb.Helper()
	skipNeedsEmulator(c.tb, verb, c.real.bootstrap)
}

// skipNeedsEmulator skips tb: what (verbs, options) needs the emulator
// and bootstrap names a real cluster.
func skipNeedsEmulator(tb testing.TB, what, bootstrap string) {
	tb.Helper()
	tb.Skipf("kafkaemu: %s needs the emulator; %s=%s points this test at a real cluster", what, BootstrapEnv, bootstrap)
}

// startReal fronts the cluster bootstrap names with a fault proxy and
// creates the topics opts ask for.
func startReal(tb testing.TB, bootstrap string, opts []fake.Option) *Cluster {
	tb.Helper()
	spec, err := fake.SpecOf(opts...)
	if err != nil {
		tb.Fatalf("kafkaemu: %v", err)
	}
	if len(spec.NeedsEmulator) > 0 {
		skipNeedsEmulator(tb, strings.Join(spec.NeedsEmulator, ", "), bootstrap)
	}
	var popts []proxy.Option
	if spec.SeedSet {
		popts = append(popts, proxy.Seed(spec.Seed))
	}
	if spec.MaxRequestBytes > 0 {
		popts = append(popts, proxy.MaxRequestBytes(spec.MaxRequestBytes))
	}
	if spec.IdleTimeout > 0 {
		popts = append(popts, proxy.IdleTimeout(spec.IdleTimeout))
	}
	prefix, set := os.LookupEnv(TopicPrefixEnv)
	if !set {
		prefix = DefaultTopicPrefix
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var addrs []string
	for _, a := range strings.Split(bootstrap, ",") {
		addrs = append(addrs, strings.TrimSpace(a))
	}
	p, err := proxy.New(ctx, addrs, popts...)
	if err != nil {
		tb.Fatalf("kafkaemu: %s=%s: %v", BootstrapEnv, bootstrap, err)
	}
	c := &Cluster{tb: tb, history: assertions.NewHistory(), real: &real{p: p, bootstrap: bootstrap, prefix: prefix, suffix: "-" + hex.EncodeToString(rnd[:])}}
	c.history.SetLogReader(c.logView)
	c.history.SetExplainer(c.explainFunc)
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("kafkaemu: real cluster %s through the fault proxy (seed %d); timeline: %s; last journal events:\n%s", bootstrap, p.Seed(), c.failurePage(tb), p.JournalTail(40))
		}
		c.cleanupReal()
	})
	adm := p.Admin()
	for _, t := range spec.Topics {
		name := c.Name(t.Name)
		cfg := map[string]*string{}
		for k, v := range t.Configs {
			cfg[k] = &v
		}
		resp, err := adm.CreateTopic(ctx, t.Partitions, t.Replicas, cfg, name)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			tb.Fatalf("kafkaemu: creating topic %s (fake.Topic(%q, %d, %d)) on %s: %v", name, t.Name, t.Partitions, t.Replicas, bootstrap, err)
		}
		c.real.mu.Lock()
		c.real.topics = append(c.real.topics, name)
		c.real.mu.Unlock()
	}
	// Topic creation is asynchronous on a real cluster: wait until every
	// partition has a leader.
	for _, t := range spec.Topics {
		for part := int32(0); part < t.Partitions; part++ {
			if _, err := c.waitPartition(ctx, c.Name(t.Name), part, func(st fake.PartitionState) bool { return st.Leader >= 0 }); err != nil {
				tb.Fatalf("kafkaemu: topic %s: %v", c.Name(t.Name), err)
			}
		}
	}
	return c
}

// cleanupReal deletes the topics the test created and the groups it
// named (nothing else: a shared cluster's other topics and groups are not
// the test's), then closes the proxy.
func (c *Cluster) cleanupReal() {
	r := c.real
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := r.p.Admin()
	r.mu.Lock()
	topics, named := slices.Clone(r.topics), slices.Clone(r.named)
	r.mu.Unlock()
	if len(topics) > 0 {
		resps, err := adm.DeleteTopics(ctx, topics...)
		if err == nil {
			err = resps.Error()
		}
		if err != nil && !isUnknownTopic(err) {
			c.tb.Errorf("kafkaemu: deleting the test's topics %v: %v", topics, err)
		}
	}
	if groups, err := adm.ListGroups(ctx); err == nil {
		var mine []string
		for _, g := range groups.Groups() {
			if slices.Contains(named, g) {
				mine = append(mine, g)
			}
		}
		if len(mine) > 0 {
			resps, err := adm.DeleteGroups(ctx, mine...)
			if err == nil {
				err = resps.Error()
			}
			if err != nil {
				c.tb.Logf("kafkaemu: deleting the test's groups %v: %v (a member whose session has not expired yet keeps its group; it is left for the cluster's offsets.retention.minutes)", mine, err)
			}
		}
	}
	r.p.Close()
}

func isUnknownTopic(err error) bool {
	return strings.Contains(err.Error(), kerr.UnknownTopicOrPartition.Message)
}

// realTopics are the topics the test created, sorted.
func (r *real) realTopics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := slices.Clone(r.topics)
	slices.Sort(ts)
	return ts
}

// waitPartition polls Partition until cond holds.
func (c *Cluster) waitPartition(ctx context.Context, topic string, partition int32, cond func(fake.PartitionState) bool) (fake.PartitionState, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := c.realPartition(ctx, topic, partition)
		if err == nil && cond(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return st, fmt.Errorf("WaitPartition(%q, %d): %w (last seen leader %d epoch %d, ISR %v, high watermark %d)", topic, partition, err, st.Leader, st.LeaderEpoch, st.ISR, st.HighWatermark)
		case <-tick.C:
		}
	}
}

func (c *Cluster) realPartition(ctx context.Context, topic string, partition int32) (fake.PartitionState, error) {
	return proxySource{ctx, c.real.p}.Partition(topic, partition)
}

// BrokerHistoryOfProxy is BrokerHistory for a fault proxy started
// without harness (kafkaemu proxy's GET /check): the topics judged are
// those the proxy's journal shows written or read; their logs are read
// back from the upstream.
func BrokerHistoryOfProxy(ctx context.Context, p *proxy.Proxy) (*assertions.History, error) {
	return brokerHistoryOf(ctx, proxySource{ctx, p})
}

// proxySource is a proxy as a logSource.
type proxySource struct {
	ctx context.Context
	p   *proxy.Proxy
}

func (s proxySource) Journal() []fake.Event { return s.p.Journal() }

func (s proxySource) Topics() []string {
	var ts []string
	for _, e := range s.p.Journal() {
		if (e.Kind == fake.EventAppend || e.Kind == fake.EventFetch || e.Kind == fake.EventOffsetCommit) && e.Topic != "" && !slices.Contains(ts, e.Topic) {
			ts = append(ts, e.Topic)
		}
	}
	slices.Sort(ts)
	return ts
}

func (s proxySource) Partition(topic string, partition int32) (fake.PartitionState, error) {
	st, err := s.p.Partition(s.ctx, topic, partition)
	if err != nil {
		return fake.PartitionState{}, err
	}
	return fake.PartitionState{Topic: st.Topic, Partition: st.Partition, Leader: st.Leader, LeaderEpoch: st.LeaderEpoch,
		Replicas: st.Replicas, ISR: st.ISR, HighWatermark: st.HighWatermark, LogEndOffset: st.HighWatermark, LogStartOffset: st.LogStartOffset}, nil
}

func (s proxySource) PartitionLog(ctx context.Context, topic string, partition int32) ([]fake.LogRecord, error) {
	return s.p.PartitionLog(ctx, topic, partition)
}
