package fake_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// PartitionLog reads a partition's log inside the process: committed and
// aborted transactional records (marked), markers left out, past a
// blackhole on every broker and with the leader's broker down, and the
// journal shows no fetch.
func TestPartitionLog(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx := ctxT(t, 15*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	tx := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.TransactionalID("tx"))
	if err := p.ProduceSync(ctx, kgo.StringRecord("plain")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for _, commit := range []bool{false, true} {
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := tx.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint("txn-commit=", commit))).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := tx.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AddFault(fake.Blackhole()); err != nil {
		t.Fatal(err)
	}
	st := partition(t, c, "t", 0)
	if err := c.KillBroker(st.Leader); err != nil {
		t.Fatal(err)
	}
	recs, err := c.PartitionLog(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%d:%s aborted=%v txn=%v", r.Offset, r.Value, r.Aborted, r.Transactional))
	}
	// Offsets 2 and 4 are the abort and commit markers.
	want := []string{"0:plain aborted=false txn=false", "1:txn-commit=false aborted=true txn=true", "3:txn-commit=true aborted=false txn=true"}
	if !slices.Equal(got, want) {
		t.Errorf("log %q, want %q", got, want)
	}
	for _, e := range c.Journal() {
		if e.Kind == fake.EventFetch {
			t.Errorf("reading the log was journaled as a fetch: %v", e)
		}
	}
	if _, err := c.PartitionLog(ctx, "t", 7); err == nil {
		t.Error("PartitionLog of a partition that does not exist: no error")
	}
}
