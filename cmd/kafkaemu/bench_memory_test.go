package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkServeMemory is the memory of `kafkaemu serve -journal-max
// 100000` as a long suite fills it with small acks=1 records, next to raw
// kfake (3 brokers, the same topic) loaded the same way in the same run:
// each is its own process, and its resident set (VmRSS) is read after
// every million acknowledged records. Records go in batches of about ten
// (a suite writes small batches), so the journal sees millions of events
// and its bound matters. KAFKAEMU_BENCH_RECORDS sets the count (default 2
// million; docs/benchmarks.md has 10 million):
//
//	KAFKAEMU_BENCH_RECORDS=10000000 go test -run '^$' -bench ServeMemory -benchtime 1x ./cmd/kafkaemu
func BenchmarkServeMemory(b *testing.B) {
	n := 2_000_000
	if s := os.Getenv("KAFKAEMU_BENCH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1_000_000 {
			b.Fatalf("KAFKAEMU_BENCH_RECORDS=%q: want a whole number of at least 1000000", s)
		}
		n = v
	}
	for _, target := range []struct {
		name string
		env  string
		args []string
	}{
		{"serve", "KAFKAEMU_TEST_MAIN=1", []string{"serve", "-topic", "bench:3:3", "-journal-max", "100000"}},
		{"raw-kfake", "KAFKAEMU_TEST_RAW_KFAKE=1", nil},
	} {
		b.Run(target.name, func(b *testing.B) {
			for range b.N {
				rss := memoryUnderLoad(b, target.env, target.args, n)
				// MB per million records: the slope from the first million
				// on (the start-up and the first million are the constant).
				slope := (rss[len(rss)-1] - rss[0]) / float64(len(rss)-1)
				b.ReportMetric(slope, "MB/Mrecords")
				b.ReportMetric(rss[len(rss)-1], "MB-at-end")
				b.Logf("%s: VmRSS in MB after each million records: %.0f", target.name, rss)
			}
		})
	}
}

// memoryUnderLoad starts this test binary as env says, writes n records
// and returns its VmRSS (MB) after every million.
func memoryUnderLoad(b *testing.B, env string, args []string, n int) []float64 {
	b.Helper()
	addrFile := filepath.Join(b.TempDir(), "addrs.json")
	cmd := exec.Command(os.Args[0], append(args, "-addr-file", addrFile)...)
	if args == nil {
		cmd = exec.Command(os.Args[0], addrFile)
	}
	cmd.Env = append(os.Environ(), env)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	var a addrs
	deadline := time.Now().Add(30 * time.Second)
	for {
		if raw, err := os.ReadFile(addrFile); err == nil && json.Unmarshal(raw, &a) == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the cluster did not write its addresses in 30 s")
		}
		time.Sleep(5 * time.Millisecond) // a benchmark's start-up, not a test's wait
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.Brokers...), kgo.DefaultProduceTopic("bench"), kgo.RequiredAcks(kgo.LeaderAck()),
		kgo.DisableIdempotentWrite(), kgo.ProducerBatchMaxBytes(512), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	value := []byte("0123456789abcdef") // 16 bytes, as small records are
	var rss []float64
	for done := 0; done < n; {
		step := min(1_000_000, n-done)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var first error
		wg.Add(step)
		for range step {
			cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
				if err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
				}
				wg.Done()
			})
		}
		wg.Wait()
		if first != nil {
			b.Fatal(first)
		}
		done += step
		rss = append(rss, vmRSS(b, cmd.Process.Pid))
	}
	if a.API != "" { // serve: say how much of the journal its bound dropped
		resp, err := http.Get(a.API + "/journal")
		if err != nil {
			b.Fatal(err)
		}
		kept, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.Logf("journal: %s events dropped from memory, %d bytes of JSON kept", resp.Header.Get(droppedHeader), kept)
	}
	return rss
}

// vmRSS is pid's resident set in MB.
func vmRSS(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc here: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// rawKfake runs kfake alone with BenchmarkServeMemory's topic until its
// stdin closes, writing its addresses to the file os.Args[1] names.
func rawKfake() {
	kf, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "bench"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer kf.Close()
	raw, _ := json.Marshal(addrs{Brokers: kf.ListenAddrs()})
	if err := os.WriteFile(os.Args[1], raw, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString(0) // until stdin closes
}
