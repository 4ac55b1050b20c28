package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
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
func RunScenario(tb testing.TB, s *Scenario) {
	tb.Helper()
	seed, err := scenarioSeed(s)
	if err != nil {
		tb.Fatal(err)
	}
	r := &run{tb: tb, s: s, seed: seed, acked: map[string]int{}, consumed: map[string]int{}, committed: map[string]int{}, clients: map[string]*kgo.Client{}}
	r.progress = sync.NewCond(&r.mu)
	r.execute()
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
	tb   testing.TB
	s    *Scenario
	seed int64
	c    *harness.Cluster
	ctx  context.Context

	mu         sync.Mutex
	progress   *sync.Cond
	acked      map[string]int // by producer; "" is the total
	consumed   map[string]int // by consumer/pipeline and by group; "" is the total
	committed  map[string]int
	clients    map[string]*kgo.Client   // live consumer and pipeline clients, by name
	crashed    map[string]chan struct{} // crashed clients waiting for restart-consumer
	crashing   map[string]struct{}      // clients a fault is crashing
	restarting map[string]struct{}      // clients a fault is restarting gracefully
	firstFault int64                    // the journal's length when the first fault applied
	commitAt   map[groupPartition]int64 // the highest offset each group committed
	applied    int                      // faults applied or undone so far
	crashedAt  map[string]time.Time     // crashed clients not restarted, and when
	failures   []string
	done       bool
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

func (r *run) execute() {
	s := r.s
	opts := []fake.Option{fake.Seed(r.seed), fake.Brokers(s.Cluster.Brokers)}
	if s.Cluster.ReplicaLagMax > 0 {
		opts = append(opts, fake.ReplicaLagMax(s.Cluster.ReplicaLagMax))
	}
	for _, t := range s.Topics {
		opts = append(opts, fake.Topic(t.Name, t.Partitions, t.Replicas, t.Configs))
	}
	r.c = harness.Start(r.tb, opts...)
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r.ctx = ctx
	r.crashed = map[string]chan struct{}{}
	r.crashing = map[string]struct{}{}
	r.restarting = map[string]struct{}{}
	r.crashedAt = map[string]time.Time{}
	r.commitAt = map[groupPartition]int64{}

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
	// Faults with the same trigger apply together, in file order.
	var undo sync.WaitGroup
	var order []string
	byTrigger := map[string][]Fault{}
	for _, f := range s.Faults {
		k := fmt.Sprintf("%s|%v|%d|%s|%s|%s", f.After.Kind, f.After.Elapsed, f.After.Count, f.After.Producer, f.After.Consumer, f.After.Group)
		if byTrigger[k] == nil {
			order = append(order, k)
		}
		byTrigger[k] = append(byTrigger[k], f)
	}
	for _, k := range order {
		fs := byTrigger[k]
		faults.Add(1)
		go func() {
			defer faults.Done()
			if !r.await(fs[0].After, start) {
				if r.ctx.Err() == nil {
					r.fail("%s: fault %s never triggered (after %s)", fs[0].Pos, fs[0].Verb, fs[0].After)
				}
				return
			}
			for _, f := range fs {
				r.fault(f, &undo)
			}
		}()
	}

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
	cancel()
	consumers.Wait()
	r.verdict()
}

// settle waits, after the producers and the fault timeline are done, until
// the consumers stop making progress: everything readable was read.
func (r *run) settle() {
	if len(r.s.Workload.Consumers)+len(r.s.Workload.Pipelines) == 0 {
		return
	}
	quiet := 250 * time.Millisecond
	last, lastChange := -1, time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		n := r.consumed[""]
		r.mu.Unlock()
		if n != last || !r.groupsStable() || r.awaitingExpiry() {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) >= quiet {
			return
		}
		select {
		case <-r.ctx.Done():
			return
		case <-tick.C:
		}
	}
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

// sessionTimeout is a consumer's group session timeout.
func (r *run) sessionTimeout(name string) time.Duration {
	for _, c := range r.s.Workload.Consumers {
		if c.Name == name && c.SessionTimeout > 0 {
			return c.SessionTimeout
		}
	}
	return 3 * time.Second // the harness clients' default
}

// groupsStable reports whether every consumer group is stable: a group
// still rebalancing (waiting out a crashed member's session, say) has
// more to consume.
func (r *run) groupsStable() bool {
	for _, c := range r.s.Workload.Consumers {
		if gi := r.c.Kfake().GroupInfo(c.Group); gi != nil && gi.State != "Stable" && gi.State != "Empty" {
			return false
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		if gi := r.c.Kfake().GroupInfo(p.Group); gi != nil && gi.State != "Stable" && gi.State != "Empty" {
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
	txns := 0
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
				r.fail("%s: producer %s: begin transaction: %v", p.Pos, p.Name, err)
				return
			}
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
		if p.TransactionalID != "" && (i+1)%max(p.TxnSize, 1) == 0 || p.TransactionalID != "" && i == p.Records-1 {
			txns++
			commit := !(p.AbortEvery > 0 && txns%p.AbortEvery == 0)
			if err := cl.Flush(r.ctx); err != nil {
				return
			}
			h.EndingTxn(p.Name)
			err := cl.EndTransaction(r.ctx, kgo.TransactionEndTry(commit))
			h.EndTxn(p.Name, commit && err == nil)
			if err != nil && !fenced(err) {
				r.fail("%s: producer %s: end transaction: %v", p.Pos, p.Name, err)
			}
			if err != nil {
				return // fenced: a zombie stops
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

// consume runs a consumer until the run ends, restarting it after a crash
// when a restart-consumer fault says so.
func (r *run) consume(c Consumer) {
	for {
		crashed := r.consumeOnce(c)
		if !crashed {
			return
		}
		// Crashed: wait for a restart-consumer fault or the end.
		r.mu.Lock()
		ch := make(chan struct{})
		r.crashed[c.Name] = ch
		r.mu.Unlock()
		select {
		case <-ch:
		case <-r.ctx.Done():
			return
		}
	}
}

// consumeOnce runs one life of consumer c; it reports whether it crashed.
func (r *run) consumeOnce(c Consumer) bool {
	opts := []kgo.Opt{kgo.ConsumerGroup(c.Group), kgo.ConsumeTopics(c.Topics...), isolationOpt(c.Isolation)}
	opts = append(opts, groupOpts(c.Protocol, c.Balancer)...)
	if c.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(c.InstanceID))
	}
	if c.OffsetReset == ResetLatest {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	} else {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	if c.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(c.SessionTimeout))
	}
	if c.Commit != CommitAuto {
		opts = append(opts, kgo.DisableAutoCommit())
	} else {
		opts = append(opts, kgo.AutoCommitInterval(50*time.Millisecond))
	}
	if c.Commit == CommitOnRevoke {
		opts = append(opts, kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
			r.commit(ctx, c.Name, c.Group, cl)
		}))
	}
	cl, err := r.client(c.Name, false, opts...)
	if err != nil {
		r.fail("%s: consumer %s: %v", c.Pos, c.Name, err)
		return false
	}
	r.setClient(c.Name, cl)
	processed := 0
	for {
		fs := cl.PollFetches(r.ctx)
		if r.ctx.Err() != nil {
			r.closeClient(c.Name, cl)
			return false
		}
		if cl.Context().Err() != nil { // closed by a crash-consumer or restart-consumer fault
			if r.wasRestarted(c.Name) {
				return r.consumeOnce(c)
			}
			return r.wasCrashed(c.Name)
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if c.Commit == CommitBeforeProcess {
			r.commit(r.ctx, c.Name, c.Group, cl)
		}
		_, gen := cl.GroupMetadata()
		var done []assertions.Record
		record := func() {
			r.c.History().Poll(c.Name, c.Group, gen, c.Isolation == ReadCommitted, done)
		}
		for _, rec := range recs {
			if c.ProcessTime > 0 {
				select {
				case <-time.After(c.ProcessTime):
				case <-r.ctx.Done():
				}
			}
			done = append(done, assertions.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: string(rec.Key), Value: string(rec.Value)})
			processed++
			r.count(r.consumed, 1, c.Name, c.Group) // progress triggers fire mid-batch
			if c.CrashAfter > 0 && processed == c.CrashAfter {
				record()
				r.crash(c.Name, cl)
				r.wasCrashed(c.Name)
				return true
			}
		}
		record()
		if c.Commit == CommitAfterProcess || c.Commit == CommitOnRevoke {
			r.commit(r.ctx, c.Name, c.Group, cl)
		}
	}
}

func (r *run) commit(ctx context.Context, name, group string, cl *kgo.Client) {
	before := cl.UncommittedOffsets()
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		return // a stale generation, say: the records will be redelivered
	}
	_, gen := cl.GroupMetadata()
	h := r.c.History()
	n := 0
	r.mu.Lock()
	for t, ps := range before {
		for p, o := range ps {
			h.Commit(group, name, gen, t, p, o.Offset)
			k := groupPartition{group, t, p}
			if o.Offset > r.commitAt[k] {
				n += int(o.Offset - r.commitAt[k]) // records newly covered
				r.commitAt[k] = o.Offset
			}
		}
	}
	r.mu.Unlock()
	r.count(r.committed, n, name, group)
}

