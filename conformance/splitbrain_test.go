package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
)

// A sarama producer against a leader cut off from its cluster (fake.Isolate)
// while sarama still reaches it: with acks=1 the writes the isolated leader
// acknowledged are lost once the controller fences it and it returns, and
// BrokerHistory names exactly their offsets, the ones sarama was told; with
// acks=all and min.insync.replicas=2 the isolated leader never
// acknowledges, sarama retries until it finds the new leader, and nothing
// is lost or duplicated.
func TestSaramaSplitBrain(t *testing.T) {
	for _, acks := range []sarama.RequiredAcks{sarama.WaitForLocal, sarama.WaitForAll} {
		t.Run(fmt.Sprint("acks=", acks), func(t *testing.T) {
			c := harness.Start(t, fake.Seed(21), fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}),
				fake.BrokerSessionTimeout(500*time.Millisecond))
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cfg := saramaConfig()
			cfg.Producer.RequiredAcks = acks
			cfg.Producer.Partitioner = sarama.NewManualPartitioner
			cfg.Producer.Timeout = 200 * time.Millisecond // the broker's wait for acks=all
			cfg.Producer.Retry.Max = 1000
			cfg.Metadata.RefreshFrequency = 100 * time.Millisecond
			prod, err := sarama.NewSyncProducer(c.Addrs(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close()
			send := func(prefix string, n int) []int64 {
				t.Helper()
				var offs []int64
				for i := range n {
					_, off, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "t", Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("%s-%d", prefix, i))})
					if err != nil {
						t.Fatalf("sending %s-%d: %v", prefix, i, err)
					}
					offs = append(offs, off)
				}
				return offs
			}
			send("before", 5)
			st, err := c.Partition("t", 0)
			if err != nil {
				t.Fatal(err)
			}
			h, err := c.AddFault(fake.Isolate(st.Leader))
			if err != nil {
				t.Fatal(err)
			}
			during := send("during", 5) // acks=all: answered only by the new leader
			if acks == sarama.WaitForLocal {
				if want := []int64{5, 6, 7, 8, 9}; !slices.Equal(during, want) {
					t.Fatalf("the isolated leader acknowledged at %v, want %v", during, want)
				}
				if _, err := c.WaitPartition(ctx, "t", 0, func(s fake.PartitionState) bool { return s.LeaderEpoch > st.LeaderEpoch }); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.Remove(); err != nil {
				t.Fatal(err)
			}
			send("after", 3)
			if _, err := c.WaitPartition(ctx, "t", 0, func(s fake.PartitionState) bool { return len(s.ISR) == 3 }); err != nil {
				t.Fatal(err)
			}
			var fenced, truncated bool
			for _, e := range c.Journal() {
				fenced = fenced || (e.Kind == fake.EventBrokerFenced && e.Broker == st.Leader)
				truncated = truncated || (e.Kind == fake.EventTruncate && e.Broker == st.Leader)
			}
			if !fenced {
				t.Errorf("broker %d was never fenced:\n%s", st.Leader, c.JournalTail(30))
			}
			r := assertions.Check(c.BrokerHistory(t))
			var lost []int64
			for _, f := range r.Findings[assertions.LostWrite] {
				lost = append(lost, f.Offset)
			}
			switch acks {
			case sarama.WaitForLocal:
				if !slices.Equal(lost, during) || !truncated {
					t.Errorf("lost-write at offsets %v (truncated: %v), want %v, the offsets the isolated leader acknowledged\n%s", lost, truncated, during, r)
				}
			default:
				if len(lost) != 0 || r.Count(assertions.Duplicate) != 0 {
					t.Errorf("acks=all lost %v and duplicated %d\n%s", lost, r.Count(assertions.Duplicate), r)
				}
				if end, _ := c.Partition("t", 0); end.HighWatermark != 13 {
					t.Errorf("the log ends at %d, want 13: every write once", end.HighWatermark)
				}
			}
		})
	}
}

