package conformance

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Clients kafkaemu cannot hook are checked from the broker's side: a
// sarama acks=1 producer loses the writes a failed leader had not
// replicated, and BrokerHistory names exactly those offsets.
func TestBrokerHistoryFindsSaramaLostWrites(t *testing.T) {
	for _, acks := range []sarama.RequiredAcks{sarama.WaitForLocal, sarama.WaitForAll} {
		t.Run(fmt.Sprint("acks=", acks), func(t *testing.T) {
			c := harness.Start(t, fake.Topic("t", 1, 3, map[string]string{"min.insync.replicas": "2"}), fake.ReplicaLagMax(time.Minute))
			cfg := saramaConfig()
			cfg.Producer.RequiredAcks = acks
			cfg.Producer.Partitioner = sarama.NewManualPartitioner
			prod, err := sarama.NewAsyncProducer(c.Addrs(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			send := func(from, to int) {
				for i := from; i < to; i++ {
					prod.Input() <- &sarama.ProducerMessage{Topic: "t", Partition: 0, Value: sarama.StringEncoder(fmt.Sprint("v", i))}
				}
			}
			wait := func(n int) {
				for i := 0; i < n; i++ {
					select {
					case <-prod.Successes():
					case err := <-prod.Errors():
						t.Fatalf("send: %v", err)
					}
				}
			}
			send(0, 5)
			wait(5)
			if err := c.PauseReplication("t", 0); err != nil {
				t.Fatal(err)
			}
			send(5, 10)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if acks == sarama.WaitForLocal {
				wait(5) // acknowledged by the leader alone
			} else if _, err := c.WaitPartition(ctx, "t", 0, func(st fake.PartitionState) bool { return st.LogEndOffset > 5 }); err != nil { // sarama may hold the rest until the first answer
				t.Fatal(err)
			}
			if _, err := c.FailLeader("t", 0); err != nil {
				t.Fatal(err)
			}
			if err := c.ResumeReplication("t", 0); err != nil {
				t.Fatal(err)
			}
			if acks == sarama.WaitForAll {
				wait(5) // retried to the new leader
			}
			if err := prod.Close(); err != nil {
				t.Fatal(err)
			}
			r := assertions.Check(c.BrokerHistory(t))
			var lost []int64
			for _, f := range r.Findings[assertions.LostWrite] {
				lost = append(lost, f.Offset)
			}
			want := []int64{5, 6, 7, 8, 9}
			if acks == sarama.WaitForAll {
				want = nil
			}
			if !slices.Equal(lost, want) {
				t.Errorf("lost-write at offsets %v, want %v\n%s", lost, want, r)
			}
		})
	}
}

// kafka-go is not idempotent: a produce response lost on the way back
// makes it send the batch again, and the broker-side history shows the
// duplicate.
func TestBrokerHistoryFindsKafkaGoDuplicates(t *testing.T) {
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(1)); err != nil {
		t.Fatal(err)
	}
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(c.Addrs()...), Topic: "t", RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		WriteTimeout: 300 * time.Millisecond, WriteBackoffMin: time.Millisecond, Transport: tr}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("once")}); err != nil {
		t.Fatal(err)
	}
	r := assertions.Check(c.BrokerHistory(t))
	if r.Count(assertions.Duplicate) != 1 {
		t.Errorf("want one duplicate from the retried batch:\n%s", r)
	}
}
