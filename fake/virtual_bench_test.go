package fake_test

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// silentMember joins group g through cl by hand with a 45 s session and
// rebalance timeout, syncs, and then never heartbeats again.
func silentMember(t *testing.T, cl *kgo.Client, topic string) {
	t.Helper()
	ctx := t.Context()
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	join := func(memberID string) *kmsg.JoinGroupResponse {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = "g", memberID, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 45000, 45000
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", meta.AppendTo(nil)
		req.Protocols = append(req.Protocols, p)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := join("")
	gen := join(first.MemberID)
	if gen.ErrorCode != 0 {
		t.Fatalf("join: error %d", gen.ErrorCode)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = "g", first.MemberID, gen.Generation
	if resp, err := sync.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("sync: %v %v", err, resp)
	}
}

// expiryRun is one 45 s session expiry in a bubble: a member stops
// heartbeating, a kgo consumer joins, and its join waits until the silent
// member's session runs out; it returns when the consumer alone owns
// the group. dial and addrs reach the cluster; info reads kfake's group.
func expiryRun(t *testing.T, addrs []string, dial func(ctx context.Context, network, host string) (net.Conn, error), info func() *kfake.GroupInfo) {
	raw, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.Dialer(dial))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	silentMember(t, raw, "t")
	start := time.Now()
	cons, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.Dialer(dial), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"),
		kgo.DisableAutoCommit(), kgo.RebalanceTimeout(45*time.Second), kgo.ClientID("consumer"))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for {
		gi := info()
		if gi != nil && gi.State == "Stable" && len(gi.Members) == 1 && gi.Members[0].ClientID == "consumer" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if waited := time.Since(start); waited < 40*time.Second {
		t.Fatalf("the silent member was expelled after %v", waited)
	}
}

// TestBenchSessionExpiry measures a 45 s session expiry in a bubble,
// kafkaemu (fake.VirtualNetwork) next to raw kfake with its
// VirtualNetwork, interleaved in one run (the machine is shared: only
// ratios within a run mean anything). Run with KAFKAEMU_BENCH=1 -v.
func TestBenchSessionExpiry(t *testing.T) {
	if os.Getenv("KAFKAEMU_BENCH") == "" {
		t.Skip("a benchmark; run with KAFKAEMU_BENCH=1 -v")
	}
	var emu, raw []time.Duration
	for range 7 {
		t0 := time.Now()
		synctest.Test(t, func(t *testing.T) {
			var vn kfake.VirtualNetwork
			kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(vn.Listen), kfake.SeedTopics(2, "t"))
			if err != nil {
				t.Fatal(err)
			}
			defer kc.Close()
			expiryRun(t, kc.ListenAddrs(), vn.DialContext, func() *kfake.GroupInfo { return kc.GroupInfo("g") })
		})
		t1 := time.Now()
		synctest.Test(t, func(t *testing.T) {
			c, err := fake.New(fake.VirtualNetwork(), fake.Brokers(1), fake.Topic("t", 2, 1))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			expiryRun(t, c.Addrs(), c.DialContext, func() *kfake.GroupInfo { return c.Kfake().GroupInfo("g") })
		})
		t2 := time.Now()
		raw, emu = append(raw, t1.Sub(t0)), append(emu, t2.Sub(t1))
	}
	me, mr := median(emu), median(raw)
	t.Logf("45 s session expiry in a bubble (wall, median of %d): kafkaemu %v, raw kfake+kgo %v, ratio %.2f", len(emu), me, mr, float64(me)/float64(mr))
}

// BenchmarkProduceConsumeVirtual: 50k records of 1 KiB produced with
// acks=all and consumed back through kafkaemu, over the virtual network
// and over TCP loopback, interleaved in one run.
func BenchmarkProduceConsumeVirtual(b *testing.B) {
	const records = 50_000
	value := make([]byte, 1024)
	rand.NewChaCha8([32]byte{2}).Read(value)
	run := func(c *fake.Cluster) time.Duration {
		return produceConsume(b, records, value, kgo.SeedBrokers(c.Addrs()...), kgo.Dialer(c.DialContext))
	}
	var virt, tcp []time.Duration
	for b.Loop() {
		for _, virtual := range []bool{false, true} {
			opts := []fake.Option{fake.Topic("bench", 3, 3)}
			if virtual {
				opts = append(opts, fake.VirtualNetwork())
			}
			c, err := fake.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			d := run(c)
			c.Close()
			if virtual {
				virt = append(virt, d)
			} else {
				tcp = append(tcp, d)
			}
		}
	}
	b.ReportMetric(float64(records)/median(virt).Seconds(), "virtual-rec/s")
	b.ReportMetric(float64(records)/median(tcp).Seconds(), "tcp-rec/s")
	b.ReportMetric(float64(median(tcp))/float64(median(virt)), "virtual/tcp-throughput")
}
