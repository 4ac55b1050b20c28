package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHelpPrintsUsage(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help", "help"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, nil, &out, io.Discard); err != nil {
			t.Errorf("kafkaemu %s: %v", arg, err)
		}
		for _, want := range []string{"usage:", "kafkaemu serve", "kafkaemu run", "kafkaemu timeline"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("kafkaemu %s printed no %q:\n%s", arg, want, out.String())
			}
		}
	}
	if err := run(context.Background(), nil, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "usage:") {
		t.Errorf("no command: %v, want the usage", err)
	}
}

// run DIR runs the directory's scenario files, and -v prints what each
// passing scenario's expectations found.
func TestRunDirectoryVerbose(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"acks1-leader-loss.yaml", "retries-idempotent-no-duplicates.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../scenarios/library", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a scenario"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"run", "-v", dir}, nil, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := out.String()
	if strings.Count(got, "PASS ") != 2 || !strings.Contains(got, "PASS acks1-leader-loss") || !strings.Contains(got, "PASS retries-idempotent-no-duplicates") {
		t.Errorf("want the directory's two scenarios passed:\n%s", got)
	}
	if !strings.Contains(got, "acks1-leader-loss.yaml:") || !strings.Contains(got, "expected lost-write > 0: held") {
		t.Errorf("-v printed no expectations of a passing scenario:\n%s", got)
	}

	empty := t.TempDir()
	if err := run(context.Background(), []string{"run", empty}, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), empty+": no scenario files") {
		t.Errorf("empty directory: %v", err)
	}
}

// run -html DIR writes each scenario's timeline page there and names it
// under the scenario's result.
func TestRunHTML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pages") // created by run
	var out bytes.Buffer
	if err := run(context.Background(), []string{"run", "-html", dir, "../../scenarios/library/acks1-leader-loss.yaml"}, nil, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	page := filepath.Join(dir, "acks1-leader-loss.html")
	if !strings.Contains(out.String(), "PASS acks1-leader-loss") || !strings.Contains(out.String(), "    timeline: "+page+"\n") {
		t.Errorf("run -html output:\n%s", out.String())
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `data-anomaly="lost-write"`) || !strings.Contains(string(b), "acks1-leader-loss (kafkaemu seed ") {
		t.Errorf("the page of acks1-leader-loss marks no lost write or lacks its title")
	}
}

// On a terminal, run shows which scenario runs, n of m, and for how long,
// and clears the line before a result.
func TestRunProgress(t *testing.T) {
	var w bytes.Buffer
	p := &progress{w: &w, m: 3, on: true, begin: time.Now()}
	p.start(2, "acks1-leader-loss")
	p.clear()
	p.done()
	got := w.String()
	if !strings.HasPrefix(got, "\r\033[Kscenario 2 of 3: acks1-leader-loss, 0.") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress wrote %q", got)
	}
	if isTerminal(&w) {
		t.Error("a buffer is not a terminal")
	}
}
