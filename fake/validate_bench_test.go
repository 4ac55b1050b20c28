package fake_test

import (
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkValidation: BenchmarkProduceConsume's workload (200k records
// of 1 KiB produced with acks=all and consumed back) through the wire
// layer with request validation, without it (the wire layer before it),
// and straight to kfake, interleaved in every iteration.
func BenchmarkValidation(b *testing.B) {
	const records = 200_000
	value := make([]byte, 1024)
	rand.NewChaCha8([32]byte{1}).Read(value)
	var requests writes // what the clients send: each request is validated once
	run := func(addrs []string) time.Duration {
		return produceConsume(b, records, value, kgo.SeedBrokers(addrs...), kgo.WithHooks(&requests))
	}
	// On a shared machine wall time swings with the neighbours' load;
	// the CPU time the process spends on the same work swings much less.
	var checkedCPU, uncheckedCPU, rawCPU []time.Duration
	allocated := map[*[]time.Duration]uint64{}
	cpu := func(fn func() time.Duration, wall, used *[]time.Duration) {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		before := cpuTime()
		*wall = append(*wall, fn())
		*used = append(*used, cpuTime()-before)
		runtime.ReadMemStats(&m1)
		allocated[used] += m1.TotalAlloc - m0.TotalAlloc
	}
	emu := func(opts ...fake.Option) time.Duration {
		c, err := fake.New(append(opts, fake.Topic("bench", 3, 3))...)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		return run(c.Addrs())
	}
	var checked, unchecked, raw []time.Duration
	for i := 0; b.Loop(); i++ {
		cpu(func() time.Duration {
			kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "bench"))
			if err != nil {
				b.Fatal(err)
			}
			defer kc.Close()
			return run(kc.ListenAddrs())
		}, &raw, &rawCPU)
		// Alternate which wire layer goes first, so neither always
		// runs on a warmer machine.
		withCheck := func() { cpu(func() time.Duration { return emu() }, &checked, &checkedCPU) }
		withoutCheck := func() { cpu(func() time.Duration { return emu(fake.Unchecked()) }, &unchecked, &uncheckedCPU) }
		if i%2 == 0 {
			withCheck()
			withoutCheck()
		} else {
			withoutCheck()
			withCheck()
		}
	}
	b.Logf("CPU per run, in iteration order (validated first in even iterations): kfake %v, validated %v, unvalidated %v", rawCPU, checkedCPU, uncheckedCPU)
	mc, mu, mr := median(checked), median(unchecked), median(raw)
	b.ReportMetric(records/mc.Seconds(), "validated-rec/s")
	b.ReportMetric(records/mu.Seconds(), "unvalidated-rec/s")
	b.ReportMetric(records/mr.Seconds(), "kfake-rec/s")
	b.ReportMetric(float64(mc)/float64(mu), "wall-validated/unvalidated")
	b.ReportMetric(float64(mc)/float64(mr), "wall-validated/kfake")
	cc, cu, cr := median(checkedCPU), median(uncheckedCPU), median(rawCPU)
	b.ReportMetric(float64(cc)/float64(cu), "cpu-validated/unvalidated")
	b.ReportMetric(float64(cc)/float64(cr), "cpu-validated/kfake")
	b.ReportMetric(float64(cc.Milliseconds()), "cpu-ms-validated")
	b.ReportMetric(float64(cu.Milliseconds()), "cpu-ms-unvalidated")
	b.ReportMetric(float64(cr.Milliseconds()), "cpu-ms-kfake")
	b.ReportMetric(float64(requests.n.Load())/float64(len(raw)+len(checked)+len(unchecked)), "requests/run")
	perRun := func(cpu *[]time.Duration) float64 { return float64(allocated[cpu]) / float64(len(*cpu)) / (1 << 20) }
	b.ReportMetric(perRun(&checkedCPU), "MiB-alloc-validated")
	b.ReportMetric(perRun(&uncheckedCPU), "MiB-alloc-unvalidated")
	b.ReportMetric(perRun(&rawCPU), "MiB-alloc-kfake")
}

// writes counts the requests clients write.
type writes struct{ n atomic.Int64 }

func (w *writes) OnBrokerWrite(_ kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	if err == nil {
		w.n.Add(1)
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHugeAnnounced: a frame announcing 2 GiB whose client sends
// 1 MiB and hangs up. With MaxRequestBytes at its largest the length
// passes, so the frame is read; what it costs is measured against the
// bytes sent (B/op counts every allocation in the process, server side
// included).
func BenchmarkHugeAnnounced(b *testing.B) {
	c, err := fake.New(fake.Brokers(1), fake.MaxRequestBytes(math.MaxInt32))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const sent = 1 << 20
	payload := make([]byte, 4+sent)
	binary.BigEndian.PutUint32(payload, math.MaxInt32)
	b.ReportAllocs()
	b.SetBytes(sent)
	for b.Loop() {
		cn, err := net.Dial("tcp", c.Addrs()[0])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cn.Write(payload); err != nil {
			b.Fatal(err)
		}
		_ = cn.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, cn) // until the broker has read it all and hung up
		cn.Close()
	}
}
