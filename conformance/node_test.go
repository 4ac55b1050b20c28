package conformance

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// node is Node.js with conformance/node's npm packages (kafkajs); CI
// installs them and sets KAFKAEMU_REQUIRE_NODE.
func node(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("node/node_modules/kafkajs")
	}
	if err != nil {
		missingClient(t, "kafkajs", err)
	}
	return bin
}

// A Node service tested through the standalone server, as a non-Go suite
// uses it: `kafkaemu serve` runs the cluster, kafkajs produces with
// acks=1, the test fails the leader through the HTTP fault API, and the
// five acknowledged but unreplicated writes are lost, as in Kafka.
func TestKafkaJSThroughServer(t *testing.T) {
	nodeBin := node(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	exe := filepath.Join(t.TempDir(), "kafkaemu")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", exe, "github.com/seed73168108/kafkaemu/cmd/kafkaemu").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The suite reads the addresses from -addr-file, written once the
	// cluster is up, instead of scraping stdout.
	addrFile := filepath.Join(t.TempDir(), "addrs.json")
	srv := exec.CommandContext(ctx, exe, "serve", "-topic", "orders:1:3", "-replica-lag-max", "1m", "-addr-file", addrFile)
	srv.Cancel = func() error { return srv.Process.Signal(os.Interrupt) }
	exited := make(chan error, 1)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- srv.Wait() }()
	defer func() {
		cancel()
		<-exited
	}()
	var addrs struct {
		Brokers []string `json:"brokers"`
		API     string   `json:"api"`
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for addrs.API == "" {
		if b, err := os.ReadFile(addrFile); err == nil {
			if err := json.Unmarshal(b, &addrs); err != nil {
				t.Fatalf("-addr-file holds %q: %v", b, err)
			}
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("kafkaemu serve exited before writing %s: %v", addrFile, err)
		case <-ctx.Done():
			t.Fatalf("kafkaemu serve did not write %s: %v", addrFile, ctx.Err())
		case <-tick.C:
		}
	}
	brokers, api := strings.Join(addrs.Brokers, ","), addrs.API
	cmd := exec.CommandContext(ctx, nodeBin, "node/leaderloss.js", brokers, api)
	cmd.Env = append(os.Environ(), "KAFKAJS_NO_PARTITIONER_WARNING=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kafkajs: %v\n%s", err, out)
	}
	want := "acknowledged=10 consumed=5 lost=5 values=replicated-0,replicated-1,replicated-2,replicated-3,replicated-4"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("kafkajs printed\n%s\nwant\n%s", got, want)
	}
}
