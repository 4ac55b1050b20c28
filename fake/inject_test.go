package fake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InjectError is kfake's error injection, journaled: a producer retries
// through two NOT_LEADER_OR_FOLLOWER answers (kerr still calls it
// NOT_LEADER_FOR_PARTITION), and the journal shows the
// injection added, both hits, and its removal once spent.
func TestInjectErrorIsJournaled(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 3, 3))
	ctx := ctxT(t, 10*time.Second)
	e, err := c.InjectError(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "t", Err: kerr.NotLeaderForPartition, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("x"), Partition: 1}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if e.Hits() != 2 {
		t.Errorf("%d hits, want 2", e.Hits())
	}
	var kinds []string
	for _, ev := range c.Journal() {
		if strings.HasPrefix(ev.Detail, "inject-error NOT_LEADER_FOR_PARTITION") {
			kinds = append(kinds, string(ev.Kind)+" "+ev.Detail)
		}
	}
	want := []string{
		`fault-added inject-error NOT_LEADER_FOR_PARTITION requests Produce topic "t" 2 times`,
		`fault-hit inject-error NOT_LEADER_FOR_PARTITION requests Produce topic "t" 2 times on Produce`,
		`fault-hit inject-error NOT_LEADER_FOR_PARTITION requests Produce topic "t" 2 times on Produce`,
		`fault-removed inject-error NOT_LEADER_FOR_PARTITION requests Produce topic "t" 2 times after 2 hits`,
	}
	if strings.Join(kinds, "\n") != strings.Join(want, "\n") {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(kinds, "\n"), strings.Join(want, "\n"))
	}
	if err := e.Remove(); err == nil || !strings.Contains(err.Error(), "already removed") {
		t.Errorf("Remove after the injection was spent: %v", err)
	}

	// Until removed: Remove journals it, a second Remove is an error.
	forever, err := c.InjectError(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Group: "g", Count: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := forever.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := forever.Remove(); err == nil || !strings.Contains(err.Error(), "already removed") {
		t.Errorf("second Remove: %v", err)
	}
	if _, err := c.InjectError(kfake.Fault{Count: -2}); err == nil || !strings.Contains(err.Error(), "Count -2") {
		t.Errorf("Count -2: %v", err)
	}
	c.Close()
	if _, err := c.InjectError(kfake.Fault{}); err == nil || !strings.Contains(err.Error(), "the cluster is closed") {
		t.Errorf("after Close: %v", err)
	}
}
