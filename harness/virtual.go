package harness

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// virtualAutoCommitInterval is the autocommit interval harness clients
// get on a virtual cluster when kgo's locks are not bubble-aware: longer
// than any test, so periodic autocommit never runs.
//
// Why: kgo's autocommit loop takes its commit lock for reading while a
// JoinGroup holds it for writing. In a testing/synctest bubble a goroutine
// waiting on a sync.RWMutex is not durably blocked, so if the autocommit
// tick lands during a rebalance that waits on a timer (a member that
// stopped heartbeating, a long rebalance timeout), the bubble's clock
// stops with the rebalance unfinished, and the test hangs for ever.
// Offsets are still committed when partitions are revoked and when the
// client closes (kgo's default revoke). Building the test binary with
// -tags synctests makes kgo's locks channel-based (durable), and then
// harness leaves kgo's 5 s autocommit alone. A test's own
// kgo.AutoCommitInterval wins over this default.
const virtualAutoCommitInterval = 100 * 365 * 24 * time.Hour

// noteAutoCommitOff logs, once per cluster, that a group client on the
// virtual network does not autocommit periodically.
func (c *Cluster) noteAutoCommitOff(tb testing.TB, cl *kgo.Client) {
	if !c.Virtual() || kgoBubbleLocks {
		return
	}
	group, _ := cl.OptValue(kgo.ConsumerGroup).(string)
	off, _ := cl.OptValue(kgo.DisableAutoCommit).(bool)
	every, _ := cl.OptValue(kgo.AutoCommitInterval).(time.Duration)
	if group == "" || off || every != virtualAutoCommitInterval {
		return
	}
	c.mu.Lock()
	noted := c.autoCommitNoted
	c.autoCommitNoted = true
	c.mu.Unlock()
	if !noted {
		tb.Logf("kafkaemu: group clients on the virtual network commit on revoke and close, not every 5 s: kgo's commit lock is not synctest-aware and would stop a bubble's clock during a long rebalance; build with -tags synctests to keep kgo's autocommit")
	}
}

// KgoBubbleLocks reports whether the test binary was built with -tags
// synctests, which makes kgo's locks bubble-aware (see ClientDefaults).
func KgoBubbleLocks() bool { return kgoBubbleLocks }
