package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/internal/selfsigned"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// A cell's cluster: in the test process (harness.Start) for Go clients, a
// `kafkaemu serve` process for the others, behind one interface so that
// each capability is written once.

// clusterOpts is what a cell needs of its cluster.
type clusterOpts struct {
	topics  []string      // name:partitions:replicas
	configs []string      // topic configs as name:key=value (serve's -topic-config)
	lag     time.Duration // replica.lag.time.max (default 200ms)
	sasl    *saslCreds
	tls     bool // fake.TLS (serve -tls) with a self-signed certificate
}

type saslCreds struct{ mech, user, pass string }

// endpoint is how a client reaches the cluster.
type endpoint struct {
	brokers []string
	sasl    *saslCreds
	tlsCfg  *tls.Config // nil: plaintext
	caFile  string      // the CA as a PEM file, for programs
}

// check is the anomaly checker's verdict on a cluster's broker-side history.
type check struct {
	counts   map[string]int
	findings []finding
	report   string
}

type finding struct {
	Anomaly string `json:"anomaly"`
	Offset  int64  `json:"offset"`
	Value   string `json:"value"`
}

func (c check) offsets(anomaly string) []int64 {
	var out []int64
	for _, f := range c.findings {
		if f.Anomaly == anomaly {
			out = append(out, f.Offset)
		}
	}
	return out
}

// groupState is a group as the broker sees it.
type groupState struct {
	State   string `json:"state"`
	Epoch   int32  `json:"epoch"`
	Members []struct {
		Member     string `json:"member"`
		InstanceID string `json:"instance_id"`
	} `json:"members"`
	Commits map[string]map[string]int64 `json:"commits"`
}

type cluster interface {
	endpoint() endpoint
	failLeader(t *testing.T, topic string, p int32)
	pause(t *testing.T, topic string, p int32)
	resume(t *testing.T, topic string, p int32)
	rebalance(t *testing.T, group string)
	expire(t *testing.T, group, member string)
	group(t *testing.T, group string) (groupState, bool)
	partition(t *testing.T, topic string, p int32) fake.PartitionState
	dropProduceResponseOnce(t *testing.T)
	check(t *testing.T, topic string, consumedBy ...string) check
	journal(t *testing.T) []fake.Event
}

// newCluster starts the cell's cluster for cl.
func newCluster(t *testing.T, cl client, o clusterOpts) cluster {
	t.Helper()
	if cl.serve {
		return startServed(t, o)
	}
	opts := []fake.Option{}
	for _, tp := range o.topics {
		parts := strings.Split(tp, ":")
		p, _ := strconv.Atoi(parts[1])
		r, _ := strconv.Atoi(parts[2])
		cfg := map[string]string{}
		for _, kv := range o.configs {
			name, rest, _ := strings.Cut(kv, ":")
			k, v, _ := strings.Cut(rest, "=")
			if name == parts[0] {
				cfg[k] = v
			}
		}
		opts = append(opts, fake.Topic(parts[0], int32(p), int16(r), cfg))
	}
	if o.lag > 0 {
		opts = append(opts, fake.ReplicaLagMax(o.lag))
	}
	if o.sasl != nil {
		opts = append(opts, fake.SASL(o.sasl.mech, o.sasl.user, o.sasl.pass))
	}
	ic := &inProc{}
	if o.tls {
		srv, cli, ca := newTLS(t)
		opts = append(opts, fake.TLS(srv))
		ic.tlsCfg, ic.caFile = cli, ca
	}
	ic.c = harness.Start(t, opts...)
	ic.sasl = o.sasl
	return ic
}

// inProc is a cluster in the test process.
type inProc struct {
	c      *harness.Cluster
	sasl   *saslCreds
	tlsCfg *tls.Config
	caFile string
}

