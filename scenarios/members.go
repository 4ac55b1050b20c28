package scenarios

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Consumers and pipelines live one life after another: a life is one
// client, from its start until the run ends or a fault ends it. A fault
// ends a life by cancelling the life's context with one of these causes.
var (
	errCrashed   = errors.New("crashed by a fault")   // killed: no commit, no LeaveGroup
	errRestarted = errors.New("restarted by a fault") // stopped gracefully, started again at once
	errFenced    = errors.New("fenced by a fault")    // a zombie: stopped after its transactional id was taken
)

// autoCommitInterval is how often commit: auto commits: kgo's minimum.
const autoCommitInterval = 100 * time.Millisecond

// liveSession is the least session timeout a running member's client
// joins with: the harness clients' default. A member's session_timeout
// says how long its group waits for it once it crashed, and the runner
// expires a crashed member after that long (expireCrashed). A running
// client keeps the longer session, so that a loaded machine delaying its
// heartbeats (three 100 ms heartbeats within a 250 ms session are not
// sure to arrive under -race on a busy machine) does not expel a member
// no fault touched.
const liveSession = 3 * time.Second

// sessionOpts are the kgo options for member name, whose file asks for a
// session timeout d (0: none). On the emulator a session shorter than
// liveSession is not given to the client (the runner expires crashed
// members itself). A real cluster's coordinator expires them, so there a
// member the scenario may crash (crash_after, a crash-consumer fault)
// joins with d as it is, with heartbeats a third of it; a cluster whose
// group.min.session.timeout.ms is above d refuses the member's JoinGroup
// (INVALID_SESSION_TIMEOUT), as it would refuse the application. A member
// nothing crashes joins with at least liveSession, heartbeating as often
// as d asks (so that it joins a rebalance as soon as with d): d only says
// how long its group would wait for it once crashed, and a short session
// lets the coordinator expel it while a loaded machine delays its
// heartbeats, or while it waits in SyncGroup, where kgo does not
// heartbeat, for a leader that crashed after its JoinGroup (raw kfake
// then never answers its SyncGroup, and it waits out its 60 s rebalance
// timeout instead of taking the crashed member's partitions over: see
// fake's keepAwaitingAlive, which corrects that on the emulator).
func (r *run) sessionOpts(name string, d time.Duration) []kgo.Opt {
	switch {
	case r.c.Real() && d > 0:
		session := d
		if !r.mayCrash(name) {
			session = max(d, liveSession)
		}
		return []kgo.Opt{kgo.SessionTimeout(session), kgo.HeartbeatInterval(max(d/3, 10*time.Millisecond))}
	case d > liveSession:
		return []kgo.Opt{kgo.SessionTimeout(d)}
	}
	return nil
}

// mayCrash reports whether the scenario can crash consumer or pipeline
// name: its crash_after, or a crash-consumer fault naming it.
func (r *run) mayCrash(name string) bool {
	for _, c := range r.s.Workload.Consumers {
		if c.Name == name && c.CrashAfter > 0 {
			return true
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		if p.Name == name && p.CrashAfter > 0 {
			return true
		}
	}
	return slices.ContainsFunc(r.s.Faults, func(f Fault) bool {
		return f.Verb == CrashConsumer && (f.Consumer == name || f.Pipeline == name)
	})
}

// life is one incarnation of a consumer or pipeline.
type life struct {
	name string
	// ctx is done when the run ends or a fault ends the life; its cause
	// says which (errCrashed, errRestarted, errFenced).
	ctx    context.Context
	stop   context.CancelCauseFunc
	killed chan struct{} // closed by a crash: work in hand stops at once

	cl        *kgo.Client // set once the client exists (guarded by run.mu)
	closeOnce chanOnce
	// ending is held while a pipeline ends a transaction: a crash waits
	// for the answer, since the runner could not tell afterwards whether
	// a commit it cut off landed. A fence-producer holds it too, so that
	// the fence lands inside an open transaction (holdOpenTxn).
	ending chanMutex
	// txnWrote is set (guarded by run.mu) once a pipeline's open
	// transaction had a record acknowledged, and cleared when it starts
	// ending it: the producer is initialised and will talk to the
	// coordinator again at its End.
	txnWrote, txnEnding bool
}

func (l *life) ended(cause error) bool { return errors.Is(context.Cause(l.ctx), cause) }

// sleep spends d processing a record; false if a crash or the end of the
// run interrupted it.
func (l *life) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.killed:
	case <-ctx.Done():
	}
	return false
}

