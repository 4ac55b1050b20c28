package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// SeedEnv overrides every scenario's seed, to replay a failure.
const SeedEnv = "KAFKAEMU_SEED"

// Run loads the scenario file at path and runs it as a subtest of t named
// after the scenario.
func Run(t *testing.T, path string) {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run(s.Name, func(t *testing.T) {
		t.Parallel()
		RunScenario(t, s)
	})
}

// RunDir runs every scenario file (*.yaml, *.yml) in dir, each as a
// parallel subtest.
func RunDir(t *testing.T, dir string) {
	t.Helper()
	ss, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) == 0 {
		t.Fatalf("no scenario files in %s", dir)
	}
	for _, s := range ss {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			RunScenario(t, s)
		})
	}
}

// RunScenario runs s against a fresh cluster: its workload with real
// franz-go clients, its fault timeline, then its expectations, judged by
// the assertions checker. A failed expectation reports the expectation,
// the anomalies found, the seed that replays the run and the journal's tail.
// Every run writes its timeline page, with the anomalies found marked and
// explained, to PageFile(tb.ArtifactDir(), s) (go test -artifacts keeps
// it).
//
// Under a *testing.T, when the test binary is built with -tags synctests
// (which makes kgo's locks bubble-aware, see harness.KgoBubbleLocks), the
// scenario runs in a testing/synctest bubble on the cluster's virtual
// network: its timeouts (sessions, transactions, replica lag) pass on the
// bubble's clock, which moves only when every goroutine of the run waits,
// so settling is real quiescence rather than a guess about a busy machine.
// Without the tag, or with `clock: real` in the file, it runs on the real
// clock, and the test log says why.
func RunScenario(tb testing.TB, s *Scenario) {
	tb.Helper()
	if realTarget() != "" {
		if err := CheckRealCluster(s); err != nil {
			tb.Fatalf("%v\n(%s=%s points the run at a real cluster)", err, harness.BootstrapEnv, realTarget())
		}
	}
	seed, err := scenarioSeed(s)
	if err != nil {
		tb.Fatal(err)
	}
	t, isT := tb.(*testing.T)
	pages := tb.ArtifactDir() // the bubble's t has its own
	why := realClockReason(s, isT)
	if why == "" {
		synctest.Test(t, func(t *testing.T) {
			if failed := newRun(t, s, seed, true, pages).execute(); failed != "" {
				t.Error(failed)
			}
		})
		return
	}
	if isT && !realClockNoted.Swap(true) {
		tb.Logf("kafkaemu: %s runs on the real clock: %s", s.Name, why)
	}
	if failed := newRun(tb, s, seed, false, pages).execute(); failed != "" {
		tb.Error(failed)
	}
}

// realClockNoted makes the real-clock reason that holds for every
// scenario of a test binary (no synctests tag) appear once in its log.
var realClockNoted atomic.Bool

// realClockReason says why s cannot run in a synctest bubble, or "".
func realClockReason(s *Scenario, isT bool) string {
	switch {
	case realTarget() != "":
		return "the target is a real cluster (" + harness.BootstrapEnv + ")"
	case !isT:
		return "a bubble needs a *testing.T"
	case s.Clock == ClockReal:
		return fmt.Sprintf("%s asks for it (clock: real)", s.Pos)
	case !harness.KgoBubbleLocks():
		return "the test binary was built without -tags synctests, and kgo's commit and transaction locks would stop a bubble's clock"
	}
	return ""
}

func newRun(tb testing.TB, s *Scenario, seed int64, virtual bool, pages string) *run {
	r := &run{
		tb: tb, s: s, seed: seed, virtual: virtual, pages: pages,
		acked: map[string]int{}, consumed: map[string]int{}, committed: map[string]int{}, zombies: map[string]int{},
		members: map[string]*life{}, down: map[string]chan *life{}, crashedAt: map[string]time.Time{},
		fencing: map[string]bool{}, commitAt: map[groupPartition]int64{}, position: map[groupPartition]int64{}, logStart: map[topicPartition]int64{},
		isolations: map[int32]*fake.FaultHandle{},
	}
	r.progress = sync.NewCond(&r.mu)
	return r
}

func scenarioSeed(s *Scenario) (int64, error) {
	if v := os.Getenv(SeedEnv); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: want a whole number", SeedEnv, v)
		}
		return n, nil
	}
	if s.Seed != nil {
		return *s.Seed, nil
	}
	return time.Now().UnixNano(), nil
}

type run struct {
	tb      testing.TB
	s       *Scenario
	seed    int64
	virtual bool   // in a synctest bubble, on the cluster's virtual network
	pages   string // where the run's timeline page goes (PageFile); "" for none
	c       *harness.Cluster
	ctx     context.Context

	mu        sync.Mutex
	progress  *sync.Cond
	acked     map[string]int // by producer; "" is the total
	consumed  map[string]int // by consumer/pipeline and by group; "" is the total
	committed map[string]int
	zombies   map[string]int // fenced producers and pipelines that stopped, by name; "" is the total
	// members holds the life of every consumer and pipeline that runs or
	// is being restarted; down the ones a crash or a fence stopped, until
	// restart-consumer sends them their next life.
	members    map[string]*life
	down       map[string]chan *life
	crashedAt  map[string]time.Time     // crashed members not restarted, and when
	closing    int                      // members whose client is closing (leaving its group)
	fencing    map[string]bool          // clients a fence-producer fault is fencing
	firstFault int64                    // the journal's length when the first fault applied
	commitAt   map[groupPartition]int64 // the highest offset each group committed
	position   map[groupPartition]int64 // the offset after the last record each group processed
	logStart   map[topicPartition]int64 // the log starts recorded in the history
	applied    int                      // faults applied or undone so far
	applies    []string                 // what applied, in order: "file:line:col verb" (undone: "undo ...")
	held       []bool                   // whether each expectation held
	evidence   []appliedFault           // faults applied without an error, for noEffect
	failures   []string
	done       bool
	expiries   sync.WaitGroup // crashed members' sessions still running (expireCrashed)
	// phantomJoins counts join-phantom faults still joining: a
	// leave-phantom waits for them (they apply in the background).
	phantomJoins sync.WaitGroup
	// isolations are the isolate-broker faults not yet healed, by broker.
	isolations map[int32]*fake.FaultHandle
}