func (c *inProc) endpoint() endpoint {
	return endpoint{brokers: c.c.Addrs(), sasl: c.sasl, tlsCfg: c.tlsCfg, caFile: c.caFile}
}
func (c *inProc) failLeader(t *testing.T, topic string, p int32) {
	if _, err := c.c.FailLeader(topic, p); err != nil {
		t.Fatal(err)
	}
}
func (c *inProc) pause(t *testing.T, topic string, p int32) {
	if err := c.c.PauseReplication(topic, p); err != nil {
		t.Fatal(err)
	}
}
func (c *inProc) resume(t *testing.T, topic string, p int32) {
	if err := c.c.ResumeReplication(topic, p); err != nil {
		t.Fatal(err)
	}
}
func (c *inProc) rebalance(t *testing.T, group string) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.c.Rebalance(ctx, group); err != nil {
		t.Fatal(err)
	}
}
func (c *inProc) expire(t *testing.T, group, member string) {
	if err := c.c.ExpireMember(group, member); err != nil {
		t.Fatal(err)
	}
}
func (c *inProc) group(t *testing.T, group string) (groupState, bool) {
	gi, err := c.c.Group(group)
	if err != nil || gi == nil {
		return groupState{}, false
	}
	g := groupState{State: gi.State, Epoch: gi.Epoch, Commits: map[string]map[string]int64{}}
	for _, m := range gi.Members {
		var mv struct {
			Member     string `json:"member"`
			InstanceID string `json:"instance_id"`
		}
		mv.Member = m.MemberID
		if m.InstanceID != nil {
			mv.InstanceID = *m.InstanceID
		}
		g.Members = append(g.Members, mv)
	}
	for tp, ps := range gi.Commits {
		g.Commits[tp] = map[string]int64{}
		for p, o := range ps {
			g.Commits[tp][strconv.Itoa(int(p))] = o.Offset
		}
	}
	return g, true
}
func (c *inProc) partition(t *testing.T, topic string, p int32) fake.PartitionState {
	st, err := c.c.Partition(topic, p)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
func (c *inProc) dropProduceResponseOnce(t *testing.T) {
	if _, err := c.c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(1)); err != nil {
		t.Fatal(err)
	}
}
func (c *inProc) check(t *testing.T, topic string, consumedBy ...string) check {
	opts := []assertions.Option{assertions.Topics(topic)}
	if len(consumedBy) > 0 {
		opts = append(opts, assertions.ConsumedBy(consumedBy...))
	}
	r := assertions.Check(c.c.BrokerHistory(t), opts...)
	out := check{counts: map[string]int{}, report: r.String()}
	for _, a := range assertions.Anomalies {
		for _, f := range r.Findings[a] {
			out.counts[string(a)]++
			out.findings = append(out.findings, finding{string(a), f.Offset, f.Value})
		}
	}
	return out
}
func (c *inProc) journal(t *testing.T) []fake.Event { return c.c.Journal() }

// served is a `kafkaemu serve` process, driven through its HTTP API.
type served struct {
	brokers []string
	api     string
	sasl    *saslCreds
	tlsCfg  *tls.Config
	caFile  string // serve -tls-ca-out's file
}

var kafkaemuBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "kafkaemu-conformance")
	if err != nil {
		return "", err
	}
	binDir = dir
	exe := filepath.Join(dir, "kafkaemu")
	if out, err := exec.Command("go", "build", "-o", exe, "github.com/seed73168108/kafkaemu/cmd/kafkaemu").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build kafkaemu: %v\n%s", err, out)
	}
	return exe, nil
})

var binDir string // removed by TestMain

func startServed(t *testing.T, o clusterOpts) *served {
	t.Helper()
	exe, err := kafkaemuBin()
	if err != nil {
		t.Fatal(err)
	}
	addrFile := filepath.Join(t.TempDir(), "addrs.json")
	args := []string{"serve", "-addr-file", addrFile}
	for _, tp := range o.topics {
		args = append(args, "-topic", tp)
	}
	for _, kv := range o.configs {
		args = append(args, "-topic-config", kv)
	}
	if o.lag > 0 {
		args = append(args, "-replica-lag-max", o.lag.String())
	}
	if o.sasl != nil {
		args = append(args, "-sasl", o.sasl.mech+":"+o.sasl.user+":"+o.sasl.pass)
	}
	var caFile string
	if o.tls {
		caFile = filepath.Join(t.TempDir(), "ca.pem")
		args = append(args, "-tls", "-tls-ca-out", caFile)
	}
	cmd := exec.Command(exe, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if waitErr != nil {
			t.Errorf("kafkaemu serve: %v\n%s", waitErr, stderr.String())
		}
	})
	var a struct {
		Brokers []string `json:"brokers"`
		API     string   `json:"api"`
	}
	waitFor(t, "kafkaemu serve's -addr-file", func() bool {
		select {
		case <-exited:
			t.Fatalf("kafkaemu serve exited: %v\n%s", waitErr, stderr.String())
		default:
		}
		b, err := os.ReadFile(addrFile)
		return err == nil && json.Unmarshal(b, &a) == nil
	})
	s := &served{brokers: a.Brokers, api: a.API, sasl: o.sasl}
	if o.tls {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatalf("kafkaemu serve -tls-ca-out: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("kafkaemu serve -tls-ca-out %s holds no PEM certificate", caFile)
		}
		s.tlsCfg, s.caFile = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, caFile
	}
	return s
}

var httpClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}

