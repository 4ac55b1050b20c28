package harness

import (
	"context"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/twmb/franz-go/pkg/kgo"
)

// logView is what the cluster's logs hold, for the History's checks
// (assertions.History.SetLogReader): every partition whose log is settled
// (no un-replicated tail), without aborted transactions. So a write the
// log holds is never judged lost, whatever the consumers read.
func (c *Cluster) logView() ([]assertions.LogPartition, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []assertions.LogPartition
	for _, st := range partitionsOf(c) {
		if st.LogEndOffset > st.HighWatermark {
			continue // acknowledged writes wait in the leader's tail
		}
		recs, err := c.PartitionLog(ctx, st.Topic, st.Partition)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			continue
		}
		lp := assertions.LogPartition{Topic: st.Topic, Partition: st.Partition, LogStart: st.LogStartOffset}
		for _, r := range recs {
			if !r.Aborted {
				lp.Records = append(lp.Records, &kgo.Record{Topic: st.Topic, Partition: st.Partition, Offset: r.Offset,
					Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp})
			}
		}
		out = append(out, lp)
	}
	return out, nil
}
