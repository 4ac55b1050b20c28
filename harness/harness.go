package harness

import (
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is a fake.Cluster bound to one test: every fault verb of
// fake.Cluster is available on it directly. With KAFKAEMU_BOOTSTRAP set it
// is a real cluster behind the fault proxy instead (see Real): the
// network faults, the journal and the histories work the same, and a verb
// that needs the emulator skips the test.
type Cluster struct {
	*fake.Cluster       // nil on a real cluster: use the Cluster's own methods
	real          *real // non-nil on a real cluster (real.go)
	tb            testing.TB
	history       *assertions.History

	mu      sync.Mutex
	clients int    // clients named client-N so far
	page    string // the timeline page written for this test (WriteTimelineFile)

	commitsMu       sync.Mutex
	commitsSeen     int64 // journal events syncCommits looked at
	autoCommitNoted bool  // noteAutoCommitOff logged
}

// Start starts a cluster for tb and closes it when the test ends. On
// failure the test log gets the cluster's seed, the command that replays
// it, the path of its timeline page (WriteTimeline, with the anomalies of
// its History marked and explained, in tb.ArtifactDir(): go test
// -artifacts keeps it) and the tail of its journal. The seed is KAFKAEMU_SEED (SeedEnv)
// when set and opts have no fake.Seed; otherwise fake's own.
// Every call gets its own cluster and ports, so tests may run in parallel.
//
// With KAFKAEMU_BOOTSTRAP=host:port set, Start fronts that real cluster
// with an in-process fault proxy instead of starting an emulator: the
// topics of fake.Topic options are created under c.Name and deleted when
// the test ends, and options only the emulator honours skip the test
// (docs/real-cluster.md).
func Start(tb testing.TB, opts ...fake.Option) *Cluster {
	tb.Helper()
	if b := os.Getenv(BootstrapEnv); b != "" {
		if seed, err := envSeed(); err != nil {
			tb.Fatalf("kafkaemu: %v", err)
		} else if seed != nil {
			opts = append([]fake.Option{seed}, opts...)
		}
		return startReal(tb, b, opts)
	}
	seed, err := envSeed()
	if err != nil {
		tb.Fatalf("kafkaemu: starting the cluster: %v", err)
	}
	if seed != nil {
		opts = append([]fake.Option{seed}, opts...)
	}
	fc, err := fake.New(opts...)
	if err != nil {
		tb.Fatalf("kafkaemu: starting the cluster: %v", err)
	}
	c := &Cluster{Cluster: fc, tb: tb, history: assertions.NewHistory()}
	c.history.SetLogReader(c.logView)
	c.history.SetExplainer(c.explainFunc)
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("kafkaemu: cluster seed %d (replay: %s); timeline: %s; last journal events:\n%s", fc.Seed(), replayHint(tb, fc.Seed()), c.failurePage(tb), fc.JournalTail(40))
		}
		if err := fc.Close(); err != nil {
			tb.Errorf("kafkaemu: closing the cluster: %v", err)
		}
	})
	return c
}

// ClientDefaults are the kgo options Client applies before the caller's:
// short waits and retries so tests run in milliseconds.
// On a cluster with fake.TLS they dial with TLS, trusting the cluster's
// certificate (TLSConfig). On a cluster with fake.VirtualNetwork they
// dial through it and, unless
// the test binary is built with -tags synctests, leave periodic
// autocommit off (see virtualAutoCommitInterval). In front of a real
// cluster (KAFKAEMU_BOOTSTRAP) they reach the in-process proxy through
// memory (DialContext).
func (c *Cluster) ClientDefaults() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Addrs()...),
		kgo.FetchMaxWait(50 * time.Millisecond),
		kgo.MetadataMinAge(10 * time.Millisecond),
		kgo.MetadataMaxAge(time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.ProduceRequestTimeout(5 * time.Second),
	}
	if c.real == nil {
		// A real cluster refuses sessions below its
		// group.min.session.timeout.ms (6 s by default): kgo's own
		// timeouts there.
		opts = append(opts,
			kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.SessionTimeout(3*time.Second),
			kgo.RebalanceTimeout(3*time.Second))
	}
	tlsCfg := c.TLSConfig()
	switch {
	case c.Virtual() && tlsCfg != nil:
		opts = append(opts, kgo.Dialer(c.dialTLS))
	case c.Virtual():
		opts = append(opts, kgo.Dialer(c.DialContext))
	case tlsCfg != nil:
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	case c.real != nil:
		opts = append(opts, kgo.Dialer(c.DialContext))
	}
	if c.Virtual() {
		if !kgoBubbleLocks {
			opts = append(opts, kgo.AutoCommitInterval(virtualAutoCommitInterval))
		}
	}
	return opts
}

// Client returns a franz-go client pointed at the cluster, closed when the
// test ends. opts come after the fast test defaults and override them.
//
// Its client id is "client-N" unless opts name one, so the journal tells
// clients apart. The client records what it sends, what is acknowledged
// and what it polls into the cluster's History (see Recorder) under its
// client id, unless opts already hook it up to a Recorder. A transactional
// client (kgo.TransactionalID) is not recorded by default: kgo has no
// hooks for transaction boundaries, and its aborted records would look
// lost. Record it with a Recorder whose BeginTxn and EndTransaction the
// test calls.
func (c *Cluster) Client(tb testing.TB, opts ...kgo.Opt) *kgo.Client {
	tb.Helper()
	c.mu.Lock()
	c.clients++
	id := fmt.Sprintf("client-%d", c.clients)
	c.mu.Unlock()
	auto := &autoRecorder{c: c}
	cl, err := kgo.NewClient(append(append(c.ClientDefaults(), kgo.ClientID(id), kgo.WithHooks(auto)), opts...)...)
	if err != nil {
		tb.Fatalf("kafkaemu: creating a kgo client: %v", err)
	}
	tb.Cleanup(cl.Close)
	c.noteAutoCommitOff(tb, cl)
	return cl
}

// autoRecorder records a harness client into the cluster's History unless
// the caller hooked up a Recorder of their own.
type autoRecorder struct {
	c   *Cluster
	rec *assertions.Recorder // nil: the caller records
}

func (a *autoRecorder) OnNewClient(cl *kgo.Client) {
	// kgo returns its hooks as an unexported slice type.
	hooks := reflect.ValueOf(cl.OptValue(kgo.WithHooks))
	for i := 0; hooks.Kind() == reflect.Slice && i < hooks.Len(); i++ {
		if _, ok := hooks.Index(i).Interface().(*assertions.Recorder); ok {
			return
		}
	}
	if txn, _ := cl.OptValue(kgo.TransactionalID).(string); txn != "" {
		return
	}
	name, _ := cl.OptValue(kgo.ClientID).(string)
	a.rec = a.c.Recorder(name)
	a.rec.OnNewClient(cl)
}

func (a *autoRecorder) OnProduceRecordBuffered(r *kgo.Record) {
	if a.rec != nil {
		a.rec.OnProduceRecordBuffered(r)
	}
}

func (a *autoRecorder) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if a.rec != nil {
		a.rec.OnProduceRecordUnbuffered(r, err)
	}
}

func (a *autoRecorder) OnFetchRecordUnbuffered(r *kgo.Record, polled bool) {
	if a.rec != nil {
		a.rec.OnFetchRecordUnbuffered(r, polled)
	}
}

// String names the cluster for logs.
func (c *Cluster) String() string {
	return fmt.Sprintf("kafkaemu cluster %v (seed %d)", c.Addrs(), c.Seed())
}
