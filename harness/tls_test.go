package harness_test

import (
	"testing"
	"testing/synctest"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/internal/selfsigned"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Clients built by Client dial with TLS on their own when the cluster has
// TLS, on TCP and on the virtual network.
func TestClientTLS(t *testing.T) {
	cert, err := selfsigned.New()
	if err != nil {
		t.Fatal(err)
	}
	roundTrip := func(t *testing.T, opts ...fake.Option) {
		c := harness.Start(t, append(opts, fake.Topic("t", 1, 3), fake.TLS(cert.ServerConfig()))...)
		prod := c.Client(t, kgo.DefaultProduceTopic("t"))
		if err := prod.ProduceSync(t.Context(), kgo.StringRecord("a"), kgo.StringRecord("b")).FirstErr(); err != nil {
			t.Fatalf("produce over TLS: %v", err)
		}
		cons := c.Client(t, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		for n := 0; n < 2; {
			fs := cons.PollFetches(t.Context())
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			n += fs.NumRecords()
		}
		if st, _ := c.Partition("t", 0); st.HighWatermark != 2 {
			t.Errorf("high watermark %d, want 2", st.HighWatermark)
		}
	}
	t.Run("tcp", func(t *testing.T) { roundTrip(t) })
	t.Run("virtual", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { roundTrip(t, fake.VirtualNetwork()) })
	})
}
