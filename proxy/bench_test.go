package proxy_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/internal/benchtest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The benchmarks run the proxy and a direct connection to the same raw
// kfake upstream in the same iterations, alternating which goes first,
// and report both and their ratio: on a shared machine only a comparison
// within one run means anything.

// BenchmarkProxyThroughput: 300k records of 1 KiB produced with acks=all
// (uncompressed: every byte crosses the proxy) and consumed back, four
// ways in each round, in turn first:
//
//   - direct: straight to the upstream;
//   - proxy: through the proxy, the client in the proxy's process
//     dialing it through memory (Proxy.DialContext: what harness's
//     clients do in front of a real cluster);
//   - proxy-tcp: through the proxy's TCP listeners (what `kafkaemu proxy`
//     serves to clients in other processes);
//   - relay: through a plain TCP relay that only copies bytes (splice,
//     no parsing, no journal): what any extra loopback hop costs here.
//
// Each way runs on a fresh upstream (a kfake cluster keeps every record,
// and a later run on a fuller cluster is slower) after a GC; a ballast
// keeps the heap goal large so that memory freed by one run is reused,
// not returned to the OS and faulted in again by the next (page faults
// made runs of the same way differ by 2× on this VM). Ratios are per
// round (the ways of one round ran within seconds of each other), their
// median reported.
//
//	go test ./proxy -run XXX -bench ProxyThroughput -benchtime 15x
func BenchmarkProxyThroughput(b *testing.B) {
	const records = 300_000
	value := make([]byte, 1024)
	rand.NewChaCha8([32]byte{1}).Read(value)
	ballast := make([]byte, 4<<30) // never touched: no memory, only a heap goal
	defer runtime.KeepAlive(ballast)

	type way struct {
		name  string
		opts  func(up *kfake.Cluster) ([]kgo.Opt, func())
		times []time.Duration
		prods []time.Duration
	}
	ways := []*way{
		{name: "direct", opts: func(up *kfake.Cluster) ([]kgo.Opt, func()) {
			return []kgo.Opt{kgo.SeedBrokers(up.ListenAddrs()...)}, func() {}
		}},
		{name: "proxy", opts: func(up *kfake.Cluster) ([]kgo.Opt, func()) {
			p := start(b, up.ListenAddrs())
			return []kgo.Opt{kgo.SeedBrokers(p.Addrs()...), kgo.Dialer(p.DialContext)}, func() { p.Close() }
		}},
		{name: "proxy-tcp", opts: func(up *kfake.Cluster) ([]kgo.Opt, func()) {
			p := start(b, up.ListenAddrs())
			return []kgo.Opt{kgo.SeedBrokers(p.Addrs()...)}, func() { p.Close() }
		}},
		{name: "relay", opts: func(up *kfake.Cluster) ([]kgo.Opt, func()) {
			dial, stop := relay(b, up.ListenAddrs())
			return []kgo.Opt{kgo.SeedBrokers(up.ListenAddrs()...), kgo.Dialer(dial)}, stop
		}},
	}
	run := func(w *way) (time.Duration, time.Duration) {
		up, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "t"))
		if err != nil {
			b.Fatal(err)
		}
		defer up.Close()
		opts, stop := w.opts(up)
		defer stop()
		runtime.GC()
		prod, all := benchtest.ProduceConsume(b, 5*time.Minute, "t", records, value, opts...)
		return prod, all
	}
	run(ways[0]) // warm up: the first run of a process is slower
	ratios := map[string][]float64{}
	round := 0
	for b.Loop() {
		for i := range ways {
			w := ways[(round+i)%len(ways)]
			prod, all := run(w)
			w.times, w.prods = append(w.times, all), append(w.prods, prod)
		}
		direct, directProd := ways[0].times[round], ways[0].prods[round]
		for _, w := range ways[1:] {
			ratios[w.name] = append(ratios[w.name], direct.Seconds()/w.times[round].Seconds())
			ratios[w.name+"-produce"] = append(ratios[w.name+"-produce"], directProd.Seconds()/w.prods[round].Seconds())
			ratios[w.name+"-consume"] = append(ratios[w.name+"-consume"], (direct-directProd).Seconds()/(w.times[round]-w.prods[round]).Seconds())
		}
		round++
	}
	b.ReportMetric(float64(records)/median(ways[0].times).Seconds(), "direct-rec/s")
	for _, w := range ways[1:] {
		b.ReportMetric(float64(records)/median(w.times).Seconds(), w.name+"-rec/s")
		b.ReportMetric(medianOf(ratios[w.name]), w.name+"-ratio")
		b.ReportMetric(medianOf(ratios[w.name+"-produce"]), w.name+"-produce-ratio")
		b.ReportMetric(medianOf(ratios[w.name+"-consume"]), w.name+"-consume-ratio")
	}
}

