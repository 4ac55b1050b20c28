package harness_test

import (
	"testing"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestOrders is README.md's quickstart, verbatim: keep them in step.
func TestOrders(t *testing.T) {
	c := harness.Start(t, fake.Topic("orders", 1, 3, map[string]string{"min.insync.replicas": "2"}))
	p := c.Client(t, kgo.DefaultProduceTopic("orders")) // acks=all
	if err := p.ProduceSync(t.Context(), kgo.StringRecord("o-1")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FailLeader("orders", 0); err != nil { // o-1 is replicated: it survives
		t.Fatal(err)
	}
	rec := c.Recorder("billing", assertions.Processing()) // records what the service processed
	svc := c.Client(t, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"), kgo.WithHooks(rec))
	for _, r := range svc.PollFetches(t.Context()).Records() {
		rec.Processed(r) // after your handler; drop r and the test fails
	}
	assertions.AtLeastOnce(t, c.History()) // o-1 was acknowledged, survived and was processed
}
