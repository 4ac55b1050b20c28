package fake_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

type topicPart struct {
	topic string
	part  int32
}

func (tp topicPart) String() string { return fmt.Sprintf("%s[%d]", tp.topic, tp.part) }

func without(ids []int32, id int32) []int32 {
	return slices.DeleteFunc(slices.Clone(ids), func(x int32) bool { return x == id })
}

// PauseFollower(b) stops b copying for every partition it follows: each of
// them leaves b out of its ISR after ReplicaLagMax (once a write is
// waiting), Metadata shows it, acks=all with min.insync.replicas=2 on a
// two-replica partition is refused, and ResumeFollower brings b back.
// Partitions b leads or does not replicate keep their ISR.
func TestPauseFollowerShrinksEveryISRItFollows(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Seed(11),
		fake.Topic("pair", 3, 2, map[string]string{"min.insync.replicas": "2"}),
		fake.Topic("trio", 3, 3),
		fake.ReplicaLagMax(30*time.Millisecond))
	ctx := ctxT(t, 15*time.Second)
	b := partition(t, c, "pair", 0).Replicas[1] // b follows pair[0]
	replicas := map[topicPart][]int32{}
	var followed, others []topicPart
	for _, topic := range []string{"pair", "trio"} {
		for p := int32(0); p < 3; p++ {
			tp := topicPart{topic, p}
			st := partition(t, c, topic, p)
			replicas[tp] = st.Replicas
			if !slices.Equal(st.ISR, st.Replicas) {
				t.Fatalf("%v starts with ISR %v, replicas %v", tp, st.ISR, st.Replicas)
			}
			if st.Leader != b && slices.Contains(st.Replicas, b) {
				followed = append(followed, tp)
			} else {
				others = append(others, tp)
			}
		}
	}
	if len(followed) < 2 || len(others) == 0 {
		t.Fatalf("broker %d follows %v and not %v: the test needs both", b, followed, others)
	}
	t.Logf("broker %d follows %v, not %v", b, followed, others)

	one := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err := c.PauseFollower(b); err != nil {
		t.Fatal(err)
	}
	for _, bs := range c.Brokers() {
		if bs.ReplicationPaused != (bs.ID == b) {
			t.Errorf("broker %d: ReplicationPaused %v after PauseFollower(%d)", bs.ID, bs.ReplicationPaused, b)
		}
	}
	for tp := range replicas {
		if err := one.ProduceSync(ctx, &kgo.Record{Topic: tp.topic, Partition: tp.part, Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatalf("acks=1 to %v: %v", tp, err)
		}
	}
	for _, tp := range followed {
		waitFor(t, ctx, fmt.Sprintf("%v to drop broker %d from its ISR and commit the write", tp, b), func() bool {
			st := partition(t, c, tp.topic, tp.part)
			return slices.Equal(st.ISR, without(replicas[tp], b)) && st.HighWatermark == 1
		})
	}
	for _, tp := range others {
		if st := partition(t, c, tp.topic, tp.part); !slices.Equal(st.ISR, replicas[tp]) || st.HighWatermark != 1 {
			t.Errorf("%v (broker %d does not follow it): ISR %v, high watermark %d; want %v and 1", tp, b, st.ISR, st.HighWatermark, replicas[tp])
		}
	}

	adm := kadm.NewClient(c.Client(t))
	md, err := adm.Metadata(ctx, "pair", "trio")
	if err != nil {
		t.Fatal(err)
	}
	for tp, rs := range replicas {
		want := rs
		if slices.Contains(followed, tp) {
			want = without(rs, b)
		}
		if isr := md.Topics[tp.topic].Partitions[tp.part].ISR; !slices.Equal(isr, want) {
			t.Errorf("metadata ISR of %v: %v, want %v", tp, isr, want)
		}
	}

	var target topicPart
	for _, tp := range followed {
		if tp.topic == "pair" {
			target = tp
		}
	}
	all := c.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordRetries(0))
	err = all.ProduceSync(ctx, &kgo.Record{Topic: target.topic, Partition: target.part, Value: []byte("refused")}).FirstErr()
	if !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Errorf("acks=all to %v with ISR 1 < min.insync.replicas 2: %v, want NOT_ENOUGH_REPLICAS", target, err)
	}
	if hw := partition(t, c, target.topic, target.part).HighWatermark; hw != 1 {
		t.Errorf("%v: high watermark %d after a refused write, want 1", target, hw)
	}

	if err := c.ResumeFollower(b); err != nil {
		t.Fatal(err)
	}
	for tp, rs := range replicas {
		waitFor(t, ctx, fmt.Sprintf("%v ISR back to %v", tp, rs), func() bool {
			return slices.Equal(partition(t, c, tp.topic, tp.part).ISR, rs)
		})
	}
	r := &kgo.Record{Topic: target.topic, Partition: target.part, Value: []byte("accepted")}
	if err := all.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Errorf("acks=all to %v after ResumeFollower: %v", target, err)
	}
	if r.Offset != 1 {
		t.Errorf("accepted at offset %d, want 1", r.Offset)
	}
}
