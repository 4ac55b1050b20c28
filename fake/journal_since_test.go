package fake_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// JournalSince(seq) is the journal after event seq, and nothing past its end.
func TestJournalSince(t *testing.T) {
	t.Parallel()
	c, err := fake.New(fake.Topic("t", 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(t.Context(), kgo.StringRecord("a"), kgo.StringRecord("b")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	all := c.Journal()
	if len(all) < 3 {
		t.Fatalf("journal has %d events", len(all))
	}
	for _, seq := range []int64{-1, 0, 2, int64(len(all)), int64(len(all)) + 5} {
		want := all[min(max(seq, 0), int64(len(all))):]
		// The journal may have grown since: compare what both have.
		if diff := cmp.Diff(want, c.JournalSince(seq)[:len(want)], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("JournalSince(%d) differs from the journal after event %d:\n%s", seq, seq, diff)
		}
	}
}
