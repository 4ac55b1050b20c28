package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// GET /topics lists the topics; GET /partitions without a topic lists
// every partition; every endpoint names its fields like the journal.
func TestServeTopicsAndFieldNames(t *testing.T) {
	_, api := startServer(t, "-auto-create-topics=false", "-topic", "orders:3:3", "-topic", "audit:1:1")
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	code, body := call(t, "GET", api+"/topics")
	var topics []topicView
	if err := json.Unmarshal([]byte(body), &topics); err != nil || code != 200 {
		t.Fatalf("GET /topics: %d %s %v", code, body, err)
	}
	want := []topicView{{"audit", 1, 1}, {"orders", 3, 3}}
	if diff := cmp.Diff(want, topics); diff != "" {
		t.Errorf("GET /topics (-want +got):\n%s", diff)
	}
	keys := func(path string, wantN int) []string {
		t.Helper()
		code, body := call(t, "GET", api+path)
		var objs []map[string]any
		if err := json.Unmarshal([]byte(body), &objs); err != nil || code != 200 || len(objs) != wantN {
			t.Fatalf("GET %s: %d %s %v, want %d objects", path, code, body, err, wantN)
		}
		var ks []string
		for k := range objs[0] {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	if got, want := keys("/partitions", 4), []string{"high_watermark", "isr", "leader", "leader_epoch", "log_end_offset", "log_start_offset", "partition", "replicas", "replication_paused", "topic"}; !slices.Equal(got, want) {
		t.Errorf("GET /partitions fields %v, want %v", got, want)
	}
	if got, want := keys("/brokers", 3), []string{"addr", "fenced", "id", "isolated", "replication_paused", "up"}; !slices.Equal(got, want) {
		t.Errorf("GET /brokers fields %v, want %v", got, want)
	}
}

// kafkaemu serve as a suite in another language runs it: a separate
// process with -journal and -journal-max, stopped with SIGTERM. The file
// holds every event, numbered without a gap, and every acknowledged
// record; memory holds the last -journal-max events and says how many
// it dropped.
func TestServeJournalFileAndSIGTERM(t *testing.T) {
	dir := t.TempDir()
	jpath, addrFile := filepath.Join(dir, "journal.jsonl"), filepath.Join(dir, "addrs.json")
	srv := exec.Command(os.Args[0], "serve", "-auto-create-topics=false", "-topic", "orders:1:3", "-journal-max", "10", "-journal", jpath, "-addr-file", addrFile)
	srv.Env = append(os.Environ(), "KAFKAEMU_TEST_MAIN=1")
	var stderr strings.Builder
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = srv.Process.Kill()
			<-exited
		}
	})
	var a addrs
	waitFor(t, exited, "the -addr-file", func() bool {
		b, err := os.ReadFile(addrFile)
		return err == nil && json.Unmarshal(b, &a) == nil
	})
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	p, err := kgo.NewClient(kgo.SeedBrokers(a.Brokers...), kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		if err := p.ProduceSync(t.Context(), kgo.StringRecord(strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	resp, err := http.Get(a.API + "/journal")
	if err != nil {
		t.Fatal(err)
	}
	mem, err := fake.ReadJournal(resp.Body)
	resp.Body.Close()
	if err != nil || len(mem) != 10 {
		t.Fatalf("GET /journal: %d events, %v; want the last 10", len(mem), err)
	}
	last := mem[len(mem)-1].Seq
	if got := resp.Header.Get(droppedHeader); got != strconv.FormatInt(last-10, 10) {
		t.Errorf("%s: %q, want %d", droppedHeader, got, last-10)
	}
	if code, body := call(t, "GET", a.API+"/timeline"); code != 200 || !strings.Contains(body, "oldest events were dropped from memory by -journal-max") {
		t.Errorf("GET /timeline does not say events were dropped: %d %.300s", code, body)
	}
	// The file follows as it happens, not only at exit.
	waitFor(t, exited, "the journal file to reach event "+strconv.FormatInt(last, 10), func() bool {
		b, _ := os.ReadFile(jpath)
		return int64(strings.Count(string(b), "\n")) >= last
	})
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-exited
	if waitErr != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", waitErr, stderr.String())
	}
	f, err := os.Open(jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := fake.ReadJournal(f)
	if err != nil {
		t.Fatal(err)
	}
	var appended int64
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("file event %d is #%d: a gap", i, e.Seq)
		}
		if e.Kind == fake.EventAppend {
			appended += e.LastOffset - e.Offset + 1
		}
	}
	if int64(len(all)) < last || appended != n {
		t.Errorf("the file has %d events with %d records appended; want at least %d events and %d records", len(all), appended, last, n)
	}
	if _, err := os.Stat(addrFile); !os.IsNotExist(err) {
		t.Errorf("the -addr-file is left after SIGTERM: %v", err)
	}
}

