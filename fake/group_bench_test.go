package fake_test

import (
	"context"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkSecondMember: time from a second group member starting to both
// members owning partitions, for each group protocol: kafkaemu with
// harness client defaults next to raw kfake with kgo's defaults (what a
// test gets without kafkaemu), in the same run.
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
				emu = append(emu, secondMember(b, c.Kfake(), func() *kgo.Client { return c.Client(b, opts...) }))
				c.Close()

				// raw kfake, kgo defaults.
				kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(4, "t"))
				if err != nil {
					b.Fatal(err)
				}
				raw = append(raw, secondMember(b, kc, func() *kgo.Client {
					cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(kc.ListenAddrs()...)}, opts...)...)
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

func secondMember(b *testing.B, kc *kfake.Cluster, newClient func() *kgo.Client) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	poll := func(cl *kgo.Client) func() {
		pctx, pcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for pctx.Err() == nil {
				cl.PollFetches(pctx)
			}
		}()
		return func() { pcancel(); <-done; cl.Close() }
	}
	stop1 := poll(newClient())
	defer stop1()
	if _, err := kc.WaitGroupInfo(ctx, "g", func(gi *kfake.GroupInfo) bool {
		return gi != nil && gi.State == "Stable" && len(gi.Members) == 1 && gi.NumAssigned() == 4
	}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	stop2 := poll(newClient())
	defer stop2()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		gi := kc.GroupInfo("g")
		if gi != nil && gi.State == "Stable" && len(gi.Members) == 2 && gi.Members[0].NumAssigned() > 0 && gi.Members[1].NumAssigned() > 0 && gi.NumAssigned() == 4 {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			b.Fatal("second member never got partitions")
		case <-tick.C:
		}
	}
}
