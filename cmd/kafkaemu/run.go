package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/scenarios"
)

// runFiles runs scenario files outside go test and reports each one;
// with -html DIR it writes each one's timeline page there (PageFile), and
// on a terminal it shows which scenario runs and for how long.
func runFiles(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", 0, "replay every scenario with this seed (as KAFKAEMU_SEED)")
	verbose := fs.Bool("v", false, "print each scenario's log even when it passes")
	html := fs.String("html", "", "write each scenario's timeline page to this directory (created if missing)")
	bootstrap := fs.String("bootstrap", "", "run against this real cluster (host:port[,...]) through the fault proxy instead of the emulator (as KAFKAEMU_BOOTSTRAP); a file with a verb that needs the emulator is refused before it runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: kafkaemu run [-seed N] [-v] [-html DIR] [-bootstrap HOST:PORT] FILE|DIR...")
	}
	paths, err := scenarioFiles(fs.Args())
	if err != nil {
		return err
	}
	if *html != "" {
		if err := os.MkdirAll(*html, 0o755); err != nil {
			return fmt.Errorf("-html: %w", err)
		}
	}
	prog := newProgress(stderr, len(paths))
	defer prog.done()
	if *seed != 0 {
		os.Setenv(scenarios.SeedEnv, strconv.FormatInt(*seed, 10))
		defer os.Unsetenv(scenarios.SeedEnv)
	}
	if *bootstrap != "" {
		os.Setenv(harness.BootstrapEnv, *bootstrap)
		defer os.Unsetenv(harness.BootstrapEnv)
	}
	failed := 0
	for n, path := range paths {
		s, err := scenarios.Load(path)
		if err != nil {
			prog.clear()
			fmt.Fprintln(stdout, err)
			failed++
			continue
		}
		start := time.Now()
		prog.start(n+1, s.Name)
		tb := &cliTB{name: s.Name, artifacts: *html}
		tb.run(func() { scenarios.RunScenario(tb, s) })
		prog.clear()
		status := "PASS"
		if tb.failed {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(stdout, "%s %s (%s) %.2fs\n", status, s.Name, path, time.Since(start).Seconds())
		if *html != "" {
			if page := scenarios.PageFile(*html, s); fileExists(page) {
				fmt.Fprintf(stdout, "    timeline: %s\n", page)
			}
		}
		if tb.failed || *verbose {
			for _, l := range tb.logs {
				fmt.Fprintln(stdout, "    "+strings.ReplaceAll(l, "\n", "\n    "))
			}
		}
		if !tb.failed && *verbose {
			for _, e := range s.Expect {
				fmt.Fprintf(stdout, "    %s: expected %s: held\n", e.Pos, e)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d scenarios failed", failed, len(paths))
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// progress shows, on a terminal, which scenario runs (n of m) and for how
// long; elsewhere it shows nothing.
type progress struct {
	w     io.Writer
	m     int
	on    bool
	begin time.Time
	mu    sync.Mutex
	stop  chan struct{}
	wg    sync.WaitGroup
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, m int) *progress {
	return &progress{w: w, m: m, on: isTerminal(w), begin: time.Now()}
}

// start shows scenario n, name, and updates its elapsed time until clear.
func (p *progress) start(n int, name string) {
	if !p.on {
		return
	}
	started := time.Now()
	show := func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.w, "\r\033[Kscenario %d of %d: %s, %.1fs (%.0fs in all)", n, p.m, name, time.Since(started).Seconds(), time.Since(p.begin).Seconds())
	}
	show()
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go func(stop chan struct{}) {
		defer p.wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				show()
			}
		}
	}(p.stop)
}

// clear removes the progress line, before a result is printed.
func (p *progress) clear() {
	if !p.on {
		return
	}
	if p.stop != nil {
		close(p.stop)
		p.wg.Wait()
		p.stop = nil
	}
	fmt.Fprint(p.w, "\r\033[K")
}

func (p *progress) done() { p.clear() }

// scenarioFiles is args with each directory replaced by its scenario
// files (*.yaml, *.yml), in name order.
func scenarioFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a) // a file, or a missing one Load reports
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		n := len(out)
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				out = append(out, filepath.Join(a, e.Name()))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no scenario files (*.yaml, *.yml) in the directory", a)
		}
	}
	return out, nil
}

// cliTB is the part of testing.TB that a scenario run uses, for running
// scenarios outside go test. Fatal ends the run's goroutine, as in a test.
type cliTB struct {
	testing.TB // not set: a call outside what is implemented below panics
	name       string
	artifacts  string // ArtifactDir
	mu         sync.Mutex
	failed     bool
	logs       []string
	cleanups   []func()
}

func (t *cliTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer t.cleanup()
		fn()
	}()
	<-done
}

func (t *cliTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// ArtifactDir is where a failed run's timeline page goes: -html's
// directory, or "" for none.
func (t *cliTB) ArtifactDir() string { return t.artifacts }
func (t *cliTB) Helper()             {}
func (t *cliTB) Name() string        { return t.name }
func (t *cliTB) Cleanup(f func())    { t.mu.Lock(); t.cleanups = append(t.cleanups, f); t.mu.Unlock() }
func (t *cliTB) Failed() bool        { t.mu.Lock(); defer t.mu.Unlock(); return t.failed }
func (t *cliTB) Log(args ...any)     { t.logf("%s", fmt.Sprint(args...)) }
func (t *cliTB) Logf(format string, args ...any) {
	t.logf(format, args...)
}
func (t *cliTB) Error(args ...any) { t.fail(); t.Log(args...) }
func (t *cliTB) Errorf(format string, args ...any) {
	t.fail()
	t.logf(format, args...)
}
func (t *cliTB) Fatal(args ...any)                 { t.Error(args...); runtime.Goexit() }
func (t *cliTB) Fatalf(format string, args ...any) { t.Errorf(format, args...); runtime.Goexit() }
func (t *cliTB) FailNow()                          { t.fail(); runtime.Goexit() }
func (t *cliTB) fail()                             { t.mu.Lock(); t.failed = true; t.mu.Unlock() }
func (t *cliTB) logf(format string, args ...any) {
	t.mu.Lock()
	t.logs = append(t.logs, fmt.Sprintf(format, args...))
	t.mu.Unlock()
}
