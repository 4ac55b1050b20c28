package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Records removed by DeleteRecords (what retention does to a partition's
// start) were deleted, not lost: the broker-side history says so.
func TestBrokerHistoryKnowsDeletedRecords(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	produceN(t, ctx, p, "v", 10)
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "t", Partition: 0, At: 5})
	resps, err := kadm.NewClient(p).DeleteRecords(ctx, offsets)
	if err != nil {
		t.Fatal(err)
	}
	if err := resps.Error(); err != nil {
		t.Fatal(err)
	}
	var f failures
	if !assertions.NoLostWrites(&f, c.BrokerHistory(t)) {
		t.Errorf("deleted records counted as lost writes:\n%s", f.msgs)
	}
}
