package fake_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestVirtualNetworkInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("orders", 3, 3, map[string]string{"min.insync.replicas": "2"}))
		p := c.Client(t, kgo.DefaultProduceTopic("orders"))
		ctx := t.Context()
		for i := range 10 {
			if err := p.ProduceSync(ctx, kgo.StringRecord("v"+string(rune('0'+i)))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.KillBroker(0); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := c.RestartBroker(0); err != nil {
			t.Fatal(err)
		}
		cons := c.Client(t, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		n := 0
		for n < 11 {
			fs := cons.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			n += fs.NumRecords()
		}
		_ = context.Background
		_ = time.Second
	})
}
