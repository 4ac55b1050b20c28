package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// A test runs kafkaemu as its own process by running this binary with
	// KAFKAEMU_TEST_MAIN=1 and kafkaemu's arguments.
	if os.Getenv("KAFKAEMU_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	if os.Getenv("KAFKAEMU_TEST_RAW_KFAKE") == "1" {
		rawKfake() // BenchmarkServeMemory's baseline
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

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
	if code, body := call(t, "POST", api+"/pause-replication?topic=orders&partition=0"); code != 200 || body != `{"ok":true}`+"\n" {
		t.Fatalf("pause: %d %s", code, body)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("lost")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var failed struct {
		OK        bool   `json:"ok"`
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Leader    int32  `json:"leader"`
	}
	code, body := call(t, "POST", api+"/fail-leader?topic=orders&partition=0")
	if err := json.Unmarshal([]byte(body), &failed); err != nil || code != 200 || !failed.OK || failed.Topic != "orders" {
		t.Fatalf("fail-leader: %d %s %v", code, body, err)
	}
	if st, _ := c.Partition("orders", 0); st.Leader != failed.Leader {
		t.Errorf("fail-leader answered leader %d, the cluster has %d", failed.Leader, st.Leader)
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
	code, body = call(t, "POST", api+"/latency?delay=5ms&jitter=1ms&broker=0&requests=produce,fetch&count=100")
	if code != 200 || !strings.Contains(body, `"id":1`) {
		t.Fatalf("latency: %d %s", code, body)
	}
	var faults []struct {
		ID    int    `json:"id"`
		Verb  string `json:"verb"`
		Fault string `json:"fault"`
		Hits  int    `json:"hits"`
	}
	code, body = call(t, "GET", api+"/faults")
	if err := json.Unmarshal([]byte(body), &faults); err != nil || code != 200 || len(faults) != 1 || faults[0].Verb != "latency" || faults[0].ID != 1 {
		t.Fatalf("faults: %d %s %v", code, body, err)
	}
	if code, body := call(t, "DELETE", api+"/faults/1"); code != 200 || !strings.Contains(body, `"hits":0`) {
		t.Errorf("delete fault: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/resume-replication?topic=orders"); code != 200 {
		t.Errorf("resume: %d %s", code, body)
	}

	// Bad input names the parameter, in the API's terms, and changes nothing.
	for _, tc := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"POST", "/latency?delay=10ms&brokr=1", 400, `unknown parameter \"brokr\"; did you mean \"broker\"? (POST /latency takes parameters delay, jitter, broker, client, requests, count)`},
		{"POST", "/latency?ms=10", 400, `unknown parameter \"ms\"; it is now \"delay\"`},
		{"POST", "/drop-responses?key=produce", 400, `unknown parameter \"key\"; it is now \"requests\"`},
		{"POST", "/fail-leader?topic=orders&partition=x", 400, `parameter partition=\"x\": want a partition number`},
		{"POST", "/fail-leader?topic=orders&partition=3", 400, `parameter partition=3: topic \"orders\" has partitions 0 to 0`},
		{"POST", "/fail-leader?topic=orders&topic=orders", 400, `parameter \"topic\" is given 2 times`},
		{"POST", "/fail-leader?partition=0", 400, `missing parameter \"topic\"`},
		{"POST", "/pause-replication?topic=nope", 400, `parameter topic=\"nope\": no such topic; topics: orders`},
		{"POST", "/kill-broker?broker=9", 400, `parameter broker=9: the cluster has brokers 0, 1, 2`},
		{"POST", "/latency?delay=-4ms", 400, `parameter delay=\"-4ms\": want a duration`},
		{"POST", "/latency?delay=10", 400, `parameter delay=\"10\": want a duration like \"10ms\"`},
		{"POST", "/drop-responses?requests=nope", 400, `parameter requests=\"nope\": want request names`},
		{"POST", "/drop-responses?probability=2", 400, `parameter probability=\"2\": want a number in (0, 1]`},
		{"POST", "/inject-error?error=NOPE&requests=produce", 400, `parameter error=\"NOPE\": want a Kafka error name`},
		{"POST", "/network-partition?brokers=0,0", 400, `lists broker 0 twice`},
		{"POST", "/resume-replication?topic=orders&partition=0", 409, `resume-replication: replication of orders[0] is already resumed`},
		{"POST", "/restart-broker?broker=1", 409, `restart-broker: `},
		{"DELETE", "/faults/1", 404, `no fault \"1\"`},
		{"GET", "/fail-leader", 405, `GET /fail-leader: this endpoint takes POST`},
		{"GET", "/nope", 404, `no endpoint /nope`},
		{"GET", "/groups/nope", 404, `unknown group \"nope\"`},
		{"GET", "/brokers?x=1", 400, `unknown parameter \"x\" (GET /brokers takes no parameters)`},
	} {
		code, body := call(t, tc.method, api+tc.path)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || code != tc.status || !strings.Contains(body, tc.want) || e.Error == "" {
			t.Errorf("%s %s: %d %s, want %d and a JSON error containing %s", tc.method, tc.path, code, body, tc.status, tc.want)
		}
	}
	if code, body := call(t, "GET", api+"/faults"); code != 200 || body != "[]\n" {
		t.Errorf("a refused request installed a fault: %s", body)
	}
}

// The verbs the API gained: inject-error and network-partition take
// effect (journal evidence), groups and their members are listed, and a
// member is expired without naming its group.
func TestServeErrorsPartitionsGroups(t *testing.T) {
	c, api := startServer(t, "-topic", "orders:1:3")
	ctx, p := acks1Producer(t, c)
	code, body := call(t, "POST", api+"/inject-error?error=NOT_ENOUGH_REPLICAS&requests=produce&count=1")
	if code != 200 || !strings.Contains(body, `"id":1`) {
		t.Fatalf("inject-error: %d %s", code, body)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("retried")).FirstErr(); err != nil {
		t.Fatal(err) // the producer retried past the one injected error
	}
	code, body = call(t, "GET", api+"/faults")
	if code != 200 || !strings.Contains(body, `"verb":"inject-error"`) || !strings.Contains(body, `"hits":1`) {
		t.Errorf("the injected error did not answer a produce: %s", body)
	}
	code, body = call(t, "POST", api+"/network-partition?brokers=2")
	if code != 200 || !strings.Contains(body, `"id":2`) {
		t.Fatalf("network-partition: %d %s", code, body)
	}
	if code, body := call(t, "DELETE", api+"/faults/2"); code != 200 {
		t.Errorf("healing the partition: %d %s", code, body)
	}
	added := 0
	for _, e := range c.Journal() {
		if e.Kind == fake.EventFaultAdded {
			added++
		}
	}
	if added != 2 {
		t.Errorf("%d faults added in the journal, want 2", added)
	}

	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"), kgo.ClientID("billing-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	gi, err := c.WaitGroup(ctx, "billing", fake.GroupSettled(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Group   string
		State   string
		Members []struct {
			Member     string
			Client     string
			Assignment map[string][]int32
		}
	}
	code, body = call(t, "GET", api+"/groups")
	if err := json.Unmarshal([]byte(body), &groups); err != nil || code != 200 || len(groups) != 1 || len(groups[0].Members) != 1 {
		t.Fatalf("groups: %d %s %v", code, body, err)
	}
	m := groups[0].Members[0]
	if groups[0].Group != "billing" || m.Client != "billing-1" || m.Member != gi.Members[0].MemberID || len(m.Assignment["orders"]) != 1 {
		t.Errorf("groups: %s", body)
	}
	if code, body := call(t, "GET", api+"/groups/billing"); code != 200 || !strings.Contains(body, m.Member) {
		t.Errorf("group billing: %d %s", code, body)
	}
	code, body = call(t, "POST", api+"/expire-member?member="+m.Member)
	if code != 200 || body != `{"group":"billing","ok":true}`+"\n" {
		t.Errorf("expire-member: %d %s", code, body)
	}
}

// Suites fix the broker ports and read the addresses from a file instead
// of scraping stdout.
func TestServePortsAndAddrFile(t *testing.T) {
	var ports []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		ln.Close()
	}
	file := filepath.Join(t.TempDir(), "addrs.json")
	c, api := startServer(t, "-ports", strings.Join(ports, ","), "-addr-file", file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got addrs
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range ports {
		want = append(want, "127.0.0.1:"+p)
	}
	if !slices.Equal(got.Brokers, want) || !slices.Equal(c.Addrs(), want) || got.API != api || got.Seed != c.Seed() {
		t.Errorf("addr file %s; want brokers %v, api %s (cluster %v)", b, want, api, c.Addrs())
	}
}

// Oversized requests are refused before they are read.
func TestServeRefusesOversizedRequests(t *testing.T) {
	_, api := startServer(t)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	code, body := call(t, "POST", api+"/rebalance?group="+strings.Repeat("g", maxQuery))
	if code != http.StatusRequestURITooLong || !strings.Contains(body, `"error"`) {
		t.Errorf("long query: %d %.200s", code, body)
	}
	resp, err := http.Post(api+"/rebalance", "application/x-www-form-urlencoded", strings.NewReader("group="+strings.Repeat("g", maxBody)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"error"`) {
		t.Errorf("large body: %d %.200s", resp.StatusCode, b)
	}
	resp, err = http.Post(api+"/kill-broker", "application/json", strings.NewReader(`{"broker":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "application/x-www-form-urlencoded") {
		t.Errorf("JSON body: %d %s", resp.StatusCode, b)
	}
	// A form body works like the query string.
	resp, err = http.Post(api+"/latency", "application/x-www-form-urlencoded", strings.NewReader("delay=1ms"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"id":1`) {
		t.Errorf("form body: %d %s", resp.StatusCode, b)
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
		{[]string{"-max-request-bytes", "10"}, `-max-request-bytes 10: want 64 to 2147483647 bytes`},
		{[]string{"-max-request-bytes", "3000000000"}, `-max-request-bytes 3000000000: want 64 to 2147483647 bytes`},
		{[]string{"-max-request-bytes", "1MiB"}, `invalid value "1MiB" for flag -max-request-bytes`},
		{[]string{"-idle-timeout", "0s"}, `-idle-timeout 0s: want a positive duration`},
		{[]string{"-idle-timeout", "-1m"}, `-idle-timeout -1m0s: want a positive duration`},
		{[]string{"-idle-timeout", "soon"}, `invalid value "soon" for flag -idle-timeout`},
		{[]string{"-broker-session-timeout", "0s"}, `-broker-session-timeout 0s: want a positive duration`},
		{[]string{"-sasl", "PLAIN:alice"}, `-sasl "PLAIN:alice": want MECHANISM:user:password, like PLAIN:alice:secret`},
		{[]string{"-sasl", "GSSAPI:alice:x"}, `fake.SASL("GSSAPI", "alice", ...): the mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{[]string{"-journal-max", "-1"}, `-journal-max -1: want 0 (keep all) to 1000000000 events`},
		{[]string{"-journal-max", "2000000000"}, `-journal-max 2000000000: want 0 (keep all) to 1000000000 events`},
		{[]string{"-journal", "/nonexistent/dir/journal.jsonl"}, `-journal /nonexistent/dir/journal.jsonl: open /nonexistent/dir/journal.jsonl: no such file or directory`},
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

// -max-request-bytes and -idle-timeout reach the wire layer: a frame
// announcing more than the limit closes its connection and is journaled,
// and a connection that sends nothing is closed after the idle timeout
// (the default, a minute, would outlast the read deadline).
func TestServeWireFlags(t *testing.T) {
	c, _ := startServer(t, "-max-request-bytes", "1024", "-idle-timeout", "300ms")
	closed := func(cn net.Conn) error {
		t.Helper()
		_ = cn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadAll(cn)
		return err
	}
	big, err := net.Dial("tcp", c.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if _, err := big.Write(binary.BigEndian.AppendUint32(nil, 2048)); err != nil {
		t.Fatal(err)
	}
	if err := closed(big); err != nil {
		t.Errorf("a 2048-byte frame with -max-request-bytes 1024: %v, want the connection closed", err)
	}
	var found bool
	for _, e := range c.Journal() {
		found = found || e.Kind == fake.EventBadRequest && strings.Contains(e.Error, "exceeds the maximum of 1024 bytes")
	}
	if !found {
		t.Errorf("journal has no bad-request event for the 2048-byte frame")
	}
	quiet, err := net.Dial("tcp", c.Addrs()[1])
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	if err := closed(quiet); err != nil {
		t.Errorf("a silent connection with -idle-timeout 300ms: %v, want it closed", err)
	}
}
