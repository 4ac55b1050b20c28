package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kfake"
)

// The fake.Cluster methods, on a Cluster that may be a real cluster
// behind the fault proxy (KAFKAEMU_BOOTSTRAP). On the emulator each is
// fake.Cluster's. On a real cluster the network faults, the journal and
// what Kafka can tell (partitions, logs, fail-leader through
// ElectLeaders) are the proxy's, and a verb that needs the emulator's
// model skips the test, naming the verb and the variable.

// realCtx bounds one call to the real cluster.
func realCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// AddFault is fake.Cluster.AddFault; on a real cluster the proxy's.
func (c *Cluster) AddFault(f fake.NetFault, targets ...fake.Target) (*fake.FaultHandle, error) {
	if c.real != nil {
		return c.real.p.AddFault(f, targets...)
	}
	return c.Cluster.AddFault(f, targets...)
}

// Addrs is fake.Cluster.Addrs; on a real cluster the proxy's listeners.
func (c *Cluster) Addrs() []string {
	if c.real != nil {
		return c.real.p.Addrs()
	}
	return c.Cluster.Addrs()
}

// Brokers is fake.Cluster.Brokers; on a real cluster the proxy's
// listeners, each up.
func (c *Cluster) Brokers() []fake.BrokerState {
	if c.real != nil {
		var out []fake.BrokerState
		for _, b := range c.real.p.Brokers() {
			out = append(out, fake.BrokerState{ID: b.ID, Addr: b.Addr, Up: true})
		}
		return out
	}
	return c.Cluster.Brokers()
}

// Close is fake.Cluster.Close; on a real cluster it closes the proxy (the
// test's topics are deleted when the test ends).
func (c *Cluster) Close() error {
	if c.real != nil {
		return c.real.p.Close()
	}
	return c.Cluster.Close()
}

// CloseClientConnections is fake.Cluster.CloseClientConnections; on a
// real cluster the proxy's client connections.
func (c *Cluster) CloseClientConnections(broker int32) (int, error) {
	if c.real != nil {
		return c.real.p.CloseClientConnections(broker)
	}
	return c.Cluster.CloseClientConnections(broker)
}

// DialContext is fake.Cluster.DialContext; on a real cluster it connects
// to the in-process proxy through memory (proxy.Proxy.DialContext): one
// loopback socket less between a client and the upstream.
func (c *Cluster) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.real != nil {
		return c.real.p.DialContext(ctx, network, addr)
	}
	return c.Cluster.DialContext(ctx, network, addr)
}

// Dial is DialContext without a context.
func (c *Cluster) Dial(network, addr string) (net.Conn, error) {
	return c.DialContext(context.Background(), network, addr)
}

// FailLeader is fake.Cluster.FailLeader; on a real cluster the proxy's,
// through the cluster's own ElectLeaders (the old leader stays up).
func (c *Cluster) FailLeader(topic string, partition int32) (int32, error) {
	if c.real != nil {
		ctx, cancel := realCtx()
		defer cancel()
		return c.real.p.FailLeader(ctx, topic, partition)
	}
	return c.Cluster.FailLeader(topic, partition)
}

// Groups is fake.Cluster.Groups; on a real cluster the groups the test
// named (Name) that the cluster has.
func (c *Cluster) Groups() ([]string, error) {
	if c.real != nil {
		ctx, cancel := realCtx()
		defer cancel()
		gs, err := c.real.p.Admin().ListGroups(ctx)
		if err != nil {
			return nil, err
		}
		var out []string
		c.real.mu.Lock()
		defer c.real.mu.Unlock()
		for _, g := range gs.Sorted() {
			for _, n := range c.real.named {
				if g.Group == n {
					out = append(out, g.Group)
				}
			}
		}
		return out, nil
	}
	return c.Cluster.Groups()
}

// Journal is fake.Cluster.Journal; on a real cluster what crossed the
// proxy.
func (c *Cluster) Journal() []fake.Event {
	if c.real != nil {
		return c.real.p.Journal()
	}
	return c.Cluster.Journal()
}

// JournalDropped is fake.Cluster.JournalDropped (0 on a real cluster).
func (c *Cluster) JournalDropped() int64 {
	if c.real != nil {
		return 0
	}
	return c.Cluster.JournalDropped()
}

