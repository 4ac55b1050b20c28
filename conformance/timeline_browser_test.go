package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/internal/journaltest"
	"github.com/seed73168108/kafkaemu/scenarios"
	"github.com/seed73168108/kafkaemu/timeline"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The timeline pages are tested in a real browser: Debian's chromium,
// headless, driven over the DevTools protocol by chromedp. CI installs it
// and sets KAFKAEMU_REQUIRE_CHROMIUM.

// browser is a headless chromium tab, closed when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("KAFKAEMU_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium is not installed (apt-get install chromium)")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1680, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancel()
		cancelAlloc()
	})
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
		return err
	}))
	if err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// visit is what the browser reported while it showed a page.
type visit struct {
	mu       sync.Mutex
	errors   []string // console errors, exceptions, error log entries
	requests []string // every URL the page asked for
}

func (v *visit) add(list *[]string, s string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	*list = append(*list, s)
}

// open loads the page at path and returns what the browser reported.
func open(t *testing.T, ctx context.Context, path string) *visit {
	t.Helper()
	v := &visit{}
	lctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	err := chromedp.Listen(lctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				v.add(&v.errors, fmt.Sprintf("console.%s %v", ev.Type, ev.Args))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			v.add(&v.errors, fmt.Sprintf("exception at %d:%d: %s", d.LineNumber, d.ColumnNumber, msg))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				v.add(&v.errors, "log: "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			v.add(&v.requests, ev.Request.URL)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	u := (&url.URL{Scheme: "file", Path: path}).String()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return v
}

// check is what every page must pass: no console errors, nothing asked
// for but the page, and the lanes it must have.
func (v *visit) check(t *testing.T, ctx context.Context, path string, lanes ...string) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('svg g.lane')].map(g => g.dataset.lane)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lanes {
		if !slices.Contains(got, l) {
			t.Errorf("%s: no lane %q in the SVG; lanes %q", filepath.Base(path), l, got)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.errors) > 0 {
		t.Errorf("%s: the browser reported errors: %q", filepath.Base(path), v.errors)
	}
	for _, r := range v.requests {
		if !strings.HasPrefix(r, "file://") || !strings.HasSuffix(r, filepath.Base(path)) {
			t.Errorf("%s: the page fetched %s", filepath.Base(path), r)
		}
	}
}

// screenshot saves the whole page as an artifact.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// hover moves the mouse over the centre of the element sel and returns
// the page's hover text.
func hover(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(sel))); err != nil {
		t.Fatalf("hovering %s: %v", sel, err)
	}
	box, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.x + r.width/2, r.y + r.height/2]; })()`, sel)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0], box[1])); err != nil {
		t.Fatal(err)
	}
	tip, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const t = document.getElementById('tip'); return t.style.display === 'block' ? t.textContent : ''; })()`))
	if err != nil {
		t.Fatal(err)
	}
	return tip
}

// mark is a mark the browser shows.
type mark struct {
	Anomaly   string  `json:"a"`
	Topic     string  `json:"t"`
	Partition int32   `json:"p"`
	Offset    int64   `json:"o"`
	CY        float64 `json:"cy"`
	Lane      string  `json:"lane"`
	Inside    bool    `json:"inside"` // drawn within its lane
}

func marks(t *testing.T, ctx context.Context) []mark {
	t.Helper()
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[[]mark](`[...document.querySelectorAll('circle.mk')].map(c => {
		const g = c.closest('g.lane'), r = g.querySelector('rect.lbg').getBBox(), cy = +c.getAttribute('cy');
		return {a: c.dataset.anomaly, t: c.dataset.topic, p: +c.dataset.partition, o: +c.dataset.offset, cy: cy, lane: g.dataset.lane, inside: cy >= r.y && cy <= r.y + r.height};
	})`))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// checkLost: the browser shows a lost-write mark at each of offsets, and