type groupPartition struct {
	group, topic string
	partition    int32
}

func (r *run) setClient(name string, cl *kgo.Client) {
	r.mu.Lock()
	r.clients[name] = cl
	r.mu.Unlock()
}

func (r *run) closeClient(name string, cl *kgo.Client) {
	r.mu.Lock()
	if r.clients[name] == cl {
		delete(r.clients, name)
	}
	r.mu.Unlock()
	cl.Close()
}

func (r *run) wasRestarted(name string) bool { return r.take(r.restarting, name) }
func (r *run) wasCrashed(name string) bool   { return r.take(r.crashing, name) }

// take removes name from set and reports whether it was there.
func (r *run) take(set map[string]struct{}, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := set[name]
	delete(set, name)
	return ok
}

// crash ends a client as a process crash would: no commit and no
// LeaveGroup (its connections break first), so the group notices only when
// the session times out.
func (r *run) crash(name string, cl *kgo.Client) {
	r.mu.Lock()
	r.crashing[name] = struct{}{}
	r.crashedAt[name] = time.Now()
	r.mu.Unlock()
	h, err := r.c.AddFault(fake.CloseConnections(), fake.OnClient(name))
	if err == nil {
		defer h.Remove()
	}
	r.closeClient(name, cl)
}

func (r *run) pipeline(p Pipeline) {
	opts := []kgo.Opt{
		kgo.TransactionalID(p.TransactionalID), kgo.ConsumerGroup(p.Group), kgo.ConsumeTopics(p.Input),
		isolationOpt(p.Isolation), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
	all := append(r.c.ClientDefaults(), kgo.ClientID(p.Name), kgo.WithHooks(r.c.Recorder(p.Name)))
	sess, err := kgo.NewGroupTransactSession(append(all, opts...)...)
	if err != nil {
		r.fail("%s: pipeline %s: %v", p.Pos, p.Name, err)
		return
	}
	r.setClient(p.Name, sess.Client())
	defer func() { sess.Close() }()
	h := r.c.History()
	txns, processed := 0, 0
	for {
		fs := sess.PollFetches(r.ctx)
		if r.ctx.Err() != nil {
			return
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			r.fail("%s: pipeline %s: begin: %v", p.Pos, p.Name, err)
			return
		}
		h.BeginTxn(p.Name)
		for _, rec := range recs {
			if p.ProcessTime > 0 {
				select {
				case <-time.After(p.ProcessTime):
				case <-r.ctx.Done():
				}
			}
			sess.Produce(r.ctx, &kgo.Record{Topic: p.Output, Key: rec.Key, Value: rec.Value}, func(_ *kgo.Record, err error) {
				if err == nil {
					r.count(r.acked, 1, p.Name)
				}
			})
			processed++
			if p.CrashAfter > 0 && processed == p.CrashAfter {
				h.EndTxn(p.Name, false)
				r.crash(p.Name, sess.Client())
				return
			}
		}
		txns++
		commit := !(p.AbortEvery > 0 && txns%p.AbortEvery == 0)
		if !commit {
			_ = sess.Client().Flush(r.ctx) // the aborted records reach the log first
		}
		h.EndingTxn(p.Name)
		committed, err := sess.End(r.ctx, kgo.TransactionEndTry(commit))
		h.EndTxn(p.Name, committed && err == nil)
		if fenced(err) {
			return // a newer instance took over: this one is a zombie
		}
		if err != nil && r.ctx.Err() == nil {
			r.fail("%s: pipeline %s: end transaction: %v", p.Pos, p.Name, err)
			return
		}
		if committed {
			r.count(r.consumed, len(recs), p.Name, p.Group)
			r.count(r.committed, len(recs), p.Name, p.Group)
		}
	}
}

// fault applies f, whose trigger fired, and schedules its undo.
func (r *run) fault(f Fault, undo *sync.WaitGroup) {
	r.mu.Lock()
	if r.firstFault == 0 {
		r.firstFault = int64(len(r.c.Journal()))
	}
	r.mu.Unlock()
	revert, err := r.apply(f)
	r.mu.Lock()
	r.applied++
	r.mu.Unlock()
	if err != nil {
		r.fail("%s: fault %s after %s: %v", f.Pos, f.Verb, f.After, err)
		return
	}
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
		r.mu.Unlock()
		if err != nil && r.ctx.Err() == nil {
			r.fail("%s: undoing %s: %v", f.Pos, f.Verb, err)
		}
	}()
}

