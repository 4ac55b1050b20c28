package fake_test

import (
	"context"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fenceProducer is the producer the fencing benchmark writes with: acks=all
// and idempotent, harness's retry backoff and metadata ages, and a short
// request timeout (REQUEST_TIMED_OUT from the isolated leader comes after
// it, so it bounds how long the producer stays with that leader).
func fenceProducer(t testing.TB, addrs []string, dial func(ctx context.Context, network, host string) (net.Conn, error)) *kgo.Client {
	opts := []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("f"),
		kgo.ProduceRequestTimeout(100 * time.Millisecond), kgo.MetadataMinAge(10 * time.Millisecond), kgo.MetadataMaxAge(100 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond })}
	if dial != nil {
		opts = append(opts, kgo.Dialer(dial))
	}
	p, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fenceRun isolates f/0's leader and returns how long the controller took
// to fence it (the broker-fenced event) and how long until the producer's
// next write was acknowledged (by the new leader), then FailLeader's
// time to the next acknowledged write with the same producer.
func fenceRun(t testing.TB, c *fake.Cluster, p *kgo.Client) (fenced, firstAck, failover time.Duration) {
	ctx := context.Background()
	if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Partition("f", 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	h, err := c.AddFault(fake.Isolate(st.Leader))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	firstAck = time.Since(t0)
	for _, e := range c.Journal() {
		if e.Kind == fake.EventBrokerFenced {
			fenced = e.Time.Sub(t0)
		}
	}
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitPartition(ctx, "f", 0, func(s fake.PartitionState) bool { return len(s.ISR) == 3 }); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	if _, err := c.FailLeader("f", 0); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("y")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return fenced, firstAck, time.Since(t1)
}

// TestBenchFencing measures Isolate's fencing: on the real clock with a
// 2 s broker session timeout, isolate -> broker-fenced and isolate -> the
// producer's first write acknowledged by the new leader, next to
// FailLeader -> next acknowledged write with the same producer; and in a
// synctest bubble with the 9 s default, the same in virtual time and what
// the whole run costs on the wall clock, next to a raw kfake bubble that
// waits the same 9 s and moves the leader (kfake cannot fence). Run with
// KAFKAEMU_BENCH=1 -v.
func TestBenchFencing(t *testing.T) {
	if os.Getenv("KAFKAEMU_BENCH") == "" {
		t.Skip("a benchmark; run with KAFKAEMU_BENCH=1 -v")
	}
	const real = 2 * time.Second
	var fenced, acked, failover, vFenced, vAcked, vFailover, vWall, rawWall []time.Duration
	for range 5 {
		c, err := fake.New(fake.Topic("f", 1, 3, map[string]string{"min.insync.replicas": "2"}), fake.BrokerSessionTimeout(real))
		if err != nil {
			t.Fatal(err)
		}
		p := fenceProducer(t, c.Addrs(), nil)
		f, a, fo := fenceRun(t, c, p)
		p.Close()
		c.Close()
		fenced, acked, failover = append(fenced, f), append(acked, a), append(failover, fo)

		t0 := time.Now()
		synctest.Test(t, func(t *testing.T) {
			c, err := fake.New(fake.VirtualNetwork(), fake.Topic("f", 1, 3, map[string]string{"min.insync.replicas": "2"}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p := fenceProducer(t, c.Addrs(), c.DialContext)
			defer p.Close()
			f, a, fo := fenceRun(t, c, p)
			vFenced, vAcked, vFailover = append(vFenced, f), append(vAcked, a), append(vFailover, fo)
		})
		t1 := time.Now()
		synctest.Test(t, func(t *testing.T) {
			var vn kfake.VirtualNetwork
			kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.Ports(9092, 9093, 9094), kfake.ListenFn(vn.Listen), kfake.SeedTopics(1, "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer kc.Close()
			p := fenceProducer(t, kc.ListenAddrs(), vn.DialContext)
			defer p.Close()
			ctx := context.Background()
			if err := p.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(fake.DefaultBrokerSessionTimeout)
			if err := kc.MoveTopicPartition("f", 0, (kc.LeaderFor("f", 0)+1)%3); err != nil {
				t.Fatal(err)
			}
			if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
				t.Fatal(err)
			}
		})
		vWall, rawWall = append(vWall, t1.Sub(t0)), append(rawWall, time.Since(t1))
	}
	ratio := func(d, of time.Duration) float64 { return float64(d) / float64(of) }
	t.Logf("real clock, broker session timeout %v (median of %d): isolate -> broker-fenced %v (%.3f×), isolate -> first ack on the new leader %v (%.3f×); FailLeader -> next ack %v",
		real, len(acked), median(fenced), ratio(median(fenced), real), median(acked), ratio(median(acked), real), median(failover))
	t.Logf("bubble, default %v (virtual time): isolate -> broker-fenced %v (%.3f×), isolate -> first ack %v (%.3f×); FailLeader -> next ack %v",
		fake.DefaultBrokerSessionTimeout, median(vFenced), ratio(median(vFenced), fake.DefaultBrokerSessionTimeout), median(vAcked),
		ratio(median(vAcked), fake.DefaultBrokerSessionTimeout), median(vFailover))
	t.Logf("bubble wall clock: kafkaemu isolate+fence+heal+FailLeader run %v, raw kfake bubble sleeping 9 s and moving the leader %v, ratio %.2f",
		median(vWall), median(rawWall), ratio(median(vWall), median(rawWall)))
}