// groupKey is a group's key in the run's counts. Groups and clients have
// names of their own (a consumer may be named after its group), so a
// group's count is kept apart from its members': a consumer "billing" in
// group "billing" counted its records twice.
func groupKey(group string) string { return "group " + group }

// countKey is the key of a count scoped to a client, or else to a group
// ("", "": the total).
func countKey(client, group string) string {
	if group != "" && client == "" {
		return groupKey(group)
	}
	return client
}

func (r *run) count(m map[string]int, n int, names ...string) {
	r.mu.Lock()
	m[""] += n
	for _, name := range names {
		if name != "" {
			m[name] += n
		}
	}
	r.progress.Broadcast()
	r.mu.Unlock()
}

func (r *run) fail(format string, args ...any) {
	r.mu.Lock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// execute runs the scenario and returns what went wrong, runner errors
// and failed expectations with the anomalies and the seed, or "" if the
// scenario passed. (The harness adds the journal's tail when a test fails.)
func (r *run) execute() string {
	s := r.s
	opts := []fake.Option{fake.Seed(r.seed), fake.Brokers(s.Cluster.Brokers)}
	if s.Cluster.ReplicaLagMax > 0 {
		opts = append(opts, fake.ReplicaLagMax(s.Cluster.ReplicaLagMax))
	}
	if s.BrokerSessionTimeout > 0 {
		opts = append(opts, fake.BrokerSessionTimeout(s.BrokerSessionTimeout))
	}
	for _, t := range s.Topics {
		opts = append(opts, fake.Topic(t.Name, t.Partitions, t.Replicas, t.Configs))
	}
	if r.virtual {
		opts = append(opts, fake.VirtualNetwork())
	}
	r.c = harness.Start(r.tb, opts...)
	if r.c.Real() {
		// The topics were created under their harness names: run with
		// those names everywhere.
		r.s = renamed(s, r.c.Name)
		s = r.s
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r.ctx = ctx

	// Consumers and pipelines first; producers and the fault timeline
	// once every group is stable with all its members, so that a run does
	// not depend on how fast the clients happened to join.
	var consumers sync.WaitGroup
	members := map[string]int{}
	for _, c := range s.Workload.Consumers {
		members[c.Group]++
		consumers.Add(1)
		go func() { defer consumers.Done(); r.consume(c) }()
	}
	for _, p := range s.Workload.Pipelines {
		members[p.Group]++
		consumers.Add(1)
		go func() { defer consumers.Done(); r.pipeline(p) }()
	}
	for g, n := range members {
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := r.c.WaitGroup(wctx, g, fake.GroupStable(n))
		wcancel()
		if err != nil {
			r.fail("%s: group %s never became stable with its %d members: %v", s.Pos, g, n, err)
		}
	}
	start := time.Now()
	var workers, faults sync.WaitGroup
	for _, p := range s.Workload.Producers {
		workers.Add(1)
		go func() { defer workers.Done(); r.produce(p) }()
	}
	var undo sync.WaitGroup
	faults.Add(1)
	go func() { defer faults.Done(); r.timeline(start, &undo) }()

	workers.Wait()
	r.settle()
	// Faults whose trigger has not fired by now never will.
	r.mu.Lock()
	r.done = true
	r.progress.Broadcast()
	applied := r.applied
	r.mu.Unlock()
	faults.Wait()
	undo.Wait()
	r.mu.Lock()
	more := r.applied != applied
	r.mu.Unlock()
	if more { // faults (or their undoing) came after the consumers settled
		r.settle()
	}
	if ctx.Err() != nil {
		r.fail("%s: the run timed out after %s", s.Pos, timeout)
	}
	cancel()
	consumers.Wait()
	r.expiries.Wait()
	return r.verdict()
}

// settle waits, after the producers and the fault timeline are done, until
// the consumers stop making progress: everything readable was read.
func (r *run) settle() {
	if len(r.s.Workload.Consumers)+len(r.s.Workload.Pipelines) == 0 {
		return
	}
	quiet := 250 * time.Millisecond
	last, lastChange, lastProgress := -1, time.Now(), time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		n, closing := r.consumed[""], r.closing
		r.mu.Unlock()
		if n != last {
			lastProgress = time.Now()
		}
		// A running pipeline that has not committed all of its input
		// still has work, however long its last step took (a loaded
		// machine stalled one for longer than quiet and ended the run
		// early). It gets patience without progress, so that input it
		// can never commit (a group that gave up) does not hold the run.
		lagging := time.Since(lastProgress) < pipelinePatience && r.pipelineLag()
		// A member still closing (a fenced zombie leaving, say) holds
		// partitions the rest of its group gets only once it has left.
		// A running member not yet in its group (a restarted life still
		// joining, a member rejoining after a rebalance) has not read
		// what it will read: an empty group is not a finished one.
		joining := time.Since(lastProgress) < pipelinePatience && !r.membersJoined()
		// A group that has not read to the end of a topic it reads has
		// work in hand, however long its members took to join and fetch
		// (a loaded machine took longer than quiet to fetch after a
		// rebalance and ended the run before the new owner read).
		lagging = lagging || time.Since(lastProgress) < pipelinePatience && time.Since(lastChange) >= quiet && r.consumerLag()
		if n != last || closing > 0 || lagging || joining || !r.groupsStable() || r.awaitingExpiry() {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) >= quiet {
			// A transaction still open (its writer crashed inside it)
			// holds read_committed readers at the last stable offset
			// until the coordinator aborts it after the transaction
			// timeout: what they will read has not been read yet.
			if !r.openTransaction() {
				return
			}
			lastChange = time.Now()
		}
		select {
		case <-r.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// openTransaction reports whether a partition that a read_committed
// consumer or pipeline reads has a transaction open on it (its last
// stable offset is below its high watermark).
func (r *run) openTransaction() bool {
	topics := map[string]bool{}
	for _, c := range r.s.Workload.Consumers {
		if c.Isolation == ReadCommitted {
			for _, t := range c.Topics {
				topics[t] = true
			}
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		if p.Isolation == ReadCommitted {
			topics[p.Input] = true
		}
	}
	for topic := range topics {
		for part := int32(0); ; part++ {
			st, err := r.c.Partition(topic, part)
			if err != nil {
				break
			}
			if lso, err := r.c.LastStableOffset(topic, part); err == nil && lso < st.HighWatermark {
				return true
			}
		}
	}
	return false
}

// membersJoined reports whether every running consumer and pipeline is a
// member of its group, and the group is stable.
func (r *run) membersJoined() bool {
	type member struct {
		group string
		cl    *kgo.Client
	}
	var running []member
	r.mu.Lock()
	for name, l := range r.members {
		if l.ctx.Err() != nil {
			continue // ending: lives() starts the next one, if any
		}
		if l.cl == nil {
			r.mu.Unlock()
			return false // its client is being created
		}
		running = append(running, member{r.groupOf(name), l.cl})
	}
	r.mu.Unlock()
	for _, m := range running {
		id, _ := m.cl.GroupMetadata()
		gi := r.groupInfo(m.group)
		if id == "" || gi == nil || gi.State != "Stable" || !slices.ContainsFunc(gi.Members, func(gm kfake.GroupMember) bool { return gm.MemberID == id }) {
			return false
		}
	}
	return true
}

// pipelinePatience is how long settle waits for a lagging pipeline that
// makes no progress.
const pipelinePatience = 10 * time.Second

// pipelineLag reports whether a running pipeline's group has committed
// less of some input partition than its high watermark: input it has not
// processed yet. Pipelines commit their input offsets in their
// transactions, so the commits are exactly what was processed.
func (r *run) pipelineLag() bool {
	for _, p := range r.s.Workload.Pipelines {
		r.mu.Lock()
		_, running := r.members[p.Name]
		r.mu.Unlock()
		if !running {
			continue
		}
		commits := map[int32]kfake.GroupCommit{}
		if gi := r.groupInfo(p.Group); gi != nil {
			commits = gi.Commits[p.Input]
		}
		for part := int32(0); ; part++ {
			st, err := r.c.Partition(p.Input, part)
			if err != nil {
				break
			}
			if commits[part].Offset < st.HighWatermark {
				return true
			}
		}
	}
	return false
}

// consumerLag reports whether a consumer group with a running member has
// read less of a partition than its high watermark. Its position is the
// furthest of what its members processed and what it committed. Groups
// that start at the latest offset, and topics transactions write (where
// the end of a partition can be a marker no consumer reads, or aborted
// records a read_committed one skips), are left to the quiet window.
func (r *run) consumerLag() bool {
	txnTopics := map[string]bool{}
	for _, p := range r.s.Workload.Producers {
		if p.TransactionalID != "" {
			txnTopics[p.Topic] = true
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		txnTopics[p.Output] = true
	}
	r.mu.Lock()
	running := map[string]bool{}
	for _, c := range r.s.Workload.Consumers {
		if l := r.members[c.Name]; l != nil && l.ctx.Err() == nil && c.OffsetReset != ResetLatest {
			running[c.Group] = true
		}
	}
	for _, c := range r.s.Workload.Consumers {
		if c.OffsetReset == ResetLatest {
			running[c.Group] = false // a group mixing both is left to quiet
		}
	}
	r.mu.Unlock()
	for _, c := range r.s.Workload.Consumers {
		if !running[c.Group] {
			continue
		}
		gi := r.groupInfo(c.Group)
		for _, topic := range c.Topics {
			if txnTopics[topic] {
				continue
			}
			for part := int32(0); ; part++ {
				st, err := r.c.Partition(topic, part)
				if err != nil {
					break
				}
				k := groupPartition{c.Group, topic, part}
				r.mu.Lock()
				pos := r.position[k]
				r.mu.Unlock()
				if gi != nil {
					pos = max(pos, gi.Commits[topic][part].Offset)
				}
				if pos < st.HighWatermark {
					return true
				}
			}
		}
	}
	return false
}

// processed notes how far group read each partition it processed
// records of.
func (r *run) processed(group string, recs []assertions.Record) {
	r.mu.Lock()
	for _, rec := range recs {
		k := groupPartition{group, rec.Topic, rec.Partition}
		r.position[k] = max(r.position[k], rec.Offset+1)
	}
	r.mu.Unlock()
}

// awaitingExpiry reports whether a crashed, not restarted member's session
// is still running: its partitions move to the rest of its group only
// once it expires.
func (r *run) awaitingExpiry() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, at := range r.crashedAt {
		if time.Since(at) < r.sessionTimeout(name)+100*time.Millisecond {
			return true
		}
	}
	return false
}

// sessionTimeout is a consumer's or pipeline's group session timeout.
func (r *run) sessionTimeout(name string) time.Duration {
	for _, c := range r.s.Workload.Consumers {
		if c.Name == name && c.SessionTimeout > 0 {
			return c.SessionTimeout
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		if p.Name == name && p.SessionTimeout > 0 {
			return p.SessionTimeout
		}
	}
	if r.c != nil && r.c.Real() {
		return 45 * time.Second // kgo's default: the harness leaves it on a real cluster
	}
	return 3 * time.Second // the harness clients' default
}

// groupsStable reports whether every consumer group is stable: a group
// still rebalancing (waiting out a crashed member's session, say) has
// more to consume.
func (r *run) groupsStable() bool {
	for _, c := range r.s.Workload.Consumers {
		if gi := r.groupInfo(c.Group); gi != nil && gi.State != "Stable" && gi.State != "Empty" {
			return false
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		if gi := r.groupInfo(p.Group); gi != nil && gi.State != "Stable" && gi.State != "Empty" {
			return false
		}
	}
	return true
}

// client creates a franz-go client for a workload member. A producer's is
// recorded into the cluster's history by hooks; a consumer records what it
// processed itself, since a crash can stop it halfway through a poll.
func (r *run) client(name string, hooked bool, opts ...kgo.Opt) (*kgo.Client, error) {
	all := append(r.c.ClientDefaults(), kgo.ClientID(name))
	if hooked {
		all = append(all, kgo.WithHooks(r.c.Recorder(name)))
	}
	return kgo.NewClient(append(all, opts...)...)
}

func (r *run) produce(p Producer) {
	opts := []kgo.Opt{kgo.DefaultProduceTopic(p.Topic)}
	switch p.Acks {
	case AcksNone:
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	case AcksLeader:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	if !p.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if p.TransactionalID != "" {
		opts = append(opts, kgo.TransactionalID(p.TransactionalID))
	}
	if p.DeliveryTimeout > 0 {
		opts = append(opts, kgo.RecordDeliveryTimeout(p.DeliveryTimeout))
	}
	if p.Partition != nil {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := r.client(p.Name, true, opts...)
	if err != nil {
		r.fail("%s: producer %s: %v", p.Pos, p.Name, err)
		return
	}
	defer cl.Close()
	h := r.c.History()
	var pace *time.Ticker
	if p.Rate > 0 {
		pace = time.NewTicker(time.Second / time.Duration(p.Rate))
		defer pace.Stop()
	}
	// stop ends the producer after an error from a transactional call:
	// quietly if the run is over or a fence-producer fault fenced it (it
	// is a zombie), as a failure otherwise.
	stop := func(what string, err error) {
		if r.ctx.Err() == nil && !r.fenced(p.Name) {
			r.fail("%s: producer %s: %s: %v", p.Pos, p.Name, what, err)
		}
	}
	txns := 0
	var begin time.Time
	for i := 0; i < p.Records; i++ {
		if r.ctx.Err() != nil {
			return
		}
		if pace != nil {
			select {
			case <-pace.C:
			case <-r.ctx.Done():
				return
			}
		}
		if p.TransactionalID != "" && i%max(p.TxnSize, 1) == 0 {
			if err := cl.BeginTransaction(); err != nil {
				stop("begin transaction", err)
				return
			}
			begin = time.Now()
			h.BeginTxn(p.Name)
		}
		rec := &kgo.Record{Value: []byte(fmt.Sprintf("%s-%d", p.Name, i))}
		if p.Keys > 0 {
			rec.Key = []byte(fmt.Sprintf("k%d", i%p.Keys))
		}
		if p.Partition != nil {
			rec.Partition = *p.Partition
		}
		cl.Produce(r.ctx, rec, func(_ *kgo.Record, err error) {
			if err == nil {
				r.count(r.acked, 1, p.Name)
			}
		})
		if p.TransactionalID != "" && ((i+1)%max(p.TxnSize, 1) == 0 || i == p.Records-1) {
			txns++
			commit := !(p.AbortEvery > 0 && txns%p.AbortEvery == 0)
			if err := cl.Flush(r.ctx); err != nil {
				h.EndTxn(p.Name, false)
				stop("flush", err)
				return
			}
			h.EndingTxn(p.Name)
			err := cl.EndTransaction(r.ctx, kgo.TransactionEndTry(commit))
			h.EndTxn(p.Name, commit && (err == nil || r.txnCommitted(p.Name, begin)))
			if err != nil {
				// After a fence: OPERATION_NOT_ATTEMPTED, PRODUCER_FENCED,
				// INVALID_PRODUCER_EPOCH or INVALID_TXN_STATE, depending
				// on where the fence caught the transaction.
				stop("end transaction", err)
				return
			}
		}
	}
	if err := cl.Flush(r.ctx); err != nil && r.ctx.Err() == nil {
		r.fail("%s: producer %s: flush: %v", p.Pos, p.Name, err)
	}
}

func groupOpts(protocol GroupProtocol, balancer string) []kgo.Opt {
	var b kgo.GroupBalancer
	switch balancer {
	case "range":
		b = kgo.RangeBalancer()
	case "roundrobin":
		b = kgo.RoundRobinBalancer()
	case "sticky":
		b = kgo.StickyBalancer()
	default:
		b = kgo.CooperativeStickyBalancer()
	}
	if protocol == ProtocolConsumer {
		return []kgo.Opt{kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer()}
	}
	return []kgo.Opt{kgo.Balancers(b)}
}

func isolationOpt(i Isolation) kgo.Opt {
	if i == ReadCommitted {
		return kgo.FetchIsolationLevel(kgo.ReadCommitted())
	}
	return kgo.FetchIsolationLevel(kgo.ReadUncommitted())
}

// fault applies f, whose trigger fired, and schedules its undo.
func (r *run) fault(f Fault, undo *sync.WaitGroup) {
	r.mu.Lock()
	if r.firstFault == 0 {
		r.firstFault = int64(len(r.c.Journal()))
	}
	r.applies = append(r.applies, fmt.Sprintf("%s %s", f.Pos, f.Verb))
	r.mu.Unlock()
	switch f.Verb {
	case Rebalance, JoinPhantom:
		// These start at once but return when the group has moved on (a
		// heartbeat or more later): the faults after them must not wait,
		// or a second group's rebalance lands after its batch is done.
		// A leave-phantom waits for the join-phantoms before it (see
		// phantomJoins).
		undo.Add(1)
		if f.Verb == JoinPhantom {
			r.phantomJoins.Add(1)
		}
		go func() {
			defer undo.Done()
			if f.Verb == JoinPhantom {
				defer r.phantomJoins.Done()
			}
			r.finish(f, undo)
		}()
	default:
		r.finish(f, undo)
	}
}

// finish applies f and schedules its undo.
func (r *run) finish(f Fault, undo *sync.WaitGroup) {
	from := r.journalLen()
	revert, err := r.apply(f)
	r.mu.Lock()
	r.applied++
	r.mu.Unlock()
	if err != nil {
		r.fail("%s: fault %s after %s: %v", f.Pos, f.Verb, f.After, err)
		return
	}
	r.noteApplied(f, from) // its effect is checked in the journal (evidence.go)
	if f.For <= 0 || revert == nil {
		return
	}
	undo.Add(1)
	go func() {
		defer undo.Done()
		t := time.NewTimer(f.For)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.ctx.Done():
		}
		err := revert()
		r.mu.Lock()
		r.applied++
		r.applies = append(r.applies, fmt.Sprintf("undo %s %s", f.Pos, f.Verb))
		r.mu.Unlock()
		if err != nil && r.ctx.Err() == nil {
			r.fail("%s: undoing %s: %v", f.Pos, f.Verb, err)
		}
	}()
}

// timeline applies the faults as their triggers fire, one at a time, so
// that a seed replays the same timeline: faults whose triggers fired
// together apply in file order. Once the run is done (r.done), a progress
// trigger that has not fired never will.
func (r *run) timeline(start time.Time, undo *sync.WaitGroup) {
	defer context.AfterFunc(r.ctx, r.wake)()
	pending := slices.Clone(r.s.Faults)
	var timer *time.Timer // wakes the loop for the next time trigger
	var armed time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(pending) > 0 {
		r.mu.Lock()
		timedOut := r.ctx.Err() != nil
		var due, rest []Fault
		var next time.Time // the earliest time trigger still to come
		for _, f := range pending {
			switch t := f.After; {
			case !timedOut && r.fired(t, start):
				due = append(due, f)
			case timedOut || r.done && t.Kind != AtTime:
				r.failures = append(r.failures, fmt.Sprintf("%s: fault %s never triggered (after %s)", f.Pos, f.Verb, f.After))
			case t.Kind == AtTime:
				if at := start.Add(t.Elapsed); next.IsZero() || at.Before(next) {
					next = at
				}
				rest = append(rest, f)
			default:
				rest = append(rest, f)
			}
		}
		pending = rest
		if len(due) == 0 {
			if len(pending) == 0 {
				r.mu.Unlock()
				return
			}
			if !next.IsZero() && !next.Equal(armed) {
				if timer != nil {
					timer.Stop()
				}
				timer, armed = time.AfterFunc(time.Until(next), r.wake), next
			}
			r.progress.Wait()
			r.mu.Unlock()
			continue
		}
		r.mu.Unlock()
		for _, f := range due {
			r.fault(f, undo)
		}
	}
}

// fired reports whether trigger t has fired. r.mu is held.
func (r *run) fired(t Trigger, start time.Time) bool {
	switch t.Kind {
	case OnAcked:
		return r.acked[t.Producer] >= t.Count
	case OnConsumed:
		return r.consumed[countKey(t.Consumer, t.Group)] >= t.Count
	case OnCommitted:
		return r.committed[countKey(t.Consumer, t.Group)] >= t.Count
	}
	return !time.Now().Before(start.Add(t.Elapsed))
}

// brokerOf is the broker an isolate-broker fault names: its number, or
// the leader of its partition now.
func (r *run) brokerOf(f Fault) (int32, error) {
	if f.LeaderOf == nil {
		return *f.Broker, nil
	}
	st, err := r.c.Partition(f.LeaderOf.Topic, f.LeaderOf.Partition)
	if err != nil {
		return -1, err
	}
	if st.Leader < 0 {
		return -1, fmt.Errorf("leader-of %s: the partition is offline (no leader to isolate)", f.LeaderOf)
	}
	return st.Leader, nil
}

// heal ends the isolation of broker b, or of every isolated broker for
// nil.
func (r *run) heal(b *int32) error {
	r.mu.Lock()
	var hs []*fake.FaultHandle
	for id, h := range r.isolations {
		if b == nil || *b == id {
			hs = append(hs, h)
			delete(r.isolations, id)
		}
	}
	r.mu.Unlock()
	switch {
	case len(hs) == 0 && b == nil:
		return fmt.Errorf("no broker is isolated (isolate-broker) now: nothing to heal")
	case len(hs) == 0:
		return fmt.Errorf("broker %d is not isolated (isolate-broker) now: nothing to heal", *b)
	}
	for _, h := range hs {
		if err := h.Remove(); err != nil {
			return err
		}
	}
	return nil
}

// apply performs a fault and returns how to undo it, if it can be undone.
func (r *run) apply(f Fault) (func() error, error) {
	c := r.c
	partitions := func() []int32 {
		if f.Partition != nil {
			return []int32{*f.Partition}
		}
		t, _ := r.s.Topic(f.Topic)
		ps := make([]int32, t.Partitions)
		for i := range ps {
			ps[i] = int32(i)
		}
		return ps
	}
	each := func(fn func(string, int32) error) error {
		for _, p := range partitions() {
			if err := fn(f.Topic, p); err != nil {
				return err
			}
		}
		return nil
	}
	switch f.Verb {
	case PauseReplication, ResumeReplication:
		pause, resume := c.PauseReplication, c.ResumeReplication
		pauseB, resumeB := c.PauseFollower, c.ResumeFollower
		if f.Verb == ResumeReplication {
			pause, resume, pauseB, resumeB = resume, pause, resumeB, pauseB
		}
		if f.Broker != nil {
			b := *f.Broker
			return func() error { return resumeB(b) }, pauseB(b)
		}
		return func() error { return each(resume) }, each(pause)
	case FailLeader:
		return nil, each(func(t string, p int32) error { _, err := c.FailLeader(t, p); return err })
	case KillBroker:
		b := *f.Broker
		return func() error { return c.RestartBroker(b) }, c.KillBroker(b)
	case RestartBroker:
		return nil, c.RestartBroker(*f.Broker)
	case DeleteRecords:
		cl, err := kgo.NewClient(c.ClientDefaults()...)
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		offsets := kadm.Offsets{}
		for _, p := range partitions() {
			o := int64(-1)
			if f.Offset != nil {
				o = *f.Offset
			} else if st, err := c.Partition(f.Topic, p); err == nil {
				o = st.HighWatermark
			}
			offsets.AddOffset(f.Topic, p, o, -1)
		}
		resps, err := adm.DeleteRecords(r.ctx, offsets)
		if err != nil {
			return nil, err
		}
		for _, ps := range resps {
			for _, resp := range ps {
				if resp.Err == nil {
					r.deleted(resp.Topic, resp.Partition, resp.LowWatermark)
				}
			}
		}
		return nil, resps.Error()
	case Latency, DropResponses, CloseConnections, Blackhole, NetworkPartition:
		var nf fake.NetFault
		switch f.Verb {
		case Latency:
			nf = fake.Latency(f.Delay, f.Jitter)
		case DropResponses:
			nf = fake.DropResponses(f.Probability)
		case CloseConnections:
			nf = fake.CloseConnections()
		case Blackhole:
			nf = fake.Blackhole()
		case NetworkPartition:
			nf = fake.Partition(f.Brokers...)
		}
		var targets []fake.Target
		if f.Broker != nil {
			targets = append(targets, fake.OnBrokers(*f.Broker))
		}
		if f.Client != "" {
			targets = append(targets, fake.OnClient(f.Client))
		}
		if len(f.Requests) > 0 {
			targets = append(targets, fake.OnKeys(f.Requests...))
		}
		if f.Count > 0 {
			targets = append(targets, fake.Times(f.Count))
		}
		h, err := c.AddFault(nf, targets...)
		if err != nil {
			return nil, err
		}
		return func() error { _ = h.Remove(); return nil }, nil
	case IsolateBroker:
		b, err := r.brokerOf(f)
		if err != nil {
			return nil, err
		}
		var targets []fake.Target
		if f.Client != "" {
			targets = append(targets, fake.OnClient(f.Client))
		}
		h, err := c.AddFault(fake.Isolate(b), targets...)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.isolations[b] = h
		r.mu.Unlock()
		return func() error { return r.heal(&b) }, nil
	case Heal:
		return nil, r.heal(f.Broker)
	case Rebalance:
		return nil, c.Rebalance(r.ctx, f.Group)
	case ExpireMember:
		cl := r.liveClient(f.Member)
		if cl == nil {
			return nil, fmt.Errorf("%s is not running", f.Member)
		}
		id, _ := cl.GroupMetadata()
		return nil, c.ExpireMember(f.Group, id)
	case JoinPhantom:
		n := max(f.Count, 1)
		if _, err := c.WaitGroup(r.ctx, f.Group, fake.GroupStable(-1)); err != nil {
			return nil, err
		}
		_, err := c.JoinPhantom(f.Group, n)
		return func() error { return c.LeavePhantom(f.Group, n) }, err
	case LeavePhantom:
		// The phantoms it makes leave are those join-phantom faults
		// before it started: on a loaded machine one was still joining
		// when a later count fired this, and left before it joined.
		r.phantomJoins.Wait()
		return nil, c.LeavePhantom(f.Group, max(f.Count, 1))
	case MoveCoordinator:
		_, err := c.MoveCoordinator(f.Group)
		return nil, err
	case InjectError:
		kf := kfake.Fault{Keys: f.Requests, Topic: f.Topic, Group: f.Group, Err: f.Error, Count: f.Count}
		if f.Count == 0 {
			kf.Count = -1
		}
		if f.Partition != nil {
			kf.Partitions = []int32{*f.Partition}
		}
		if f.Broker != nil {
			kf.Nodes = []int32{*f.Broker}
		}
		h, err := c.InjectError(kf)
		if err != nil {
			return nil, err
		}
		return func() error {
			if err := h.Remove(); err != nil && h.Hits() < max(kf.Count, 1) {
				return err
			}
			return nil // spent before its for: ran out
		}, nil
	case CrashConsumer:
		name := f.Consumer + f.Pipeline
		if err := r.crashClient(name); err != nil {
			return nil, err
		}
		return func() error { return r.restart(name) }, nil
	case RestartConsumer:
		return nil, r.restart(f.Consumer + f.Pipeline)
	case FenceProducer:
		// A new instance with the same transactional id initialises,
		// which bumps the producer epoch and aborts the open
		// transaction: the running one is a zombie from now on.
		name := f.Producer + f.Pipeline
		txid := r.transactionalID(name)
		if txid == "" {
			return nil, fmt.Errorf("%s is not transactional", name)
		}
		if f.Pipeline != "" {
			release, err := r.holdOpenTxn(name)
			if err != nil {
				return nil, err
			}
			defer release()
		}
		cl, err := kgo.NewClient(append(c.ClientDefaults(), kgo.TransactionalID(txid), kgo.ClientID("fencer-"+name))...)
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		r.fence(name, true)
		if _, _, err := cl.ProducerID(r.ctx); err != nil { // InitProducerID
			r.fence(name, false) // it was not fenced after all
			return nil, err
		}
		return nil, nil
	}
	return nil, fmt.Errorf("verb %q is not supported by this runner", f.Verb)
}

func (r *run) transactionalID(name string) string {
	for _, p := range r.s.Workload.Producers {
		if p.Name == name {
			return p.TransactionalID
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		if p.Name == name {
			return p.TransactionalID
		}
	}
	return ""
}

// verdict judges the expectations and returns what failed, with the
// runner's own errors; "" if nothing did. r.held records, for each
// expectation, whether it held.
func (r *run) verdict() string {
	var groups []string
	for _, c := range r.s.Workload.Consumers {
		if !slices.Contains(groups, c.Group) {
			groups = append(groups, c.Group)
		}
	}
	inputs := map[string]bool{}
	for _, p := range r.s.Workload.Pipelines {
		inputs[p.Input] = true
	}
	// A transactional pipeline re-polls its input after an abort by
	// design: with pipelines, judge the topics that are not their inputs.
	var topics []string
	for _, t := range r.s.Topics {
		if !inputs[t.Name] {
			topics = append(topics, t.Name)
		}
	}
	// What the brokers store makes lost writes certain even when no
	// consumer read past them; below a log start moved by retention or
	// delete-records, writes were deleted, not lost.
	for _, t := range r.s.Topics {
		for p := int32(0); p < t.Partitions; p++ {
			if st, err := r.c.Partition(t.Name, p); err == nil {
				r.deleted(t.Name, p, st.LogStartOffset)
			}
		}
	}
	for _, rec := range r.c.ReadLog(r.tb) {
		r.c.History().Stored(rec.Topic, rec.Partition, rec.Offset, string(rec.Key), string(rec.Value))
	}
	check := func(group, consumer string) assertions.Report {
		h := r.c.History()
		gs := groups
		if group != "" || consumer != "" {
			h = scoped(h, group, consumer)
			gs = nil
			if group != "" {
				gs = []string{group}
			}
		}
		opts := []assertions.Option{assertions.ConsumedBy(gs...)}
		if len(inputs) > 0 {
			opts = append(opts, assertions.Topics(topics...))
		}
		return assertions.Check(h, opts...)
	}
	report := check("", "")
	r.writePage(report)

	noEffect := r.noEffect() // faults the journal shows did nothing
	var failed []string
	r.mu.Lock()
	failed = append(failed, r.failures...)
	failed = append(failed, noEffect...)
	counts := map[ExpectKind]map[string]int{ExpectAcked: r.acked, ExpectConsumed: r.consumed, ExpectFenced: r.zombies}
	r.mu.Unlock()
	r.held = nil
	for _, e := range r.s.Expect {
		rep := report
		if e.Group != "" || e.Consumer != "" {
			rep = check(e.Group, e.Consumer)
		}
		msg := r.judge(e, rep, counts)
		if msg != "" {
			failed = append(failed, fmt.Sprintf("%s: expected %s: %s", e.Pos, e, msg))
		}
		r.held = append(r.held, msg == "")
	}
	if len(failed) == 0 {
		return ""
	}
	return fmt.Sprintf("scenario %q (%s) failed with seed %d (replay: %s=%d):\n  %s\nanomalies: %s",
		r.s.Name, r.s.Pos.File, r.seed, SeedEnv, r.seed, strings.Join(failed, "\n  "), report)
}

// writePage writes the run's timeline page, with report's anomalies
// marked and explained, to PageFile in the test's artifact directory (go
// test -artifacts keeps it; kafkaemu run -html DIR names the directory).
func (r *run) writePage(report assertions.Report) {
	if r.pages == "" {
		return
	}
	if err := r.c.WriteTimelineFile(PageFile(r.pages, r.s), report); err != nil {
		r.fail("%s: writing the timeline page: %v", r.s.Pos.File, err)
	}
}

// PageFile is the path of s's timeline page in dir: the scenario's name
// with .html, its characters other than letters, digits, '-', '_' and
// '.' replaced by '_'.
func PageFile(dir string, s *Scenario) string {
	name := s.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(s.Pos.File), filepath.Ext(s.Pos.File))
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0) {
			b[i] = '_'
		}
	}
	return filepath.Join(dir, string(b)+".html")
}

// deleted records in the history that a partition's log starts at
// logStart, if that moved it.
func (r *run) deleted(topic string, partition int32, logStart int64) {
	k := topicPartition{topic, partition}
	r.mu.Lock()
	moved := logStart > r.logStart[k]
	if moved {
		r.logStart[k] = logStart
	}
	r.mu.Unlock()
	if moved {
		r.c.History().Deleted(topic, partition, logStart)
	}
}

func (r *run) judge(e Expectation, report assertions.Report, counts map[ExpectKind]map[string]int) string {
	var n int
	switch e.Kind {
	case ExpectAnomaly:
		n = report.Count(assertions.Anomaly(e.Anomaly))
	case ExpectDelivery:
		forbids := map[Delivery][]assertions.Anomaly{
			AtMostOnce:  assertions.AtMostOnceForbids,
			AtLeastOnce: assertions.AtLeastOnceForbids,
			ExactlyOnce: assertions.ExactlyOnceForbids,
		}[e.Delivery]
		var broken []string
		for _, a := range forbids {
			if k := report.Count(a); k > 0 {
				broken = append(broken, fmt.Sprintf("%s %d", a, k))
			}
		}
		if len(broken) > 0 {
			return "found " + strings.Join(broken, ", ")
		}
		return ""
	case ExpectAcked, ExpectConsumed, ExpectFenced:
		n = counts[e.Kind][countKey(e.Producer+e.Consumer, e.Group)] // at most one scope is set
	case ExpectRebalances:
		n = r.rebalances(e.Group)
	case ExpectProduceError:
		for _, ev := range r.c.Journal() {
			if ev.Kind == fake.EventProduceRejected && ev.Error == e.Error.Message && (e.Producer == "" || ev.Client == e.Producer) {
				n++
			}
		}
	}
	if !e.Count.Holds(n) {
		return fmt.Sprintf("got %d", n)
	}
	return ""
}

// scoped is h narrowed to one group's or consumer's reads: every send,
// acknowledgement, transaction and broker-side record or deletion, and only that
// group's (or consumer's) polls, commits and assignments.
func scoped(h *assertions.History, group, consumer string) *assertions.History {
	out := assertions.NewHistory()
	for _, e := range h.Events() {
		switch e.Op {
		case assertions.OpSend:
			out.Send(e.Producer, e.Topic, e.Key, e.Value)
		case assertions.OpAck:
			out.Ack(e.Producer, e.Topic, e.Partition, e.Offset, e.Key, e.Value)
		case assertions.OpFail, assertions.OpUnknown:
			out.Fail(e.Producer, e.Topic, e.Key, e.Value, errors.New(e.Err))
		case assertions.OpBegin:
			out.BeginTxn(e.Producer)
		case assertions.OpEnding:
			out.EndingTxn(e.Producer)
		case assertions.OpCommitT, assertions.OpAbort:
			out.EndTxn(e.Producer, e.Op == assertions.OpCommitT)
		case assertions.OpStored:
			out.Stored(e.Topic, e.Partition, e.Offset, e.Key, e.Value)
		case assertions.OpDeleted:
			out.Deleted(e.Topic, e.Partition, e.Offset)
		case assertions.OpPoll:
			if (group == "" || e.Group == group) && (consumer == "" || e.Consumer == consumer) {
				out.Poll(e.Consumer, e.Group, e.Generation, e.ReadCommitted, []assertions.Record{{Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Value: e.Value}})
			}
		case assertions.OpCommit:
			if (group == "" || e.Group == group) && (consumer == "" || e.Consumer == consumer) {
				out.Commit(e.Group, e.Consumer, e.Generation, e.Topic, e.Partition, e.Offset)
			}
		}
	}
	return out
}

// rebalances counts the generations a group went through after the first
// fault (or, without faults, after every consumer first joined): the
// rebalances the run caused.
func (r *run) rebalances(group string) int {
	members := map[string]bool{}
	for _, c := range r.s.Workload.Consumers {
		if group == "" || c.Group == group {
			members[c.Name] = true
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		if group == "" || p.Group == group {
			members[p.Name] = true
		}
	}
	r.mu.Lock()
	firstFault := r.firstFault
	r.mu.Unlock()
	joined := map[string]bool{}
	var base int32 = -1
	gens := map[int32]bool{}
	for _, ev := range r.c.Journal() {
		if ev.Kind != fake.EventGroup || (group != "" && ev.Group != group) || ev.Error != "" || !strings.HasPrefix(ev.Detail, "join") || ev.Epoch <= 0 {
			continue
		}
		// Before the first fault, generations are the group forming
		// (a cooperative group takes two rounds): not rebalances.
		if firstFault > 0 && ev.Seq <= firstFault {
			base = max(base, ev.Epoch)
			continue
		}
		if base < 0 {
			joined[ev.Client] = true
			if len(joined) >= len(members) {
				base = ev.Epoch // everyone is in: later generations are rebalances
			}
			continue
		}
		if ev.Epoch > base {
			gens[ev.Epoch] = true
		}
	}
	return len(gens)
}
