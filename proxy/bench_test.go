package proxy_test

import (
	"context"
	"math/rand/v2"
	"slices"
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

// BenchmarkProxyThroughput: 100k records of 1 KiB produced with acks=all
// (uncompressed: every byte crosses the proxy) and consumed back, through
// the proxy with no fault active and straight to the upstream.
//
//	go test ./proxy -run XXX -bench ProxyThroughput -benchtime 5x
func BenchmarkProxyThroughput(b *testing.B) {
	const records = 100_000
	value := make([]byte, 1024)
	rand.NewChaCha8([32]byte{1}).Read(value)
	var viaProxy, direct, viaProxyP, directP []time.Duration
	i := 0
	for b.Loop() {
		up, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "direct", "proxied"))
		if err != nil {
			b.Fatal(err)
		}
		p := start(b, up.ListenAddrs())
		runs := []func(){
			func() {
				prod, all := benchtest.ProduceConsume(b, 5*time.Minute, "direct", records, value, kgo.SeedBrokers(up.ListenAddrs()...))
				direct, directP = append(direct, all), append(directP, prod)
			},
			func() {
				prod, all := benchtest.ProduceConsume(b, 5*time.Minute, "proxied", records, value, kgo.SeedBrokers(p.Addrs()...))
				viaProxy, viaProxyP = append(viaProxy, all), append(viaProxyP, prod)
			},
		}
		if i%2 == 1 {
			runs[0], runs[1] = runs[1], runs[0]
		}
		i++
		for _, run := range runs {
			run()
		}
		p.Close()
		up.Close()
	}
	mp, md := median(viaProxy), median(direct)
	b.ReportMetric(float64(records)/mp.Seconds(), "proxy-rec/s")
	b.ReportMetric(float64(records)/md.Seconds(), "direct-rec/s")
	b.ReportMetric(md.Seconds()/mp.Seconds(), "throughput-ratio")
	b.ReportMetric(median(directP).Seconds()/median(viaProxyP).Seconds(), "produce-ratio")
	b.ReportMetric((md-median(directP)).Seconds()/(mp-median(viaProxyP)).Seconds(), "consume-ratio")
}

// BenchmarkProxyLatency: what the proxy adds to one request: 2000
// acks=all produces of one 1 KiB record each, one at a time, through the
// proxy and direct to the same upstream, interleaved; p50 and p99 of
// each.
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
	newProducer := func(seeds []string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("lat"), kgo.ProducerLinger(0))
		if err != nil {
			b.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil { // connections and metadata
			b.Fatal(err)
		}
		return cl
	}
	viaP, directP := newProducer(p.Addrs()), newProducer(up.ListenAddrs())
	defer viaP.Close()
	defer directP.Close()
	var viaProxy, direct []time.Duration
	timed := func(cl *kgo.Client) time.Duration {
		t0 := time.Now()
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			viaProxy = append(viaProxy, timed(viaP))
			direct = append(direct, timed(directP))
		} else {
			direct = append(direct, timed(directP))
			viaProxy = append(viaProxy, timed(viaP))
		}
		i++
	}
	pct := func(ds []time.Duration, q float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds())
	}
	b.ReportMetric(pct(viaProxy, 0.5), "proxy-p50-µs")
	b.ReportMetric(pct(direct, 0.5), "direct-p50-µs")
	b.ReportMetric(pct(viaProxy, 0.99), "proxy-p99-µs")
	b.ReportMetric(pct(direct, 0.99), "direct-p99-µs")
	b.ReportMetric(pct(viaProxy, 0.5)-pct(direct, 0.5), "added-p50-µs")
	b.ReportMetric(pct(viaProxy, 0.99)-pct(direct, 0.99), "added-p99-µs")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
