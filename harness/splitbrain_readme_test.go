package harness_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSplitBrain is README.md's "Split brain" example, verbatim: keep them
// in step.
func TestSplitBrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("orders", 1, 3))
		p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
		st, _ := c.Partition("orders", 0)
		cut, _ := c.AddFault(fake.Isolate(st.Leader)) // clients still reach it
		if err := p.ProduceSync(t.Context(), kgo.StringRecord("o-1")).FirstErr(); err != nil {
			t.Fatal(err) // acknowledged by the isolated leader alone
		}
		time.Sleep(fake.DefaultBrokerSessionTimeout) // the controller fences it
		_ = cut.Remove()                             // it rejoins and truncates o-1
		if err := p.ProduceSync(t.Context(), kgo.StringRecord("o-2")).FirstErr(); err != nil {
			t.Fatal(err) // the new leader hands out o-1's offset again
		}
		r := assertions.Check(c.History())
		if r.Count(assertions.LostWrite) != 1 {
			t.Fatalf("want o-1 lost, acknowledged then truncated:\n%s", r)
		}
	})
}

func TestSplitBrainReadmeInStep(t *testing.T) {
	t.Parallel()
	readmeInStep(t, "Split brain", "splitbrain_readme_test.go", "TestSplitBrain")
}