// newLifeLocked registers a new life of name. r.mu is held.
func (r *run) newLifeLocked(name string) *life {
	ctx, stop := context.WithCancelCause(r.ctx)
	l := &life{name: name, ctx: ctx, stop: stop, killed: make(chan struct{})}
	r.members[name] = l
	return l
}

// lives runs a consumer or pipeline, live running one life of it, until
// the run ends. A member a fault restarted starts its next life at once;
// one that crashed or was fenced is down until a restart-consumer fault
// hands it its next life. The member is always either in r.members or in
// r.down while it can still run, so a fault never finds it in between.
func (r *run) lives(name string, live func(*life)) {
	r.mu.Lock()
	l := r.newLifeLocked(name)
	r.mu.Unlock()
	for {
		live(l)
		r.mu.Lock()
		r.closing++
		r.mu.Unlock()
		r.close(l)
		l.stop(nil) // the cause stays whatever ended the life first
		r.mu.Lock()
		r.closing--
		r.mu.Unlock()
		var next chan *life
		r.mu.Lock()
		switch {
		case r.ctx.Err() != nil:
			delete(r.members, name)
			l = nil
		case l.ended(errRestarted):
			l = r.newLifeLocked(name)
		case l.ended(errCrashed), l.ended(errFenced):
			delete(r.members, name)
			next = make(chan *life, 1)
			r.down[name] = next
		default: // the life failed; r.fail said why
			delete(r.members, name)
			l = nil
		}
		r.progress.Broadcast()
		r.mu.Unlock()
		if next != nil {
			select {
			case l = <-next:
			case <-r.ctx.Done():
				return
			}
		}
		if l == nil {
			return
		}
	}
}

// started records l's client. A crash that came while the client was
// being created kills it now.
func (r *run) started(l *life, cl *kgo.Client) {
	r.mu.Lock()
	l.cl = cl
	crashed := l.ended(errCrashed)
	r.mu.Unlock()
	if crashed {
		r.kill(l)
	}
}

// close closes l's client, once.
func (r *run) close(l *life) {
	r.mu.Lock()
	cl := l.cl
	r.mu.Unlock()
	if cl != nil {
		l.closeOnce.Do(cl.Close)
	}
}

// crash ends l as a process crash would: no commit and no LeaveGroup (its
// connections break first), so the group notices only when the session
// times out; a pipeline's open transaction stays open. A pipeline ending a
// transaction is killed once the answer is back.
func (r *run) crash(l *life) {
	l.ending.Lock()
	defer l.ending.Unlock()
	r.mu.Lock()
	if l.ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	l.stop(errCrashed)
	close(l.killed)
	r.crashedAt[l.name] = time.Now()
	hasClient := l.cl != nil
	r.mu.Unlock()
	if hasClient {
		id, _ := l.cl.GroupMetadata()
		r.kill(l)
		r.expireCrashed(l.name, id)
	}
}

// expireCrashed ends a crashed member's session once its session_timeout
// has passed, as the coordinator does for a member whose heartbeats
// stopped (its client joined with a longer session: see liveSession).
// The member may have left by then (kfake expired it, or it was never
// in the group): nothing to do.
func (r *run) expireCrashed(name, memberID string) {
	group := r.groupOf(name)
	if memberID == "" || group == "" {
		return
	}
	r.expiries.Add(1)
	go func() {
		defer r.expiries.Done()
		t := time.NewTimer(r.sessionTimeout(name))
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.ctx.Done():
			return
		}
		// A real cluster's coordinator expires the member on its own.
		if gi := r.groupInfo(group); !r.c.Real() && gi != nil && slices.ContainsFunc(gi.Members, func(m kfake.GroupMember) bool { return m.MemberID == memberID }) {
			_ = r.c.ExpireMember(group, memberID)
		}
		r.wake()
	}()
}