// await blocks until trigger t fires; false if the run ended first.
func (r *run) await(t Trigger, start time.Time) bool {
	if t.Kind == AtTime {
		tm := time.NewTimer(time.Until(start.Add(t.Elapsed)))
		defer tm.Stop()
		select {
		case <-tm.C:
			return true
		case <-r.ctx.Done():
			return false
		}
	}
	stop := context.AfterFunc(r.ctx, func() {
		r.mu.Lock()
		r.progress.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var n int
		switch t.Kind {
		case OnAcked:
			n = r.acked[t.Producer]
		case OnConsumed:
			n = r.consumed[t.Consumer+t.Group]
		case OnCommitted:
			n = r.committed[t.Consumer+t.Group]
		}
		if n >= t.Count {
			return true
		}
		if r.ctx.Err() != nil || r.done {
			return false
		}
		r.progress.Wait()
	}
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
		adm := kadm.NewClient(c.Client(r.tb))
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
		if err == nil {
			err = resps.Error()
		}
		return nil, err
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
		h := c.Kfake().Fault(kf)
		return func() error { h.Remove(); return nil }, nil
	case CrashConsumer:
		name := f.Consumer + f.Pipeline
		cl := r.liveClient(name)
		if cl == nil {
			return nil, fmt.Errorf("%s is not running", name)
		}
		r.crash(name, cl)
		return func() error { return r.restart(name) }, nil
	case RestartConsumer:
		return nil, r.restart(f.Consumer + f.Pipeline)
	case FenceProducer:
		// A new instance with the same transactional id bumps the
		// producer epoch: the old one is a zombie from now on.
		txid := r.transactionalID(f.Producer + f.Pipeline)
		if txid == "" {
			return nil, fmt.Errorf("%s is not transactional", f.Producer+f.Pipeline)
		}
		cl, err := kgo.NewClient(append(r.c.ClientDefaults(), kgo.TransactionalID(txid), kgo.ClientID("zombie-fencer"))...)
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		if err := cl.BeginTransaction(); err != nil {
			return nil, err
		}
		return nil, cl.EndTransaction(r.ctx, kgo.TryAbort)
	}
	return nil, fmt.Errorf("verb %q is not supported by this runner", f.Verb)
}

