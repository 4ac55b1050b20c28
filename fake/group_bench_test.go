package fake_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkSecondMember: time from a second group member starting to both
// members consuming (each has polled a record written after it started,
// with a record going to every partition every 2 ms), for each group
// protocol: kafkaemu with harness client defaults next to raw kfake with
// kgo's defaults (what a test gets without kafkaemu), in the same run.
func BenchmarkSecondMember(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts []kgo.Opt
	}{
		{"eager", []kgo.Opt{kgo.Balancers(kgo.RangeBalancer())}},
		{"cooperative-sticky", []kgo.Opt{kgo.Balancers(kgo.CooperativeStickyBalancer())}},
		{"kip848", []kgo.Opt{kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer()}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			var emu, raw []time.Duration
			for b.Loop() {
				// kafkaemu, harness defaults.
				c := harness.Start(b, fake.Topic("t", 4, 3))
				opts := append([]kgo.Opt{kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t")}, mode.opts...)
				producerOpts := []kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic("t")}
				emu = append(emu, secondMember(b, c.Kfake(), func(member bool) *kgo.Client {
					if !member {
						return c.Client(b, producerOpts...)
					}
					return c.Client(b, opts...)
				}))
				c.Close()

				// raw kfake, kgo defaults.
				kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(4, "t"))
				if err != nil {
					b.Fatal(err)
				}
				raw = append(raw, secondMember(b, kc, func(member bool) *kgo.Client {
					o := producerOpts
					if member {
						o = opts
					}
					cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(kc.ListenAddrs()...)}, o...)...)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(cl.Close)
					return cl
				}))
				kc.Close()
			}
			report(b, emu, raw, "second-member")
		})
	}
}

// secondMember measures one second member; newClient(true) is a group
// member, newClient(false) the producer.
func secondMember(b *testing.B, kc *kfake.Cluster, newClient func(member bool) *kgo.Client) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var polled [2]atomic.Int64
	poll := func(i int, cl *kgo.Client) func() {
		pctx, pcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for pctx.Err() == nil {
				polled[i].Add(int64(cl.PollFetches(pctx).NumRecords()))
			}
		}()
		return func() { pcancel(); <-done; cl.Close() }
	}
	stop1 := poll(0, newClient(true))
	defer stop1()
	if _, err := kc.WaitGroupInfo(ctx, "g", func(gi *kfake.GroupInfo) bool {
		return gi != nil && gi.State == "Stable" && len(gi.Members) == 1 && gi.NumAssigned() == 4
	}); err != nil {
		b.Fatal(err)
	}
	producer := newClient(false)
	start := time.Now()
	stop2 := poll(1, newClient(true))
	defer stop2()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if polled[0].Load() > 0 && polled[1].Load() > 0 {
			return time.Since(start)
		}
		for p := int32(0); p < 4; p++ {
			producer.Produce(ctx, &kgo.Record{Partition: p, Value: []byte("x")}, nil)
		}
		select {
		case <-ctx.Done():
			b.Fatal("the second member never consumed")
		case <-tick.C:
		}
	}
}