// groupOf is the group of a consumer or pipeline.
func (r *run) groupOf(name string) string {
	for _, c := range r.s.Workload.Consumers {
		if c.Name == name {
			return c.Group
		}
	}
	for _, p := range r.s.Workload.Pipelines {
		if p.Name == name {
			return p.Group
		}
	}
	return ""
}

// kill closes a crashed life's client with its connections already
// broken, so that nothing it would send on the way out (a commit, a
// LeaveGroup) arrives.
func (r *run) kill(l *life) {
	h, err := r.c.AddFault(fake.CloseConnections(), fake.OnClient(l.name))
	if err == nil {
		defer h.Remove()
	}
	r.close(l)
}

// restart brings a crashed (or fenced) member back, or restarts a running
// one gracefully: the running life stops between two records, commits as
// its commit mode says and leaves, and the next life starts.
func (r *run) restart(name string) error {
	defer context.AfterFunc(r.ctx, r.wake)()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if next, ok := r.down[name]; ok {
			delete(r.down, name)
			delete(r.crashedAt, name)
			next <- r.newLifeLocked(name)
			return nil
		}
		l := r.members[name]
		switch {
		case r.ctx.Err() != nil:
			return nil
		case l == nil:
			return fmt.Errorf("%s is not running", name)
		case l.ctx.Err() == nil:
			l.stop(errRestarted)
			return nil
		case l.ended(errRestarted):
			return nil // a restart is under way already
		}
		r.progress.Wait() // crashing or fenced: wait until it is down
	}
}

// wake wakes everything waiting on r.progress, to notice the run ended.
func (r *run) wake() {
	r.mu.Lock()
	r.progress.Broadcast()
	r.mu.Unlock()
}

// liveClient is the client of a running consumer or pipeline, or nil.
func (r *run) liveClient(name string) *kgo.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.members[name]; l != nil && l.ctx.Err() == nil {
		return l.cl
	}
	return nil
}

// crashClient crashes a running consumer or pipeline; one being
// restarted gracefully crashes in its next life.
func (r *run) crashClient(name string) error {
	defer context.AfterFunc(r.ctx, r.wake)()
	r.mu.Lock()
	l := r.members[name]
	for l != nil && l.ended(errRestarted) && r.ctx.Err() == nil {
		r.progress.Wait()
		l = r.members[name]
	}
	running := l != nil && l.ctx.Err() == nil
	r.mu.Unlock()
	if !running {
		if r.ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s is not running", name)
	}
	r.crash(l)
	return nil
}

// holdOpenTxn waits until pipeline name has a transaction open that
// wrote a record, and keeps it from ending (holding its life's ending)
// until release is called: a fence applied in between is certain to
// catch the pipeline as a zombie at its End, whatever the machine's load.
// (A fence between two transactions catches it only if more input
// comes; one before its first write is no fence at all, since its own
// InitProducerID then bumps the epoch past the fencer's.)
func (r *run) holdOpenTxn(name string) (release func(), err error) {
	defer context.AfterFunc(r.ctx, r.wake)()
	for {
		r.mu.Lock()
		var l *life
		for {
			l = r.members[name]
			if r.ctx.Err() != nil {
				r.mu.Unlock()
				return nil, fmt.Errorf("%s never had a transaction open: %w", name, r.ctx.Err())
			}
			if l != nil && l.ctx.Err() == nil && l.txnWrote && !l.txnEnding {
				break
			}
			r.progress.Wait()
		}
		r.mu.Unlock()
		l.ending.Lock()
		r.mu.Lock()
		open := l.ctx.Err() == nil && l.txnWrote && !l.txnEnding
		r.mu.Unlock()
		if open {
			return l.ending.Unlock, nil
		}
		l.ending.Unlock()
	}
}

// fence marks name as about to be fenced (or, !on, no longer): its next
// transactional error is the fence, not a failure.
func (r *run) fence(name string, on bool) {
	r.mu.Lock()
	if on {
		r.fencing[name] = true
	} else {
		delete(r.fencing, name)
	}
	r.mu.Unlock()
}

// fenced reports whether a fence-producer fault fenced name, which an
// error just told it; it counts the zombie once.
func (r *run) fenced(name string) bool {
	r.mu.Lock()
	ok := r.fencing[name]
	delete(r.fencing, name)
	r.mu.Unlock()
	if ok {
		r.count(r.zombies, 1, name)
	}
	return ok
}