// JournalSince is fake.Cluster.JournalSince.
func (c *Cluster) JournalSince(seq int64) []fake.Event {
	if c.real != nil {
		return c.real.p.JournalSince(seq)
	}
	return c.Cluster.JournalSince(seq)
}

// JournalTail is fake.Cluster.JournalTail.
func (c *Cluster) JournalTail(n int) string {
	if c.real != nil {
		return c.real.p.JournalTail(n)
	}
	return c.Cluster.JournalTail(n)
}

// WriteJournal is fake.Cluster.WriteJournal.
func (c *Cluster) WriteJournal(w io.Writer) error {
	if c.real != nil {
		return c.real.p.WriteJournal(w)
	}
	return c.Cluster.WriteJournal(w)
}

// LastStableOffset is fake.Cluster.LastStableOffset; on a real cluster
// what ListOffsets at read_committed answers.
func (c *Cluster) LastStableOffset(topic string, partition int32) (int64, error) {
	if c.real != nil {
		ctx, cancel := realCtx()
		defer cancel()
		return c.real.p.LastStableOffset(ctx, topic, partition)
	}
	return c.Cluster.LastStableOffset(topic, partition)
}

// Partition is fake.Cluster.Partition; on a real cluster what Metadata
// and ListOffsets answer (LogEndOffset is the high watermark: a real
// cluster does not tell the leader's log end).
func (c *Cluster) Partition(topic string, partition int32) (fake.PartitionState, error) {
	if c.real != nil {
		ctx, cancel := realCtx()
		defer cancel()
		return c.realPartition(ctx, topic, partition)
	}
	return c.Cluster.Partition(topic, partition)
}

// PartitionLog is fake.Cluster.PartitionLog; on a real cluster the
// proxy's read of the leader's log, past the network faults.
func (c *Cluster) PartitionLog(ctx context.Context, topic string, partition int32) ([]fake.LogRecord, error) {
	if c.real != nil {
		return c.real.p.PartitionLog(ctx, topic, partition)
	}
	return c.Cluster.PartitionLog(ctx, topic, partition)
}

// Seed is fake.Cluster.Seed; on a real cluster the seed of the proxy's
// faults.
func (c *Cluster) Seed() int64 {
	if c.real != nil {
		return c.real.p.Seed()
	}
	return c.Cluster.Seed()
}

// Topics is fake.Cluster.Topics; on a real cluster the topics this test
// created (a shared cluster's others are not the test's).
func (c *Cluster) Topics() []string {
	if c.real != nil {
		return c.real.realTopics()
	}
	return c.Cluster.Topics()
}

// Virtual is fake.Cluster.Virtual (false on a real cluster).
func (c *Cluster) Virtual() bool {
	if c.real != nil {
		return false
	}
	return c.Cluster.Virtual()
}

// TLSConfig is fake.Cluster.TLSConfig (nil on a real cluster: its
// clients bring their own TLS options).
func (c *Cluster) TLSConfig() *tls.Config {
	if c.real != nil {
		return nil
	}
	return c.Cluster.TLSConfig()
}

// dialTLS dials addr through DialContext (the virtual network) and
// starts a TLS client on the connection with the cluster's TLSConfig.
func (c *Cluster) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := c.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := c.TLSConfig()
	cfg.ServerName, _, _ = net.SplitHostPort(addr)
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

// WaitPartition is fake.Cluster.WaitPartition; on a real cluster it
// polls what the cluster reports.
func (c *Cluster) WaitPartition(ctx context.Context, topic string, partition int32, cond func(fake.PartitionState) bool) (fake.PartitionState, error) {
	if c.real != nil {
		if cond == nil {
			return fake.PartitionState{}, fmt.Errorf("WaitPartition(%q, %d): the condition is nil", topic, partition)
		}
		return c.waitPartition(ctx, topic, partition, cond)
	}
	return c.Cluster.WaitPartition(ctx, topic, partition, cond)
}

// The verbs that need the emulator's model: on a real cluster they skip
// the test.

// ExpireMember is fake.Cluster.ExpireMember.
func (c *Cluster) ExpireMember(group, memberID string) error {
	c.tb.Helper()
	c.emulatorOnly("ExpireMember")
	return c.Cluster.ExpireMember(group, memberID)
}

