package harness_test

import (
	"testing"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestOrders is README.md's quickstart, verbatim: keep them in step.
func TestOrders(t *testing.T) {
	c := harness.Start(t, fake.Topic("orders", 3, 3, map[string]string{"min.insync.replicas": "2"}))
	p := c.Client(t, kgo.DefaultProduceTopic("orders"))
	if err := p.ProduceSync(t.Context(), kgo.StringRecord("o-1")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	_ = c.PauseReplication("orders", 0)         // followers stop copying
	newLeader, err := c.FailLeader("orders", 0) // the un-replicated tail is lost
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("orders[0] is now led by broker %d", newLeader)
}
