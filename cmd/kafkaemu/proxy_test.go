package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startProxy runs `kafkaemu proxy args...` until the test ends.
func startProxy(t *testing.T, args ...string) (*proxy.Proxy, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type up struct {
		p    *proxy.Proxy
		addr string
	}
	ready := make(chan up, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- proxyCmd(ctx, args, &out, io.Discard, func(p *proxy.Proxy, addr string) { ready <- up{p, addr} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
		http.DefaultClient.CloseIdleConnections()
	})
	select {
	case u := <-ready:
		return u.p, "http://" + u.addr
	case err := <-done:
		t.Fatalf("proxy: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("proxy did not start")
	}
	return nil, ""
}

// TestProxyFaultAPI: kafkaemu proxy in front of a raw kfake cluster serves
// serve's API: network faults hit and are journaled, fail-leader moves the
// upstream's leader, and the verbs that need the emulator answer 501 with
// the reason, before looking at their parameters.
func TestProxyFaultAPI(t *testing.T) {
	up, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	p, api := startProxy(t, "-upstream", up.ListenAddrs()[0], "-seed", "3")
	code, body := call(t, "GET", api+"/brokers")
	var brokers []proxy.Broker
	if err := json.Unmarshal([]byte(body), &brokers); err != nil || code != 200 || len(brokers) != 3 {
		t.Fatalf("brokers: %d %s", code, body)
	}
	for _, b := range brokers {
		if b.Upstream != up.ListenAddrs()[b.ID] {
			t.Errorf("broker %d fronts %s, want %s", b.ID, b.Upstream, up.ListenAddrs()[b.ID])
		}
	}
	if code, body := call(t, "POST", api+"/drop-responses?requests=produce&count=1"); code != 200 || !strings.Contains(body, `"id":1`) {
		t.Fatalf("drop-responses: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Addrs()...), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, kgo.StringRecord("a")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	code, body = call(t, "GET", api+"/faults")
	if code != 200 || !strings.Contains(body, `"hits":1`) {
		t.Errorf("faults: %d %s", code, body)
	}
	code, body = call(t, "POST", api+"/fail-leader?topic=orders&partition=0")
	if code != 200 || !strings.Contains(body, `"leader"`) {
		t.Errorf("fail-leader: %d %s", code, body)
	}
	code, body = call(t, "GET", api+"/journal")
	evs, err := journal.Read(strings.NewReader(body))
	if err != nil || code != 200 {
		t.Fatalf("journal: %d %v", code, err)
	}
	kinds := map[journal.EventKind]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	for _, k := range []journal.EventKind{journal.EventBrokerUp, journal.EventFaultAdded, journal.EventFaultHit, journal.EventFaultRemoved, journal.EventAppend, journal.EventLeaderChange} {
		if kinds[k] == 0 {
			t.Errorf("the journal has no %s event: %v", k, kinds)
		}
	}
	// The record was produced and never consumed: the broker-side
	// history (the proxy's journal, the upstream's log) says so.
	if code, body := call(t, "GET", api+"/check?topic=orders"); code != 200 || !strings.Contains(body, `"unseen":1`) || !strings.Contains(body, `"value":"a"`) {
		t.Errorf("check: %d %.300s", code, body)
	}
	if code, body := call(t, "GET", api+"/timeline"); code != 200 || !strings.Contains(body, "fault-hit") {
		t.Errorf("timeline: %d %.200s", code, body)
	}
	for path, want := range map[string]string{
		"POST /pause-replication?topic=nope": "pause-replication needs the emulator's replication model",
		"POST /kill-broker?broker=99":        "kill-broker needs the emulator",
		"POST /rebalance?group=g":            "rebalance needs the emulator's group coordinator",
		"POST /inject-error?error=x":         "inject-error needs kfake's error injection",
		"POST /isolate?broker=0":             "isolate needs the emulator's controller model",
	} {
		method, rest, _ := strings.Cut(path, " ")
		code, body := call(t, method, api+rest)
		if code != http.StatusNotImplemented || !strings.Contains(body, want) || !strings.Contains(body, "the target is a real cluster") {
			t.Errorf("%s: %d %s; want 501 saying %q", path, code, body, want)
		}
	}
	// Groups are the upstream's, described through the proxy's admin
	// client: members and commits.
	g, err := kgo.NewClient(kgo.SeedBrokers(p.Addrs()...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ClientID("member-a"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for n := 0; n < 1; {
		fs := g.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		n += fs.NumRecords()
	}
	if err := g.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, "GET", api+"/groups/g"); code != 200 || !strings.Contains(body, "member-a") || !strings.Contains(body, `"orders"`) {
		t.Errorf("groups/g: %d %.300s", code, body)
	}
	if code, body := call(t, "GET", api+"/groups"); code != 200 || !strings.Contains(body, `"g"`) {
		t.Errorf("groups: %d %.300s", code, body)
	}
	if code, _ := call(t, "GET", api+"/groups/nope"); code != http.StatusNotFound {
		t.Errorf("groups/nope: %d, want 404", code)
	}
	if code, body := call(t, "POST", api+"/latency?delay=oops"); code != 400 {
		t.Errorf("latency with a bad delay: %d %s", code, body)
	}
}

func TestProxyBadFlags(t *testing.T) {
	up, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-upstream is required"},
		{[]string{"-upstream", "kafka"}, `"kafka" is not host:port`},
		{[]string{"-upstream", up.ListenAddrs()[0], "-listen-host", "0.0.0.0"}, "-allow-non-loopback"},
		{[]string{"-upstream", up.ListenAddrs()[0], "-http", "0.0.0.0:0"}, "loopback only"},
		{[]string{"-upstream", up.ListenAddrs()[0], "-upstream-sasl", "gssapi:u:p"}, `mechanism "gssapi"`},
		{[]string{"-upstream", up.ListenAddrs()[0], "-upstream-ca", "/nonexistent.pem"}, "-upstream-ca"},
		{[]string{"-upstream", up.ListenAddrs()[0], "extra"}, `unexpected argument "extra"`},
	} {
		err := proxyCmd(context.Background(), tc.args, io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("kafkaemu proxy %v: %v; want an error saying %q", tc.args, err, tc.want)
		}
	}
}

// TestProxyOverServeProcess: the upstream is `kafkaemu serve` in another
// process, the proxy `kafkaemu proxy` in a third. A kgo client produces
// and consumes through the proxy; the proxy's journal has the appends at
// the offsets serve's own journal has them, and a fault added through
// the proxy's API hits.
func TestProxyOverServeProcess(t *testing.T) {
	bin := buildKafkaemu(t)
	start := func(args ...string) ([]string, string) { t.Helper(); return startKafkaemu(t, bin, args...) }
	upBrokers, upAPI := start("serve", "-topic", "orders:2:3", "-seed", "12")
	proxied, api := start("proxy", "-upstream", upBrokers[0])
	if len(proxied) != 3 {
		t.Fatalf("the proxy fronts %v, want serve's 3 brokers", proxied)
	}
	for _, a := range proxied {
		for _, u := range upBrokers {
			if a == u {
				t.Fatalf("the proxy's broker %s is serve's", a)
			}
		}
	}
	if code, body := call(t, "POST", api+"/latency?delay=1ms&requests=fetch"); code != 200 {
		t.Fatalf("latency: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(proxied[0]), kgo.DefaultProduceTopic("orders"),
		kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n = 30
	for i := range n {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(strings.Repeat("x", i+1))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d through the proxy", got, n)
		}
		got += fs.NumRecords()
	}
	appends := func(api string) map[[2]int64]bool {
		t.Helper()
		code, body := call(t, "GET", api+"/journal")
		evs, err := journal.Read(strings.NewReader(body))
		if err != nil || code != 200 {
			t.Fatalf("%s/journal: %d %v", api, code, err)
		}
		out := map[[2]int64]bool{}
		for _, e := range evs {
			if e.Kind == journal.EventAppend && e.Topic == "orders" && e.Detail == "" {
				for o := e.Offset; o <= e.LastOffset; o++ {
					out[[2]int64{int64(e.Partition), o}] = true
				}
			}
		}
		return out
	}
	mine, theirs := appends(api), appends(upAPI)
	if len(mine) != n || len(theirs) != n {
		t.Fatalf("the proxy journaled %d appended offsets, serve %d; want %d each", len(mine), len(theirs), n)
	}
	for k := range theirs {
		if !mine[k] {
			t.Errorf("serve appended orders[%d]@%d; the proxy's journal does not have it", k[0], k[1])
		}
	}
	code, body := call(t, "GET", api+"/faults")
	if code != 200 || strings.Contains(body, `"hits":0`) {
		t.Errorf("the latency fault did not hit: %d %s", code, body)
	}
}

// TestRunBootstrap: kafkaemu run -bootstrap runs a lesson a real cluster
// can run against one (a raw kfake here) and refuses one that needs the
// emulator before it runs, naming the fault's position.
func TestRunBootstrap(t *testing.T) {
	up, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	var out bytes.Buffer
	err = runFiles([]string{"-bootstrap", up.ListenAddrs()[0],
		"../../scenarios/library/retries-duplicate-without-idempotence.yaml",
		"../../scenarios/library/acks1-leader-loss.yaml"}, &out, io.Discard)
	if err == nil {
		t.Fatalf("kafkaemu run passed a lesson that needs the emulator:\n%s", out.String())
	}
	got := out.String()
	for _, want := range []string{
		"PASS retries-duplicate-without-idempotence",
		"FAIL acks1-leader-loss",
		"library/acks1-leader-loss.yaml:17:5: pause-replication needs the emulator (the target is a real cluster)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("kafkaemu run -bootstrap output lacks %q:\n%s", want, got)
		}
	}
	if os.Getenv("KAFKAEMU_BOOTSTRAP") != "" {
		t.Error("KAFKAEMU_BOOTSTRAP outlived kafkaemu run")
	}
}

// FuzzParseSASL: -upstream-sasl's parser returns a mechanism or an error
// naming what it wants, for any input.
func FuzzParseSASL(f *testing.F) {
	for _, s := range []string{"plain:alice:secret", "scram-sha-256:a:b", "SCRAM-SHA-512:a:b:c", "gssapi:u:p", "plain::p", "plain", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseSASL(s)
		if (m == nil) == (err == nil) {
			t.Fatalf("parseSASL(%q) = %v, %v", s, m, err)
		}
		if err != nil && !strings.Contains(err.Error(), "want") {
			t.Errorf("parseSASL(%q): %v does not say what it wants", s, err)
		}
	})
}
