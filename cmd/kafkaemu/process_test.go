package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildKafkaemu builds this command into a temporary directory and
// returns the binary's path (the test is skipped with -short).
func buildKafkaemu(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "kafkaemu")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startKafkaemu runs `bin args...` (serve or proxy) as its own process
// until the test ends, when it is sent SIGTERM and must exit cleanly
// within 30 s. It returns the broker addresses and the fault API's
// address the process prints.
func startKafkaemu(t *testing.T, bin string, args ...string) (brokers []string, api string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("kafkaemu %s ended with %v", args[0], err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("kafkaemu %s did not stop on SIGTERM", args[0])
		}
	})
	lines := bufio.NewScanner(stdout)
	for (brokers == nil || api == "") && lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "kafkaemu: brokers "); ok {
			brokers = strings.Split(strings.Fields(rest)[0], ",")
		}
		if rest, ok := strings.CutPrefix(line, "kafkaemu: fault API "); ok {
			api = rest
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	if brokers == nil || api == "" {
		t.Fatalf("kafkaemu %s printed no brokers and API address", args[0])
	}
	return brokers, api
}