// fenced: a newer instance with the same transactional id took over.
func fenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// restart brings a crashed consumer back, or restarts a running one
// gracefully: it leaves the group and joins again.
func (r *run) restart(name string) error {
	if cl := r.liveClient(name); cl != nil {
		r.mu.Lock()
		r.restarting[name] = struct{}{}
		r.mu.Unlock()
		r.closeClient(name, cl)
		return nil
	}
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		ch := r.crashed[name]
		delete(r.crashed, name)
		if ch != nil {
			delete(r.crashedAt, name)
		}
		r.mu.Unlock()
		if ch != nil {
			close(ch)
			return nil
		}
		select {
		case <-tick.C: // the crashed consumer is still winding down
		case <-deadline.C:
			return fmt.Errorf("%s has not crashed", name)
		case <-r.ctx.Done():
			return nil
		}
	}
}

func (r *run) liveClient(name string) *kgo.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clients[name]
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

// verdict judges the expectations and reports every one that failed.
func (r *run) verdict() {
	tb := r.tb
	tb.Helper()
	var groups []string
	for _, c := range r.s.Workload.Consumers {
		if !slices.Contains(groups, c.Group) {
			groups = append(groups, c.Group)
		}
	}
	var outputs []string
	inputs := map[string]bool{}
	for _, p := range r.s.Workload.Pipelines {
		outputs = append(outputs, p.Output)
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
	// consumer read past them. Partitions whose head was deleted
	// (retention, delete-records) are judged from the clients' view.
	deleted := map[string]map[int32]bool{}
	for _, t := range r.s.Topics {
		deleted[t.Name] = map[int32]bool{}
		for p := int32(0); p < t.Partitions; p++ {
			if st, err := r.c.Partition(t.Name, p); err == nil && st.LogStartOffset > 0 {
				deleted[t.Name][p] = true
			}
		}
	}
	for _, rec := range r.c.ReadLog(r.tb) {
		if !deleted[rec.Topic][rec.Partition] {
			r.c.History().Stored(rec.Topic, rec.Partition, rec.Offset, string(rec.Key), string(rec.Value))
		}
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

	var failed []string
	r.mu.Lock()
	failed = append(failed, r.failures...)
	acked, consumed := r.acked, r.consumed
	r.mu.Unlock()
	for _, e := range r.s.Expect {
		rep := report
		if e.Group != "" || e.Consumer != "" {
			rep = check(e.Group, e.Consumer)
		}
		if msg := r.judge(e, rep, acked, consumed); msg != "" {
			failed = append(failed, fmt.Sprintf("%s: expected %s: %s", e.Pos, e, msg))
		}
	}
	if len(failed) == 0 {
		return
	}
	tb.Errorf("scenario %q (%s) failed with seed %d (replay: %s=%d):\n  %s\nanomalies: %s",
		r.s.Name, r.s.Pos.File, r.seed, SeedEnv, r.seed, strings.Join(failed, "\n  "), report)
}

func (r *run) judge(e Expectation, report assertions.Report, acked, consumed map[string]int) string {
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
	case ExpectAcked:
		n = acked[e.Producer]
	case ExpectConsumed:
		n = consumed[e.Consumer+e.Group]
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
// acknowledgement, transaction and broker-side record, and only that
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
