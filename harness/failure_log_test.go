package harness_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

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