// kcat (librdkafka) against `kafkaemu serve`, as a suite in another
// language drives it: POST /isolate cuts the leader off, kcat's acks=1
// writes are acknowledged by it; a kcat that knows only the isolated
// broker still writes to it after the fence (its stale metadata); DELETE
// /faults/ID heals it, and GET /check names the lost writes at their
// offsets. A read_committed kcat consumer never sees a truncated record.
func TestKcatSplitBrainThroughServer(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		if os.Getenv("KAFKAEMU_REQUIRE_KCAT") != "" {
			t.Fatal("kcat is not installed (apt-get install kcat)")
		}
		t.Skip("kcat is not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	brokers, api := startServe(t, ctx, "-seed", "5", "-topic", "orders:1:3", "-broker-session-timeout", "500ms")
	get := func(method, path string, into any) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, api+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, body, err)
		}
	}
	defer http.DefaultClient.CloseIdleConnections()
	produce := func(bootstrap []string, values ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "kcat", "-b", strings.Join(bootstrap, ","), "-P", "-t", "orders", "-p", "0", "-X", "acks=1")
		cmd.Stdin = strings.NewReader(strings.Join(values, "\n") + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat -P %v: %v\n%s", values, err, out)
		}
	}
	var parts []struct {
		Leader int32 `json:"leader"`
		Epoch  int32 `json:"leader_epoch"`
	}
	get("GET", "/partitions?topic=orders", &parts)
	old := parts[0].Leader
	var others []string
	for i, b := range brokers {
		if int32(i) != old {
			others = append(others, b)
		}
	}
	produce(brokers, "before-0", "before-1", "before-2")
	var added struct {
		ID     int   `json:"id"`
		Broker int32 `json:"broker"`
	}
	get("POST", "/isolate?broker="+url.QueryEscape("leader-of orders/0"), &added)
	if added.Broker != old {
		t.Fatalf("POST /isolate isolated broker %d, want the leader %d", added.Broker, old)
	}
	produce(brokers, "during-0", "during-1") // acknowledged by the isolated leader alone
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for fenced := false; !fenced; {
		var bs []struct {
			ID     int32 `json:"id"`
			Fenced bool  `json:"fenced"`
		}
		get("GET", "/brokers", &bs)
		fenced = bs[old].Fenced
		select {
		case <-ctx.Done():
			t.Fatalf("broker %d was not fenced: %v", old, ctx.Err())
		case <-tick.C:
		}
	}
	produce([]string{brokers[old]}, "stale-0") // only the fenced broker: its stale view
	produce(others, "new-0")                   // the new leader
	var healed struct {
		OK bool `json:"ok"`
	}
	get("DELETE", fmt.Sprintf("/faults/%d", added.ID), &healed)
	out, err := exec.CommandContext(ctx, "kcat", "-b", strings.Join(brokers, ","), "-C", "-t", "orders", "-p", "0",
		"-o", "beginning", "-e", "-q", "-X", "isolation.level=read_committed").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, out)
	}
	if got, want := string(out), "before-0\nbefore-1\nbefore-2\nnew-0\n"; got != want {
		t.Errorf("a read_committed kcat read %q, want %q: nothing the fenced broker truncated", got, want)
	}
	var check struct {
		Findings []struct {
			Anomaly string `json:"anomaly"`
			Offset  int64  `json:"offset"`
			Value   string `json:"value"`
		} `json:"findings"`
	}
	get("GET", "/check", &check)
	var lost []string
	for _, f := range check.Findings {
		if f.Anomaly == string(assertions.LostWrite) {
			lost = append(lost, fmt.Sprintf("%s@%d", f.Value, f.Offset))
		}
	}
	if want := []string{"during-0@3", "during-1@4", "stale-0@5"}; !slices.Equal(lost, want) {
		t.Errorf("GET /check lost writes %v, want %v", lost, want)
	}
}

// startServe builds and runs `kafkaemu serve args...` until ctx ends, and
// returns its broker addresses (by id) and API base URL, read from
// -addr-file.
func startServe(t *testing.T, ctx context.Context, args ...string) ([]string, string) {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "kafkaemu")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", exe, "github.com/seed73168108/kafkaemu/cmd/kafkaemu").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addrFile := filepath.Join(t.TempDir(), "addrs.json")
	sctx, stop := context.WithCancel(ctx)
	srv := exec.CommandContext(sctx, exe, append([]string{"serve", "-addr-file", addrFile}, args...)...)
	srv.Cancel = func() error { return srv.Process.Signal(os.Interrupt) }
	exited := make(chan error, 1)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		stop()
		<-exited
	})
	var addrs struct {
		Brokers []string `json:"brokers"`
		API     string   `json:"api"`
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(addrFile); err == nil {
			if err := json.Unmarshal(b, &addrs); err != nil {
				t.Fatalf("-addr-file holds %q: %v", b, err)
			}
			return addrs.Brokers, addrs.API
		}
		select {
		case err := <-exited:
			t.Fatalf("kafkaemu serve exited before writing %s: %v", addrFile, err)
		case <-ctx.Done():
			t.Fatalf("kafkaemu serve did not write %s: %v", addrFile, ctx.Err())
		case <-tick.C:
		}
	}
}
