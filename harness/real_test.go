package harness_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// realUpstream is a raw kfake cluster (not kafkaemu) that Start fronts
// through KAFKAEMU_BOOTSTRAP, with a topic that is not the test's; it
// returns the cluster's addresses, for the test's own direct look.
func realUpstream(t *testing.T) []string {
	t.Helper()
	up, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "someone-elses"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(up.Close)
	t.Setenv(harness.BootstrapEnv, up.ListenAddrs()[0])
	t.Setenv(harness.TopicPrefixEnv, "kt-")
	return up.ListenAddrs()
}

// upstreamTopics lists the upstream's topics with a client of its own
// (kgo keeps Metadata answers for a while: a new client asks afresh).
func upstreamTopics(t *testing.T, addrs []string) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ts, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ts.Names()
}

// TestRealCluster: with KAFKAEMU_BOOTSTRAP set, one test written for the
// emulator runs against a real cluster through the fault proxy: its topic
// is created under c.Name (prefix, name, suffix) and deleted afterwards,
// leaving the cluster's other topics alone; the harness clients, History,
// BrokerHistory and a network fault work unchanged, and the duplicate a
// dropped produce answer causes is found by both checks.
func TestRealCluster(t *testing.T) {
	direct := realUpstream(t)
	var name string
	t.Run("suite", func(t *testing.T) {
		c := harness.Start(t, fake.Topic("t", 1, 3))
		if !c.Real() {
			t.Fatal("Start did not front the real cluster")
		}
		name = c.Name("t")
		if !strings.HasPrefix(name, "kt-t-") {
			t.Fatalf("the test's topic is %q, want kt-t-<suffix>", name)
		}
		if !slices.Contains(upstreamTopics(t, direct), name) {
			t.Fatalf("the upstream has no topic %s: %v", name, upstreamTopics(t, direct))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		p := c.Client(t, kgo.DefaultProduceTopic(name), kgo.DisableIdempotentWrite(), kgo.WithHooks(c.Recorder("producer")))
		produceN(t, ctx, p, "a-", 3)
		if _, err := c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(1)); err != nil {
			t.Fatal(err)
		}
		produceN(t, ctx, p, "b-", 3) // b-0 is stored twice: the first answer was lost
		consumer := c.Client(t, kgo.ConsumerGroup(c.Name("g")), kgo.ConsumeTopics(name), kgo.WithHooks(c.Recorder("consumer")))
		consumeUntil(t, ctx, consumer, 7)
		if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitCommitted(ctx, c.Name("g"), name); err != nil {
			t.Fatal(err)
		}

		assertions.AtLeastOnce(t, c.History())
		if r := assertions.Check(c.History()); r.Count(assertions.Duplicate) != 1 {
			t.Errorf("client-side: %d duplicates, want 1\n%s", r.Count(assertions.Duplicate), r)
		}
		if r := assertions.Check(c.BrokerHistory(t)); r.Count(assertions.Duplicate) != 1 {
			t.Errorf("broker-side, from the proxy's journal and the upstream's log: %d duplicates, want 1\n%s", r.Count(assertions.Duplicate), r)
		}
		if st, err := c.Partition(name, 0); err != nil || st.HighWatermark != 7 {
			t.Errorf("Partition: %+v %v; want high watermark 7", st, err)
		}
		if gs, err := c.Groups(); err != nil || !slices.Equal(gs, []string{c.Name("g")}) {
			t.Errorf("Groups: %v %v", gs, err)
		}
		leader, err := c.FailLeader(name, 0)
		if err != nil {
			t.Fatal(err)
		}
		produceN(t, ctx, p, "c-", 1)
		if st, _ := c.Partition(name, 0); st.Leader != leader {
			t.Errorf("leader %d after FailLeader answered %d", st.Leader, leader)
		}
	})
	if slices.Contains(upstreamTopics(t, direct), name) {
		t.Errorf("the test's topic %s outlived the test", name)
	}
	if !slices.Contains(upstreamTopics(t, direct), "someone-elses") {
		t.Error("cleanup deleted a topic that was not the test's")
	}
}

// TestRealClusterSkipsEmulatorVerbs: a verb only the emulator has, or an
// option only it honours, skips the test and says which and why.
func TestRealClusterSkipsEmulatorVerbs(t *testing.T) {
	realUpstream(t)
	for name, fn := range map[string]func(t *testing.T){
		"KillBroker": func(t *testing.T) {
			c := harness.Start(t)
			_ = c.KillBroker(0)
			t.Error("KillBroker returned on a real cluster")
		},
		"PauseReplication": func(t *testing.T) {
			c := harness.Start(t, fake.Topic("t", 1, 1))
			_ = c.PauseReplication(c.Name("t"), 0)
			t.Error("PauseReplication returned on a real cluster")
		},
		"fake.VirtualNetwork": func(t *testing.T) {
			harness.Start(t, fake.VirtualNetwork())
			t.Error("Start with VirtualNetwork returned on a real cluster")
		},
	} {
		var skipped bool
		t.Run(name, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			fn(t)
		})
		if !skipped {
			t.Errorf("%s: the test was not skipped", name)
		}
	}
}

// TestRealClusterGroups: Group and WaitGroup on a real cluster describe
// a classic group (DescribeGroups) and a KIP-848 consumer group
// (ConsumerGroupDescribe, with its epoch) alike: members, assignment,
// commits.
func TestRealClusterGroups(t *testing.T) {
	realUpstream(t)
	for name, opts := range map[string][]kgo.Opt{
		"classic": nil,
		"kip848":  {kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer()},
	} {
		t.Run(name, func(t *testing.T) {
			c := harness.Start(t, fake.Topic("t", 2, 3))
			topic, group := c.Name("t"), c.Name("g")
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			p := c.Client(t, kgo.DefaultProduceTopic(topic))
			produceN(t, ctx, p, "r-", 4)
			cons := c.Client(t, append([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.ClientID("member-a")}, opts...)...)
			consumeUntil(t, ctx, cons, 4)
			if err := cons.CommitUncommittedOffsets(ctx); err != nil {
				t.Fatal(err)
			}
			gi, err := c.WaitGroup(ctx, group, fake.GroupSettled(1, 2))
			if err != nil {
				t.Fatal(err)
			}
			if len(gi.Members) != 1 || gi.Members[0].ClientID != "member-a" || gi.Members[0].NumAssigned() != 2 {
				t.Errorf("members %+v; want member-a with both partitions", gi.Members)
			}
			if name == "kip848" && gi.Epoch < 1 {
				t.Errorf("a KIP-848 group's epoch is %d, want ≥ 1", gi.Epoch)
			}
			var committed int64
			for _, pc := range gi.Commits[topic] {
				committed += pc.Offset
			}
			if committed != 4 {
				t.Errorf("commits %v add to %d, want 4", gi.Commits, committed)
			}
		})
	}
}