// A journal file that fails while serve runs stops serve with an error
// naming it: a journal file that misses events is no journal.
func TestServeJournalFileFails(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	done := make(chan error, 1)
	go func() {
		done <- serve(t.Context(), []string{"-journal", "/dev/full", "-topic", "orders:1:1"}, &strings.Builder{}, &strings.Builder{}, nil)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "-journal /dev/full: write /dev/full: no space left on device") {
			t.Errorf("serve: %v, want the journal file's write error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve went on with a journal file it cannot write")
	}
}

// waitFor polls cond until it holds, failing if the server exits first.
func waitFor(t *testing.T, exited <-chan struct{}, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-exited:
			t.Fatalf("kafkaemu serve exited while the test waited for %s", what)
		case <-timeout:
			t.Fatalf("kafkaemu serve: no %s after 30s", what)
		case <-tick.C:
		}
	}
}

// -sasl makes the brokers require SASL; an authenticated client writes.
func TestServeSASL(t *testing.T) {
	c, _ := startServer(t, "-topic", "orders:1:3", "-sasl", "SCRAM-SHA-256:alice:s3cret")
	p, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("orders"),
		kgo.SASL(scram.Auth{User: "alice", Pass: "s3cret"}.AsSha256Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.ProduceSync(t.Context(), kgo.StringRecord("a")).FirstErr(); err != nil {
		t.Fatalf("SCRAM-SHA-256 through serve -sasl: %v", err)
	}
}

// GET /check gives the checker's verdict from the broker's side: an
// acks=1 write the failed leader had not replicated is a lost write.
func TestServeCheck(t *testing.T) {
	c, api := startServer(t, "-topic", "orders:1:3", "-replica-lag-max", "1m")
	ctx, p := acks1Producer(t, c)
	if err := p.ProduceSync(ctx, kgo.StringRecord("kept")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, "POST", api+"/pause-replication?topic=orders"); code != 200 {
		t.Fatalf("pause: %d %s", code, body)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("lost")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, "POST", api+"/fail-leader?topic=orders"); code != 200 {
		t.Fatalf("fail-leader: %d %s", code, body)
	}
	var v checkView
	code, body := call(t, "GET", api+"/check")
	if err := json.Unmarshal([]byte(body), &v); err != nil || code != 200 {
		t.Fatalf("GET /check: %d %s %v", code, body, err)
	}
	// No one consumed: the kept write is unseen.
	want := []findingView{{Anomaly: "lost-write", Topic: "orders", Partition: 0, Offset: 1, Value: "lost"}, {Anomaly: "unseen", Topic: "orders", Partition: 0, Offset: 0, Value: "kept"}}
	if diff := cmp.Diff(want, v.Findings, cmpopts.IgnoreFields(findingView{}, "Who", "Detail")); diff != "" || v.OK || v.Counts["lost-write"] != 1 {
		t.Errorf("GET /check (-want +got):\n%s\n%s", diff, body)
	}
	if code, body := call(t, "GET", api+"/check?topic=other"); code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Errorf("GET /check?topic=other: %d %s", code, body)
	}
	// Only group billing should read: the unread write is unseen by it.
	if code, body := call(t, "GET", api+"/check?consumed-by=billing"); code != 200 || !strings.Contains(body, `"unseen":1`) || !strings.Contains(body, `group billing`) {
		t.Errorf("GET /check?consumed-by=billing: %d %s", code, body)
	}
}