// txnCommitted reports whether client's transaction, begun at begin,
// committed though the client did not learn it (the answer was lost): the
// journal has the broker's word.
func (r *run) txnCommitted(client string, begin time.Time) bool {
	for _, ev := range r.c.Journal() {
		if ev.Kind == fake.EventTxnEnd && ev.Client == client && ev.Error == "" && ev.Committed && !ev.Time.Before(begin) {
			return true
		}
	}
	return false
}

// consume runs consumer c until the run ends.
func (r *run) consume(c Consumer) {
	processed := 0 // over every life: crash_after happens once
	r.lives(c.Name, func(l *life) { r.consumeLife(c, l, &processed) })
}

// consumeLife runs one life of consumer c.
func (r *run) consumeLife(c Consumer, l *life, processed *int) {
	b := &batch{pending: map[string]map[int32]kgo.EpochOffset{}}
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
	opts = append(opts, r.sessionOpts(c.Name, c.SessionTimeout)...)
	switch c.Commit {
	case CommitAuto:
		opts = append(opts, kgo.AutoCommitInterval(autoCommitInterval), kgo.AutoCommitCallback(r.recordCommit(c.Name, c.Group)))
	default:
		opts = append(opts, kgo.DisableAutoCommit())
	}
	if c.Commit == CommitOnRevoke {
		opts = append(opts, kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
			offsets := b.revoke(revoked)
			if !l.ended(errCrashed) {
				r.commit(ctx, c.Name, c.Group, cl, offsets)
			}
		}))
	}
	cl, err := r.client(c.Name, false, opts...)
	if err != nil {
		r.fail("%s: consumer %s: %v", c.Pos, c.Name, err)
		return
	}
	r.started(l, cl)
	commits := c.Commit == CommitAfterProcess || c.Commit == CommitOnRevoke
	for {
		fs := cl.PollFetches(l.ctx)
		if l.ctx.Err() != nil {
			break
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if c.Commit == CommitBeforeProcess {
			r.commit(r.ctx, c.Name, c.Group, cl, nextOffsets(recs))
		}
		_, gen := cl.GroupMetadata()
		var done []assertions.Record
		crash := false
		b.hold()
		for _, rec := range recs {
			if l.ctx.Err() != nil {
				break // crashed or restarting: the rest of the poll is not processed
			}
			if !b.process(rec, func() bool { return l.sleep(r.ctx, c.ProcessTime) }) {
				continue // interrupted, or its partition was revoked
			}
			done = append(done, assertions.Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: string(rec.Key), Value: string(rec.Value)})
			*processed++
			if c.CrashAfter > 0 && *processed == c.CrashAfter {
				// Crashed before its progress counts, so that a fault
				// this record triggers finds the consumer crashed.
				crash = true
				r.crash(l)
			}
			r.count(r.consumed, 1, c.Name, groupKey(c.Group)) // progress triggers fire mid-batch
			if crash {
				break
			}
		}
		b.release()
		r.c.History().Poll(c.Name, c.Group, gen, c.Isolation == ReadCommitted, done)
		r.processed(c.Group, done)
		if l.ctx.Err() != nil {
			break
		}
		if commits {
			r.commit(r.ctx, c.Name, c.Group, cl, b.take())
		}
	}
	// Stopped gracefully: commit what was processed, then leave (close).
	if l.ended(errRestarted) && commits {
		r.commit(r.ctx, c.Name, c.Group, cl, b.take())
	}
}

// batch is what one consumer life processed and has not committed yet.
// Processing a record holds mu, so that a revoke waits for the record in
// hand, then commits everything processed, and the rest of the poll's
// records of revoked partitions are not processed.
type batch struct {
	mu      chanMutex
	inHand  bool                                 // a poll is being processed
	revoked map[string]map[int32]bool            // partitions revoked while it was
	pending map[string]map[int32]kgo.EpochOffset // processed, not committed
}

func (b *batch) hold() {
	b.mu.Lock()
	b.inHand, b.revoked = true, nil
	b.mu.Unlock()
}

func (b *batch) release() {
	b.mu.Lock()
	b.inHand = false
	b.mu.Unlock()
}

