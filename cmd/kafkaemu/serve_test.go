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

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs `kafkaemu serve args...` until the test ends.
func startServer(t *testing.T, args ...string) (*fake.Cluster, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type up struct {
		c    *fake.Cluster
		addr string
	}
	ready := make(chan up, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- serve(ctx, args, &out, io.Discard, func(c *fake.Cluster, addr string) { ready <- up{c, addr} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case u := <-ready:
		return u.c, "http://" + u.addr
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	return nil, ""
}

// acks1Producer is an acks=1 producer to topic orders of c, closed (with
// the HTTP client's idle connections) when the test ends.
func acks1Producer(t *testing.T, c *fake.Cluster) (context.Context, *kgo.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	p, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("orders"),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return ctx, p
}

func call(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeFaultAPI(t *testing.T) {
	c, api := startServer(t, "-seed", "5", "-topic", "orders:1:3", "-topic-config", "orders:min.insync.replicas=2")
	ctx, p := acks1Producer(t, c)
	if err := p.ProduceSync(ctx, kgo.StringRecord("a")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, "POST", api+"/pause-replication?topic=orders&partition=0"); code != 200 {
		t.Fatalf("pause: %d %s", code, body)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("lost")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	code, body := call(t, "POST", api+"/fail-leader?topic=orders&partition=0")
	if code != 200 || !strings.Contains(body, `"leader"`) {
		t.Fatalf("fail-leader: %d %s", code, body)
	}
	code, body = call(t, "GET", api+"/partitions?topic=orders")
	var parts []fake.PartitionState
	if err := json.Unmarshal([]byte(body), &parts); err != nil || code != 200 || parts[0].HighWatermark != 1 {
		t.Fatalf("partitions: %d %s %v", code, body, err)
	}
	code, body = call(t, "GET", api+"/journal")
	if code != 200 || !strings.Contains(body, `"kind":"truncate"`) {
		t.Errorf("journal has no truncation: %d %.300s", code, body)
	}
	code, body = call(t, "POST", api+"/latency?ms=5&broker=0")
	if code != 200 || !strings.Contains(body, `"id":1`) {
		t.Fatalf("latency: %d %s", code, body)
	}
	if code, body := call(t, "DELETE", api+"/faults/1"); code != 200 {
		t.Errorf("delete fault: %d %s", code, body)
	}

	// Bad input names the parameter.
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/fail-leader?topic=orders&partition=x", `parameter partition="x": want a whole number`},
		{"POST", "/fail-leader?partition=0", `missing parameter "topic"`},
		{"POST", "/kill-broker?broker=9", `KillBroker(9): unknown broker`},
		{"POST", "/latency?ms=-4", `parameter ms="-4": want milliseconds`},
		{"POST", "/drop-responses?key=nope", `parameter key="nope": want a request name`},
		{"DELETE", "/faults/1", `no fault "1"`},
		{"GET", "/partitions?topic=nope", `unknown topic "nope"`},
	} {
		code, body := call(t, tc.method, api+tc.path)
		if code < 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %q, want an error containing %q", tc.method, tc.path, code, body, tc.want)
		}
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-topic", "orders:x:3"}, `-topic "orders:x:3": partitions and replicas must be numbers`},
		{[]string{"-topic", "orders"}, `-topic "orders": want name:partitions:replicas`},
		{[]string{"-http", "0.0.0.0:7070"}, `loopback only`},
		{[]string{"-topic-config", "orders"}, `-topic-config "orders": want name:key=value`},
		{[]string{"-topic", "orders:1:5"}, `replicas = 5, but the cluster has 3 brokers`},
	} {
		err := serve(context.Background(), tc.args, io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if err := run(context.Background(), []string{"nope"}, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `unknown command "nope"`) {
		t.Errorf("unknown command: %v", err)
	}
}

func TestRunScenarioFiles(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"run", "../../scenarios/library/acks1-leader-loss.yaml", "../../scenarios/library/retries-idempotent-no-duplicates.yaml"}, nil, &out, io.Discard)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := out.String(); strings.Count(got, "PASS ") != 2 {
		t.Errorf("output:\n%s", got)
	}
	// A scenario that cannot pass reports FAIL, the reason and the seed.
	bad := t.TempDir() + "/bad.yaml"
	lib, err := os.ReadFile("../../scenarios/library/acks1-leader-loss.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := strings.Cut(string(lib), "expect:")
	text = strings.Replace(text, "name: acks1-leader-loss", "name: no-loss-expected", 1)
	if err := os.WriteFile(bad, []byte(text+"expect:\n  - lost-write: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(context.Background(), []string{"run", bad}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "FAIL no-loss-expected") || !strings.Contains(out.String(), "expected lost-write == 0") || !strings.Contains(out.String(), "KAFKAEMU_SEED=") {
		t.Errorf("err %v, output:\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"run", "nope.yaml"}, nil, &out, io.Discard); err == nil || !strings.Contains(out.String(), "nope.yaml") {
		t.Errorf("missing file: %v %s", err, out.String())
	}
}