// Group is fake.Cluster.Group; on a real cluster what DescribeGroups
// and OffsetFetch answer, in kfake's form (a classic group's members and
// assignments, its commits; no epoch).
func (c *Cluster) Group(group string) (*kfake.GroupInfo, error) {
	if c.real != nil {
		ctx, cancel := realCtx()
		defer cancel()
		gi, err := c.real.p.Group(ctx, group)
		if err == nil && gi == nil {
			err = fmt.Errorf("unknown group %q", group)
		}
		return gi, err
	}
	return c.Cluster.Group(group)
}

// InjectError is fake.Cluster.InjectError.
func (c *Cluster) InjectError(f kfake.Fault) (*fake.InjectedError, error) {
	c.tb.Helper()
	c.emulatorOnly("InjectError")
	return c.Cluster.InjectError(f)
}

// JoinPhantom is fake.Cluster.JoinPhantom.
func (c *Cluster) JoinPhantom(group string, n int) ([]string, error) {
	c.tb.Helper()
	c.emulatorOnly("JoinPhantom")
	return c.Cluster.JoinPhantom(group, n)
}

// LeavePhantom is fake.Cluster.LeavePhantom.
func (c *Cluster) LeavePhantom(group string, n int) error {
	c.tb.Helper()
	c.emulatorOnly("LeavePhantom")
	return c.Cluster.LeavePhantom(group, n)
}

// Kfake is fake.Cluster.Kfake.
func (c *Cluster) Kfake() *kfake.Cluster {
	c.tb.Helper()
	c.emulatorOnly("Kfake")
	return c.Cluster.Kfake()
}

// KillBroker is fake.Cluster.KillBroker.
func (c *Cluster) KillBroker(id int32) error {
	c.tb.Helper()
	c.emulatorOnly("KillBroker")
	return c.Cluster.KillBroker(id)
}

// RestartBroker is fake.Cluster.RestartBroker.
func (c *Cluster) RestartBroker(id int32) error {
	c.tb.Helper()
	c.emulatorOnly("RestartBroker")
	return c.Cluster.RestartBroker(id)
}

// MoveCoordinator is fake.Cluster.MoveCoordinator.
func (c *Cluster) MoveCoordinator(group string) (int32, error) {
	c.tb.Helper()
	c.emulatorOnly("MoveCoordinator")
	return c.Cluster.MoveCoordinator(group)
}

// PauseFollower is fake.Cluster.PauseFollower.
func (c *Cluster) PauseFollower(broker int32) error {
	c.tb.Helper()
	c.emulatorOnly("PauseFollower")
	return c.Cluster.PauseFollower(broker)
}

// ResumeFollower is fake.Cluster.ResumeFollower.
func (c *Cluster) ResumeFollower(broker int32) error {
	c.tb.Helper()
	c.emulatorOnly("ResumeFollower")
	return c.Cluster.ResumeFollower(broker)
}

// PauseReplication is fake.Cluster.PauseReplication.
func (c *Cluster) PauseReplication(topic string, partition int32) error {
	c.tb.Helper()
	c.emulatorOnly("PauseReplication")
	return c.Cluster.PauseReplication(topic, partition)
}

// ResumeReplication is fake.Cluster.ResumeReplication.
func (c *Cluster) ResumeReplication(topic string, partition int32) error {
	c.tb.Helper()
	c.emulatorOnly("ResumeReplication")
	return c.Cluster.ResumeReplication(topic, partition)
}

// Rebalance is fake.Cluster.Rebalance.
func (c *Cluster) Rebalance(ctx context.Context, group string) error {
	c.tb.Helper()
	c.emulatorOnly("Rebalance")
	return c.Cluster.Rebalance(ctx, group)
}

// WaitGroup is fake.Cluster.WaitGroup; on a real cluster it polls Group
// (nil while the cluster does not know the group).
func (c *Cluster) WaitGroup(ctx context.Context, group string, cond func(*kfake.GroupInfo) bool) (*kfake.GroupInfo, error) {
	if c.real != nil {
		if cond == nil {
			return nil, fmt.Errorf("WaitGroup(%q): the condition is nil", group)
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			gi, err := c.real.p.Group(ctx, group)
			if err == nil && cond(gi) {
				return gi, nil
			}
			select {
			case <-ctx.Done():
				return gi, fmt.Errorf("group %q: %w", group, ctx.Err())
			case <-tick.C:
			}
		}
	}
	return c.Cluster.WaitGroup(ctx, group, cond)
}
