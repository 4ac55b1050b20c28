package logread_test

import (
	"context"
	"fmt"

	"github.com/seed73168108/kafkaemu/internal/logread"
	"github.com/seed73168108/kafkaemu/internal/wiretest"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A partition of three records: the Fetcher answers from a batch built by
// hand, as a broker would.
func Example() {
	batch := wiretest.RawBatch("a", "b", "c")
	fetch := func(_ context.Context, at int64) (*kmsg.FetchResponseTopicPartition, error) {
		p := kmsg.NewFetchResponseTopicPartition()
		p.HighWatermark, p.LogStartOffset = 3, 0
		if at < 3 {
			p.RecordBatches = batch
		}
		return &p, nil
	}
	recs, err := logread.Read(context.Background(), fetch)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Println(r.Offset, string(r.Value), r.Aborted)
	}
	// Output:
	// 0 a false
	// 1 b false
	// 2 c false
}
