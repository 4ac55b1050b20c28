package fake_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/internal/benchtest"
	"github.com/seed73168108/kafkaemu/internal/selfsigned"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The benchmarks interleave kafkaemu and raw kfake in every iteration and
// report both and their ratio, because this machine is shared and noisy:
// only a comparison within one run means anything.

func report(b *testing.B, emu, raw []time.Duration, unit string) {
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	me, mr := med(emu), med(raw)
	b.ReportMetric(float64(me.Microseconds())/1000, "kafkaemu-ms/"+unit)
	b.ReportMetric(float64(mr.Microseconds())/1000, "kfake-ms/"+unit)
	b.ReportMetric(float64(me)/float64(mr), "ratio")
}

// BenchmarkStartClose: a 3-broker cluster started and closed, kafkaemu
// (fake.New, which harness.Start calls) next to kfake.NewCluster.
func BenchmarkStartClose(b *testing.B) {
	var emu, raw []time.Duration
	for b.Loop() {
		t0 := time.Now()
		kc, err := kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			b.Fatal(err)
		}
		kc.Close()
		t1 := time.Now()
		c, err := fake.New(fake.Brokers(3))
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
		t2 := time.Now()
		raw = append(raw, t1.Sub(t0))
		emu = append(emu, t2.Sub(t1))
	}
	report(b, emu, raw, "start+close")
}

// BenchmarkProduceConsume: 200k records of 1 KiB produced with acks=all
// and consumed back, through kafkaemu's wire layer (no fault active) and
// straight to kfake.
func BenchmarkProduceConsume(b *testing.B) {
	compareProduceConsume(b, nil, nil)
}

// compareProduceConsume runs the 200k-record workload against kafkaemu
// (fake.New with fopts) and raw kfake (kfake.NewCluster with kopts) in
// turn, each iteration both, and reports both and their ratio. copts go
// to the clients.
func compareProduceConsume(b *testing.B, kopts []kfake.Opt, fopts []fake.Option, copts ...kgo.Opt) {
	const records = 200_000
	value := make([]byte, 1024)
	rand.NewChaCha8([32]byte{1}).Read(value)
	run := func(addrs []string) time.Duration {
		return produceConsume(b, records, value, append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, copts...)...)
	}
	var emu, raw []time.Duration
	for b.Loop() {
		kc, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(3, "bench")}, kopts...)...)
		if err != nil {
			b.Fatal(err)
		}
		raw = append(raw, run(kc.ListenAddrs()))
		kc.Close()
		c, err := fake.New(append([]fake.Option{fake.Topic("bench", 3, 3)}, fopts...)...)
		if err != nil {
			b.Fatal(err)
		}
		emu = append(emu, run(c.Addrs()))
		c.Close()
	}
	report(b, emu, raw, "200k")
	// Throughput ratio: kafkaemu records/s over kfake records/s.
	b.ReportMetric(float64(records)/median(emu).Seconds(), "kafkaemu-rec/s")
	b.ReportMetric(float64(records)/median(raw).Seconds(), "kfake-rec/s")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkFailover: time from FailLeader to the producer's next
// acknowledged acks=all write, with harness client settings; next to raw
// kfake's MoveTopicPartition (a leader move without replication) with the
// same client.
func BenchmarkFailover(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := harness.Start(b, fake.Topic("f", 1, 3, map[string]string{"min.insync.replicas": "2"}))
	kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer kc.Close()
	emuP := c.Client(b, kgo.DefaultProduceTopic("f"))
	rawP := c.Client(b, kgo.SeedBrokers(kc.ListenAddrs()...), kgo.DefaultProduceTopic("f"))
	for _, p := range []*kgo.Client{emuP, rawP} {
		if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	var emu, raw []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.FailLeader("f", 0); err != nil {
			b.Fatal(err)
		}
		if err := emuP.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		next := (kc.LeaderFor("f", 0) + 1) % 3
		if err := kc.MoveTopicPartition("f", 0, next); err != nil {
			b.Fatal(err)
		}
		if err := rawP.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
			b.Fatal(err)
		}
		emu = append(emu, t1.Sub(t0))
		raw = append(raw, time.Since(t1))
	}
	report(b, emu, raw, "failover")
}

// produceConsume is benchtest.ProduceConsume to topic "bench": how long
// producing and consuming records copies of value took.
func produceConsume(b *testing.B, records int, value []byte, opts ...kgo.Opt) time.Duration {
	b.Helper()
	_, all := benchtest.ProduceConsume(b, 2*time.Minute, "bench", records, value, opts...)
	return all
}

// BenchmarkProduceConsumeTLS: BenchmarkProduceConsume over TLS, kafkaemu
// (fake.TLS: TLS ends in the wire layer, plaintext to kfake) next to raw
// kfake with kfake.TLS, the same self-signed certificate for both.
func BenchmarkProduceConsumeTLS(b *testing.B) {
	cert, err := selfsigned.New()
	if err != nil {
		b.Fatal(err)
	}
	compareProduceConsume(b, []kfake.Opt{kfake.TLS(cert.ServerConfig())}, []fake.Option{fake.TLS(cert.ServerConfig())},
		kgo.DialTLSConfig(cert.ClientConfig()))
}
