package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A journal from a served cluster, fetched over HTTP as a non-Go suite
// would, reads back as a timeline: the summary counts the lost records,
// the filters keep what was asked for.
func TestTimeline(t *testing.T) {
	c, api := startServer(t, "-topic", "orders:1:3")
	ctx, p := acks1Producer(t, c)
	if err := p.ProduceSync(ctx, kgo.StringRecord("kept")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	call(t, "POST", api+"/pause-replication?topic=orders&partition=0")
	if err := p.ProduceSync(ctx, kgo.StringRecord("lost-1"), kgo.StringRecord("lost-2")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	call(t, "POST", api+"/fail-leader?topic=orders&partition=0")

	code, served := call(t, "GET", api+"/timeline")
	if code != 200 || !strings.Contains(served, "2 dropped by failovers") || !strings.Contains(served, "leader-change orders[0]") {
		t.Errorf("GET /timeline: %d\n%s", code, served)
	}
	_, journal := call(t, "GET", api+"/journal")
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(path, []byte(journal), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"timeline", "-kind", "truncate,leader-change", "-topic", "orders", path}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.Contains(lines[0], "2 dropped by failovers") {
		t.Errorf("summary %q", lines[0])
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, " truncate orders[0]") && !strings.Contains(l, " leader-change orders[0]") {
			t.Errorf("filtered timeline has %q", l)
		}
	}
	// Standard input works too.
	out.Reset()
	if err := run(ctx, []string{"timeline"}, strings.NewReader(journal), &out, io.Discard); err != nil || !strings.Contains(out.String(), "ms #1 ") {
		t.Errorf("timeline from stdin: %v\n%s", err, out.String())
	}
}

func TestTimelineBadInput(t *testing.T) {
	ctx := context.Background()
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"seq\":1,\"kind\":\"append\"}\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"timeline", bad}, bad + ": line 2 is not a journal event: not a JSON object"},
		{[]string{"timeline", "-html", filepath.Join(t.TempDir(), "no", "such", "dir.html"), bad}, "no such file or directory"},
		{[]string{"timeline", "nope.jsonl"}, "open nope.jsonl"},
		{[]string{"timeline", "a", "b"}, "usage: kafkaemu timeline"},
	} {
		err := run(ctx, tc.args, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"timeline"}, strings.NewReader(""), &out, io.Discard); err != nil || out.String() != "no events\n" {
		t.Errorf("empty journal: %v %q", err, out.String())
	}
}

// The timeline page of a served cluster (GET /timeline.html) and the one
// kafkaemu timeline -html writes from its journal draw the same events;
// a bad line in the journal is named on the page and on standard error,
// and the page still draws the events read.
func TestTimelineHTML(t *testing.T) {
	c, api := startServer(t, "-topic", "orders:1:3")
	ctx, p := acks1Producer(t, c)
	if err := p.ProduceSync(ctx, kgo.StringRecord("kept")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	call(t, "POST", api+"/pause-replication?topic=orders&partition=0")
	if err := p.ProduceSync(ctx, kgo.StringRecord("lost-1"), kgo.StringRecord("lost-2")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	call(t, "POST", api+"/fail-leader?topic=orders&partition=0")
	_, journal := call(t, "GET", api+"/journal")
	res, err := http.Get(api + "/timeline.html")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /timeline.html: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	evs, err := fake.ReadJournal(strings.NewReader(journal))
	if err != nil {
		t.Fatal(err)
	}
	var trunc fake.Event
	for _, e := range evs {
		if e.Kind == fake.EventTruncate {
			trunc = e
		}
	}
	if trunc.Seq == 0 {
		t.Fatalf("no truncation in the journal:\n%s", journal)
	}
	// The hover text of the dropped tail is its journal line.
	want := html.EscapeString(trunc.String())
	if !strings.Contains(string(served), want) || !strings.Contains(string(served), `data-lane="orders[0]"`) {
		t.Errorf("GET /timeline.html does not draw the truncation %s", trunc)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "journal.jsonl")
	if err := os.WriteFile(path, []byte(journal+"{\"seq\": 9999, \"ki"), 0o600); err != nil { // cut off
		t.Fatal(err)
	}
	page := filepath.Join(dir, "page.html")
	var stderr bytes.Buffer
	if err := run(ctx, []string{"timeline", "-html", page, path}, nil, io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(journal, "\n")
	if !strings.Contains(stderr.String(), fmt.Sprintf("line %d is not a journal event", n+1)) {
		t.Errorf("stderr does not name line %d: %s", n+1, stderr.String())
	}
	written, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(written), want) || !strings.Contains(string(written), fmt.Sprintf("Read %d events; line %d is not a journal event", n, n+1)) {
		t.Errorf("the page of the cut-off journal does not draw the truncation and name line %d", n+1)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"timeline", "-html", "-"}, strings.NewReader(journal), &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "<!DOCTYPE html>") {
		t.Errorf("-html - from standard input: %v %.100q", err, out.String())
	}
}