// process runs work on rec unless its partition was revoked, and notes rec
// processed if work completed.
func (b *batch) process(rec *kgo.Record, work func() bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.revoked[rec.Topic][rec.Partition] || !work() {
		return false
	}
	if b.pending[rec.Topic] == nil {
		b.pending[rec.Topic] = map[int32]kgo.EpochOffset{}
	}
	b.pending[rec.Topic][rec.Partition] = kgo.EpochOffset{Epoch: rec.LeaderEpoch, Offset: rec.Offset + 1}
	return true
}

// revoke notes partitions revoked and returns what was processed of them.
func (b *batch) revoke(revoked map[string][]int32) map[string]map[int32]kgo.EpochOffset {
	b.mu.Lock() // after the record in hand
	defer b.mu.Unlock()
	out := map[string]map[int32]kgo.EpochOffset{}
	for t, ps := range revoked {
		for _, p := range ps {
			if b.inHand {
				if b.revoked == nil {
					b.revoked = map[string]map[int32]bool{}
				}
				if b.revoked[t] == nil {
					b.revoked[t] = map[int32]bool{}
				}
				b.revoked[t][p] = true
			}
			if o, ok := b.pending[t][p]; ok {
				if out[t] == nil {
					out[t] = map[int32]kgo.EpochOffset{}
				}
				out[t][p] = o
				delete(b.pending[t], p)
			}
		}
	}
	return out
}

// take returns everything processed and not committed, and forgets it: a
// commit that fails (a stale generation, say) means redelivery.
func (b *batch) take() map[string]map[int32]kgo.EpochOffset {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.pending
	b.pending = map[string]map[int32]kgo.EpochOffset{}
	return out
}

// nextOffsets is, per partition, the offset after the last of recs.
func nextOffsets(recs []*kgo.Record) map[string]map[int32]kgo.EpochOffset {
	out := map[string]map[int32]kgo.EpochOffset{}
	for _, rec := range recs {
		if out[rec.Topic] == nil {
			out[rec.Topic] = map[int32]kgo.EpochOffset{}
		}
		o := kgo.EpochOffset{Epoch: rec.LeaderEpoch, Offset: rec.Offset + 1}
		if at, ok := out[rec.Topic][rec.Partition]; !ok || at.Less(o) {
			out[rec.Topic][rec.Partition] = o
		}
	}
	return out
}

// commit commits offsets for consumer name of group.
func (r *run) commit(ctx context.Context, name, group string, cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset) {
	for _, ps := range offsets {
		if len(ps) > 0 {
			cl.CommitOffsetsSync(ctx, offsets, r.recordCommit(name, group))
			return
		}
	}
}

// recordCommit returns a commit callback that records in the history what
// the coordinator accepted, and counts it for committed triggers.
func (r *run) recordCommit(name, group string) func(*kgo.Client, *kmsg.OffsetCommitRequest, *kmsg.OffsetCommitResponse, error) {
	return func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			return // the records will be redelivered
		}
		asked := map[string]map[int32]int64{}
		for _, t := range req.Topics {
			asked[t.Topic] = map[int32]int64{}
			for _, p := range t.Partitions {
				asked[t.Topic][p.Partition] = p.Offset
			}
		}
		h := r.c.History()
		n := 0
		r.mu.Lock()
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				o, ok := asked[t.Topic][p.Partition]
				if p.ErrorCode != 0 || !ok {
					continue
				}
				h.Commit(group, name, req.Generation, t.Topic, p.Partition, o)
				k := groupPartition{group, t.Topic, p.Partition}
				if o > r.commitAt[k] {
					n += int(o - r.commitAt[k]) // records newly covered
					r.commitAt[k] = o
				}
			}
		}
		r.mu.Unlock()
		r.count(r.committed, n, name, groupKey(group))
	}
}

type groupPartition struct {
	group, topic string
	partition    int32
}

type topicPartition struct {
	topic     string
	partition int32
}

// pipeline runs pipeline p until the run ends.
func (r *run) pipeline(p Pipeline) {
	var processed, txns int // over every life: crash_after happens once
	r.lives(p.Name, func(l *life) { r.pipelineLife(p, l, &processed, &txns) })
}

