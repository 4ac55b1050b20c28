package harness_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// recordingTB is a testing.TB whose test can fail without failing ours:
// it records Log and Error calls and keeps Cleanup functions until
// runCleanups.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	logs     []string
	errs     []string
	failed   bool
	cleanups []func()
}

func (r *recordingTB) Log(args ...any) { r.Logf("%s", fmt.Sprintln(args...)) }

func (r *recordingTB) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Error(args ...any) { r.Errorf("%s", fmt.Sprintln(args...)) }

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.failed = true
}

func (r *recordingTB) Fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
}

func (r *recordingTB) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// runCleanups runs the recorded cleanups, last first, as testing does.
func (r *recordingTB) runCleanups() {
	for {
		r.mu.Lock()
		n := len(r.cleanups)
		if n == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[n-1]
		r.cleanups = r.cleanups[:n-1]
		r.mu.Unlock()
		f()
	}
}

func (r *recordingTB) logged() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.logs...)
}

// startRecorded starts a cluster on a recordingTB, produces n records and
// returns what the cluster journaled up to then.
func startRecorded(t *testing.T, rec *recordingTB, seed int64, n int) []fake.Event {
	t.Helper()
	t.Cleanup(rec.runCleanups) // if we fail before running them ourselves
	c := harness.Start(rec, fake.Seed(seed), fake.Topic("t", 1, 3))
	p := c.Client(rec, kgo.DefaultProduceTopic("t"))
	ctx := t.Context()
	for i := 0; i < n; i++ {
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return c.Journal()
}

// When the test fails, Start's cleanup logs the cluster's seed and the
// tail of its journal, the last event last.
func TestFailedTestLogsSeedAndJournalTail(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	const seed = 424242
	journal := startRecorded(t, rec, seed, 30) // 60+ events: more than a tail
	rec.Errorf("the test under test failed")
	rec.runCleanups()

	var log string
	for _, l := range rec.logged() {
		if strings.Contains(l, "kafkaemu:") {
			if log != "" {
				t.Fatalf("more than one kafkaemu log:\n%s\n%s", log, l)
			}
			log = l
		}
	}
	header, tail, _ := strings.Cut(log, "\n")
	if want := fmt.Sprintf("kafkaemu: cluster seed %d (replay: KAFKAEMU_SEED=%d go test -run '^TestFailedTestLogsSeedAndJournalTail$')", seed, seed); !strings.HasPrefix(header, want) {
		t.Fatalf("failure log starts %q, want %q; logs: %q", header, want, rec.logged())
	}
	lines := strings.Split(strings.TrimRight(tail, "\n"), "\n")
	byLine := map[string]int64{}
	for _, e := range journal {
		byLine[e.String()] = e.Seq
	}
	if len(lines) < 10 || len(lines) >= len(journal) {
		t.Fatalf("failure log has %d journal lines of %d events, want a tail of at least 10:\n%s", len(lines), len(journal), tail)
	}
	for i, l := range lines {
		seq, ok := byLine[l]
		if !ok {
			t.Fatalf("failure log line %d %q is not a journal event", i, l)
		}
		if want := journal[len(journal)-len(lines)+i].Seq; seq != want {
			t.Fatalf("failure log line %d is event #%d, want #%d: the tail ends with the last event", i, seq, want)
		}
	}
	if last := journal[len(journal)-1]; last.Kind != fake.EventHighWatermark || last.Offset != 30 {
		t.Errorf("the journal ends with %v, want the high watermark of the 30th write", last)
	}
	if !strings.Contains(tail, "append t[0] offsets 29..29") {
		t.Errorf("the tail lacks the last append:\n%s", tail)
	}
}

// A test that passes gets no such log.
func TestPassedTestLogsNothing(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	startRecorded(t, rec, 7, 1)
	rec.runCleanups()
	if logs := rec.logged(); len(logs) != 0 {
		t.Errorf("a passing test logged %q", logs)
	}
	if len(rec.errs) != 0 {
		t.Errorf("Start's cleanup reported errors: %q", rec.errs)
	}
}

// A failed test with lost writes: the failure message gives each lost
// write its cause from the journal (the pause that kept the followers
// from copying it, the truncation that dropped it), and the log names a
// timeline page in the test's artifact directory that marks them at
// their offsets: those the producer was told, dropped with the tail the
// journal shows.
func TestFailedTestWritesTimeline(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	t.Cleanup(rec.runCleanups)
	c := harness.Start(rec, fake.ReplicaLagMax(time.Minute), fake.Topic("t", 1, 3))
	p := c.Client(rec, kgo.DefaultProduceTopic("t"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	ctx := t.Context()
	produce := func(vs ...string) []int64 {
		var offs []int64
		for _, v := range vs {
			r, err := p.ProduceSync(ctx, kgo.StringRecord(v)).First()
			if err != nil {
				t.Fatal(err)
			}
			offs = append(offs, r.Offset)
		}
		return offs
	}
	produce("k-0", "k-1")
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	acked := produce("l-0", "l-1", "l-2")
	if _, err := c.FailLeader("t", 0); err != nil {
		t.Fatal(err)
	}
	var dropped fake.Event
	for _, e := range c.Journal() {
		if e.Kind == fake.EventTruncate {
			dropped = e
		}
	}
	if dropped.Seq == 0 || dropped.Offset != acked[0] || dropped.LastOffset != acked[2] {
		t.Fatalf("the failover dropped %d..%d; the producer was told %v", dropped.Offset, dropped.LastOffset, acked)
	}
	assertions.NoLostWrites(rec, c.History())
	if len(rec.errs) != 1 {
		t.Fatalf("NoLostWrites reported %q", rec.errs)
	}
	msg := rec.errs[0]
	for _, want := range []string{
		"cause:",
		fmt.Sprintf("t[0]@%d: acknowledged with acks=1 by broker", acked[0]),
		"before any follower copied it: replication of t[0] was paused at +",
		fmt.Sprintf("dropped at +%.3fms (#%d) with the un-replicated tail %d..%d", float64(dropped.Time.Sub(c.Journal()[0].Time).Microseconds())/1000, dropped.Seq, acked[0], acked[2]),
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure message lacks %q:\n%s", want, msg)
		}
	}
	rec.runCleanups()
	var path string
	for _, l := range rec.logged() {
		if _, after, ok := strings.Cut(l, "; timeline: "); ok {
			path, _, _ = strings.Cut(after, "; last journal events")
		}
	}
	if !strings.HasPrefix(path, t.ArtifactDir()) {
		t.Fatalf("the failure log names no page in %s: %q", t.ArtifactDir(), rec.logged())
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	marked := regexp.MustCompile(`<circle class="mk"[^>]* data-anomaly="lost-write" data-topic="t" data-partition="0" data-offset="(\d+)" data-seq="(\d+)"`).FindAllStringSubmatch(string(page), -1)
	var offs []int64
	for _, m := range marked {
		o, _ := strconv.ParseInt(m[1], 10, 64)
		offs = append(offs, o)
		if m[2] != strconv.FormatInt(dropped.Seq, 10) {
			t.Errorf("lost write at %s marked at event #%s, want the truncation #%d", m[1], m[2], dropped.Seq)
		}
	}
	if fmt.Sprint(offs) != fmt.Sprint(acked) {
		t.Errorf("the page marks lost writes at %v, want %v", offs, acked)
	}
}