// only there, inside the partition's lane, lower offsets lower down.
func checkLost(t *testing.T, ctx context.Context, topic string, offsets []int64) {
	t.Helper()
	var got []int64
	prev := map[int64]float64{}
	for _, m := range marks(t, ctx) {
		if m.Anomaly != string(assertions.LostWrite) {
			continue
		}
		got = append(got, m.Offset)
		if m.Topic != topic || m.Lane != fmt.Sprintf("%s[%d]", m.Topic, m.Partition) || !m.Inside {
			t.Errorf("lost write at %d drawn at y %v in lane %q: not inside its partition's lane", m.Offset, m.CY, m.Lane)
		}
		prev[m.Offset] = m.CY
	}
	slices.Sort(got)
	got = slices.Compact(got)
	if fmt.Sprint(got) != fmt.Sprint(offsets) {
		t.Errorf("lost writes marked at %v; the producer lost %v", got, offsets)
	}
	for i := 1; i < len(offsets); i++ {
		if prev[offsets[i]] > prev[offsets[i-1]] {
			t.Errorf("offset %d drawn below offset %d", offsets[i], offsets[i-1])
		}
	}
}

// checkHover: hovering over the first element sel shows the journal's
// line for event e.
func checkHover(t *testing.T, ctx context.Context, sel string, e fake.Event) {
	t.Helper()
	tip := hover(t, ctx, sel)
	if !strings.Contains(tip, e.String()) {
		t.Errorf("hovering %s shows %q; want the journal's %q", sel, tip, e.String())
	}
}

// leaderLoss is the leaderloss demo's run (examples/leaderloss) with
// acks=1: 100 writes, replication paused, 50 more acknowledged by the
// leader alone, the leader failed. It returns the offsets the producer
// was told and that a consumer cannot read afterwards.
func leaderLoss(t *testing.T, page string) (journal []fake.Event, lost []int64) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(42), fake.ReplicaLagMax(10*time.Second),
			fake.Topic("payments", 1, 3, map[string]string{"min.insync.replicas": "2"}))
		ctx := t.Context()
		p := c.Client(t, kgo.DefaultProduceTopic("payments"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		acked := map[int64]string{}
		produce := func(from, to int) {
			for i := from; i < to; i++ {
				r, err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("payment-", i))).First()
				if err != nil {
					t.Fatal(err)
				}
				acked[r.Offset] = string(r.Value)
			}
		}
		produce(0, 100)
		if err := c.PauseReplication("payments", 0); err != nil {
			t.Fatal(err)
		}
		produce(100, 150)
		if _, err := c.FailLeader("payments", 0); err != nil {
			t.Fatal(err)
		}
		if err := c.ResumeReplication("payments", 0); err != nil {
			t.Fatal(err)
		}
		cons := c.Client(t, kgo.ConsumeTopics("payments"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		seen := map[string]bool{}
		for n := 0; n < 100; {
			for _, r := range cons.PollFetches(ctx).Records() {
				seen[string(r.Value)] = true
				n++
			}
		}
		for off, v := range acked {
			if !seen[v] {
				lost = append(lost, off)
			}
		}
		slices.Sort(lost)
		writePage(t, c, page, assertions.Check(c.History()))
		journal = c.Journal()
	})
	return journal, lost
}

func writePage(t *testing.T, c *harness.Cluster, path string, r assertions.Report) {
	t.Helper()
	if err := c.WriteTimelineFile(path, r); err != nil {
		t.Fatal(err)
	}
}

// splitBrain isolates the leader (fake.Isolate): it acknowledges acks=1
// writes from its log alone, the controller fences it and elects another
// leader, which hands out the same offsets; healed, the old leader
// truncates its divergent tail. It returns the offsets of the writes only
// the fenced broker acknowledged.
func splitBrain(t *testing.T, page string) (journal []fake.Event, lost []int64) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Seed(11), fake.Topic("orders", 1, 3))
		ctx := t.Context()
		p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		produce := func(cl *kgo.Client, prefix string, n int) []int64 {
			var offs []int64
			for i := range n {
				r, err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", prefix, i))).First()
				if err != nil {
					t.Fatal(err)
				}
				offs = append(offs, r.Offset)
			}
			return offs
		}
		produce(p, "before", 10)
		st, _ := c.Partition("orders", 0)
		h, err := c.AddFault(fake.Isolate(st.Leader))
		if err != nil {
			t.Fatal(err)
		}
		lost = produce(p, "during", 5)
		if _, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return s.Leader != st.Leader }); err != nil {
			t.Fatal(err)
		}
		produce(c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()), "after", 5)
		if err := h.Remove(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return len(s.ISR) == 3 }); err != nil {
			t.Fatal(err)
		}
		writePage(t, c, page, assertions.Check(c.History()))
		journal = c.Journal()
	})
	return journal, lost
}