// relay is a plain TCP relay in front of each of addrs (io.Copy both
// ways: splice on Linux) and a kgo dialer that goes through it.
func relay(b *testing.B, addrs []string) (dial func(context.Context, string, string) (net.Conn, error), stop func()) {
	to := map[string]string{}
	var lns []net.Listener
	var wg sync.WaitGroup
	for _, a := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lns = append(lns, ln)
		to[a] = ln.Addr().String()
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					defer c.Close()
					u, err := net.Dial("tcp", a)
					if err != nil {
						return
					}
					defer u.Close()
					go func() { _, _ = io.Copy(u, c); u.Close() }()
					_, _ = io.Copy(c, u)
				})
			}
		})
	}
	var d net.Dialer
	dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if r, ok := to[addr]; ok {
			addr = r
		}
		return d.DialContext(ctx, network, addr)
	}
	return dial, func() {
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
	}
}

// BenchmarkProxyLatency: what the proxy adds to one request: 2000
// acks=all produces of one 1 KiB record each, one at a time, direct to
// the upstream, through the proxy in memory (DialContext) and through its
// TCP listeners, interleaved (in turn first); p50 and p99 of each, and
// what each proxy path adds over direct.
//
//	go test ./proxy -run XXX -bench ProxyLatency -benchtime 2000x
func BenchmarkProxyLatency(b *testing.B) {
	up, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "lat"))
	if err != nil {
		b.Fatal(err)
	}
	defer up.Close()
	p := start(b, up.ListenAddrs())
	value := make([]byte, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	newProducer := func(opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic("lat"), kgo.ProducerLinger(0))...)
		if err != nil {
			b.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil { // connections and metadata
			b.Fatal(err)
		}
		return cl
	}
	ways := []struct {
		name  string
		cl    *kgo.Client
		times []time.Duration
	}{
		{name: "direct", cl: newProducer(kgo.SeedBrokers(up.ListenAddrs()...))},
		{name: "proxy", cl: newProducer(kgo.SeedBrokers(p.Addrs()...), kgo.Dialer(p.DialContext))},
		{name: "proxy-tcp", cl: newProducer(kgo.SeedBrokers(p.Addrs()...))},
	}
	for _, w := range ways {
		defer w.cl.Close()
	}
	i := 0
	for b.Loop() {
		for j := range ways {
			w := &ways[(i+j)%len(ways)]
			t0 := time.Now()
			if err := w.cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
				b.Fatal(err)
			}
			w.times = append(w.times, time.Since(t0))
		}
		i++
	}
	pct := func(ds []time.Duration, q float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds())
	}
	for _, w := range ways {
		b.ReportMetric(pct(w.times, 0.5), w.name+"-p50-µs")
		b.ReportMetric(pct(w.times, 0.99), w.name+"-p99-µs")
	}
	for _, w := range ways[1:] {
		b.ReportMetric(pct(w.times, 0.5)-pct(ways[0].times, 0.5), w.name+"-added-p50-µs")
		b.ReportMetric(pct(w.times, 0.99)-pct(ways[0].times, 0.99), w.name+"-added-p99-µs")
	}
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
