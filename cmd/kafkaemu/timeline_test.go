package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		{[]string{"timeline", bad}, bad + ": journal event 2: invalid character"},
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