// call does method path on the API and decodes a 200 answer into v.
func (s *served) call(t *testing.T, method, path string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.api+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

func tp(topic string, p int32) string {
	return "topic=" + url.QueryEscape(topic) + "&partition=" + strconv.Itoa(int(p))
}

func (s *served) endpoint() endpoint {
	return endpoint{brokers: s.brokers, sasl: s.sasl, tlsCfg: s.tlsCfg, caFile: s.caFile}
}
func (s *served) failLeader(t *testing.T, topic string, p int32) {
	s.call(t, "POST", "/fail-leader?"+tp(topic, p), nil)
}
func (s *served) pause(t *testing.T, topic string, p int32) {
	s.call(t, "POST", "/pause-replication?"+tp(topic, p), nil)
}
func (s *served) resume(t *testing.T, topic string, p int32) {
	s.call(t, "POST", "/resume-replication?"+tp(topic, p), nil)
}
func (s *served) rebalance(t *testing.T, group string) {
	s.call(t, "POST", "/rebalance?group="+url.QueryEscape(group), nil)
}
func (s *served) expire(t *testing.T, group, member string) {
	s.call(t, "POST", "/expire-member?group="+url.QueryEscape(group)+"&member="+url.QueryEscape(member), nil)
}
func (s *served) group(t *testing.T, group string) (groupState, bool) {
	var g groupState
	return g, s.call(t, "GET", "/groups/"+url.PathEscape(group), &g) == http.StatusOK
}
func (s *served) partition(t *testing.T, topic string, p int32) fake.PartitionState {
	var sts []fake.PartitionState
	s.call(t, "GET", "/partitions?"+tp(topic, p), &sts)
	if len(sts) != 1 {
		t.Fatalf("GET /partitions?%s: %v", tp(topic, p), sts)
	}
	return sts[0]
}
func (s *served) dropProduceResponseOnce(t *testing.T) {
	s.call(t, "POST", "/drop-responses?requests=produce&count=1", nil)
}
func (s *served) check(t *testing.T, topic string, consumedBy ...string) check {
	var v struct {
		Counts   map[string]int `json:"counts"`
		Findings []finding      `json:"findings"`
		Report   string         `json:"report"`
	}
	path := "/check?topic=" + url.QueryEscape(topic)
	if len(consumedBy) > 0 {
		path += "&consumed-by=" + url.QueryEscape(strings.Join(consumedBy, ","))
	}
	s.call(t, "GET", path, &v)
	return check{counts: v.Counts, findings: v.Findings, report: v.Report}
}
func (s *served) journal(t *testing.T) []fake.Event {
	req, err := http.NewRequestWithContext(t.Context(), "GET", s.api+"/journal", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs, err := fake.ReadJournal(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// waitFor polls cond until it holds; a minute without is a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-timeout.C:
			t.Fatalf("waited a minute for %s", what)
		case <-t.Context().Done():
			t.Fatalf("the test ended waiting for %s", what)
		}
	}
}

// kgoClient is the reference client (franz-go) the test itself uses to
// write what a cell needs and to read back, with the endpoint's auth.
func kgoOpts(e endpoint) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(e.brokers...), kgo.FetchMaxWait(50 * time.Millisecond), kgo.MetadataMinAge(10 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond })}
	if e.sasl != nil {
		switch e.sasl.mech {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: e.sasl.user, Pass: e.sasl.pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: e.sasl.user, Pass: e.sasl.pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: e.sasl.user, Pass: e.sasl.pass}.AsSha512Mechanism()))
		}
	}
	if e.tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(e.tlsCfg))
	}
	return opts
}

// seed writes values to topic's partition 0 with acks=all.
func seed(t *testing.T, e endpoint, topic string, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(append(kgoOpts(e), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, v := range values {
		if err := cl.ProduceSync(t.Context(), &kgo.Record{Value: []byte(v), Partition: 0}).FirstErr(); err != nil {
			t.Fatalf("seeding %s: %v", topic, err)
		}
	}
}

// seedTxn writes values to topic's partition 0 in one transaction of
// txnID, committed or aborted.
func seedTxn(t *testing.T, e endpoint, topic, txnID string, commit bool, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(append(kgoOpts(e), kgo.DefaultProduceTopic(topic), kgo.TransactionalID(txnID), kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(t.Context(), &kgo.Record{Value: []byte(v), Partition: 0}).FirstErr(); err != nil {
			t.Fatalf("transactional write to %s: %v", topic, err)
		}
	}
	if err := cl.EndTransaction(t.Context(), kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// newTLS is a self-signed certificate for 127.0.0.1: the server's config,
// a client config that trusts it, and the certificate as a PEM file.
func newTLS(t *testing.T) (*tls.Config, *tls.Config, string) {
	t.Helper()
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, cert.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := cert.ClientConfig()
	cli.ServerName = "127.0.0.1"
	return cert.ServerConfig(), cli, ca
}