func first(t *testing.T, evs []fake.Event, kind fake.EventKind) fake.Event {
	t.Helper()
	for _, e := range evs {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %s in the journal", kind)
	return fake.Event{}
}

// Pages of real runs, looked at in a browser: the leaderloss demo, a
// split brain, a fenced zombie. Each loads without console errors and
// fetches nothing; its SVG has the lanes of the run; the lost writes are
// marked at the offsets the producer lost, inside their partition's lane;
// hovering over a dropped tail shows the journal's line for it. The
// screenshots are artifacts (go test -artifacts keeps them).
func TestTimelineInBrowser(t *testing.T) {
	ctx := browser(t)
	dir := t.ArtifactDir()

	t.Run("leaderloss", func(t *testing.T) {
		page := filepath.Join(dir, "leaderloss.html")
		journal, lost := leaderLoss(t, page)
		if len(lost) != 50 {
			t.Fatalf("the run lost %d writes; the demo loses 50", len(lost))
		}
		v := open(t, ctx, page)
		v.check(t, ctx, page, "broker 0", "broker 1", "broker 2", "payments[0]")
		checkLost(t, ctx, "payments", lost)
		checkHover(t, ctx, "rect.tr", first(t, journal, fake.EventTruncate))
		screenshot(t, ctx, "leaderloss.png")
	})
	t.Run("split-brain", func(t *testing.T) {
		page := filepath.Join(dir, "split-brain.html")
		journal, lost := splitBrain(t, page)
		v := open(t, ctx, page)
		v.check(t, ctx, page, "faults", "broker 0", "orders[0]")
		checkLost(t, ctx, "orders", lost)
		checkHover(t, ctx, "rect.tr", first(t, journal, fake.EventTruncate))
		checkHover(t, ctx, "rect.fenced", first(t, journal, fake.EventBrokerFenced))
		screenshot(t, ctx, "split-brain.png")
	})
	t.Run("fenced-zombie", func(t *testing.T) {
		s, err := scenarios.Load("../scenarios/library/transactional-pipeline-fencing.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var html []byte
		t.Run(s.Name, func(t *testing.T) {
			scenarios.RunScenario(t, s)
			html, err = os.ReadFile(scenarios.PageFile(t.ArtifactDir(), s))
			if err != nil {
				t.Fatal(err)
			}
		})
		page := filepath.Join(dir, "fenced-zombie.html")
		if err := os.WriteFile(page, html, 0o644); err != nil {
			t.Fatal(err)
		}
		v := open(t, ctx, page)
		v.check(t, ctx, page, "transactions", "group ledger-writers", "ledger[0]", "payments[0]")
		// The zombie's aborted transaction: hovering shows its span
		// and the journal's txn-end abort line.
		if tip := hover(t, ctx, "rect.tA"); !strings.Contains(tip, "aborted, from +") || !strings.Contains(tip, "txn-end") || !strings.Contains(tip, " abort ") {
			t.Errorf("hovering an aborted transaction shows %q", tip)
		}
		if !bytes.Contains(html, []byte(`class="tF"`)) {
			t.Errorf("the page shows no refused (fenced) write of a producer")
		}
		screenshot(t, ctx, "fenced-zombie.png")
	})
}

// A page of a million journal events loads and paints within 2 s.
func TestTimelineMillionEventsInBrowser(t *testing.T) {
	ctx := browser(t)
	evs := journaltest.Synthetic(1_000_000, 7)
	page := filepath.Join(t.ArtifactDir(), "million.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := timeline.WriteHTML(f, evs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(page)
	v := open(t, ctx, page)
	v.check(t, ctx, page, "broker 0", "orders[0]", "payments[2]", "group billing", "transactions")
	// From navigation start to the second frame after the load event:
	// parsed, laid out and painted.
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events: a page of %d bytes, loaded and painted %.0f ms after navigation started", len(evs), st.Size(), ms)
	if ms > 2000 {
		t.Errorf("the million-event page took %.0f ms to load and paint; want at most 2000", ms)
	}
	if st.Size() > 5<<20 {
		t.Errorf("the million-event page is %d bytes; want at most 5 MB", st.Size())
	}
	screenshot(t, ctx, "million.png")
}