// pipelineLife runs one life of pipeline p.
func (r *run) pipelineLife(p Pipeline, l *life, processed, txns *int) {
	opts := []kgo.Opt{
		kgo.TransactionalID(p.TransactionalID), kgo.ConsumerGroup(p.Group), kgo.ConsumeTopics(p.Input),
		isolationOpt(p.Isolation), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
	opts = append(opts, r.sessionOpts(p.Name, p.SessionTimeout)...)
	all := append(r.c.ClientDefaults(), kgo.ClientID(p.Name), kgo.WithHooks(r.c.Recorder(p.Name)))
	sess, err := kgo.NewGroupTransactSession(append(all, opts...)...)
	if err != nil {
		r.fail("%s: pipeline %s: %v", p.Pos, p.Name, err)
		return
	}
	r.started(l, sess.Client())
	h := r.c.History()
	// stopped ends the life after an error from Begin or End: quietly if
	// the run crashed, restarted or fenced the pipeline, or ended, as a
	// failure otherwise.
	stopped := func(what string, err error) {
		switch {
		case l.ctx.Err() != nil:
		case r.fenced(p.Name):
			l.stop(errFenced)
		default:
			r.fail("%s: pipeline %s: %s: %v", p.Pos, p.Name, what, err)
		}
	}
	for {
		fs := sess.PollFetches(l.ctx)
		if l.ctx.Err() != nil {
			return
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			stopped("begin", err)
			return
		}
		begin := time.Now()
		h.BeginTxn(p.Name)
		r.mu.Lock()
		l.txnWrote, l.txnEnding = false, false
		r.mu.Unlock()
		for _, rec := range recs {
			if l.ctx.Err() != nil || !l.sleep(r.ctx, p.ProcessTime) {
				break
			}
			sess.Produce(r.ctx, &kgo.Record{Topic: p.Output, Key: rec.Key, Value: rec.Value}, func(_ *kgo.Record, err error) {
				if err == nil {
					r.count(r.acked, 1, p.Name)
				}
			})
			// The transaction has written once a record is handed to
			// the client: waiting for its ack raced End (acks that came
			// only with End's flush never marked it, and a fence waiting
			// for an open transaction that wrote could wait for ever).
			r.mu.Lock()
			l.txnWrote = l.txnWrote || !l.txnEnding
			r.progress.Broadcast()
			r.mu.Unlock()
			*processed++
			if p.CrashAfter > 0 && *processed == p.CrashAfter {
				// The transaction's records reach the log first, so
				// that the crash leaves an open transaction that wrote
				// (which holds read_committed readers until it is
				// aborted), not one cut off before its first produce.
				_ = sess.Client().Flush(r.ctx)
				r.crash(l)
				break
			}
		}
		switch {
		case l.ended(errCrashed):
			// The open transaction is left to the next instance's
			// InitProducerID or the transaction timeout, both of which
			// abort it.
			h.EndTxn(p.Name, false)
			return
		case l.ctx.Err() != nil:
			// Restarting (or the run is over): abort the open
			// transaction, whose input is then read again.
			h.EndingTxn(p.Name)
			_, _ = sess.End(r.ctx, kgo.TryAbort)
			h.EndTxn(p.Name, false)
			return
		}
		*txns++
		commit := !(p.AbortEvery > 0 && *txns%p.AbortEvery == 0)
		if !commit {
			_ = sess.Client().Flush(r.ctx) // the aborted records reach the log first
		}
		// A crash waits for the answer (see crash): the history must
		// say how the transaction ended.
		l.ending.Lock()
		r.mu.Lock()
		l.txnEnding = true
		r.mu.Unlock()
		h.EndingTxn(p.Name)
		committed, err := sess.End(r.ctx, kgo.TransactionEndTry(commit))
		if err != nil && commit && !committed {
			committed = r.txnCommitted(p.Name, begin)
		}
		h.EndTxn(p.Name, committed)
		l.ending.Unlock()
		if committed {
			r.count(r.consumed, len(recs), p.Name, groupKey(p.Group))
			r.count(r.committed, len(recs), p.Name, groupKey(p.Group))
		}
		if err != nil {
			stopped("end transaction", err)
			return
		}
	}
}
