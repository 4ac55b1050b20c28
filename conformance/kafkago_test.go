package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/segmentio/kafka-go"
)

func TestKafkaGoProduceRead(t *testing.T) {
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(c.Addrs()...), Topic: "t", RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Transport: tr}
	defer w.Close()
	for i := 0; i < 20; i++ {
		if err := w.WriteMessages(ctx, kafka.Message{Value: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := c.Partition("t", 0)
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: c.Addrs(), Topic: "t", Partition: 0, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	for i := 0; i < 20; i++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Value) != fmt.Sprint(i) || m.Offset != int64(i) {
			t.Fatalf("message %d: offset %d value %s", i, m.Offset, m.Value)
		}
	}
	if st.HighWatermark != 20 {
		t.Errorf("high watermark %d, want 20", st.HighWatermark)
	}
	// kafka-go's connection-level API sees the model's leader.
	conn, err := kafka.DialLeader(ctx, "tcp", c.Addrs()[0], "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.Broker().ID; int32(got) != st.Leader {
		t.Errorf("kafka-go dialed leader %d, model leader %d", got, st.Leader)
	}
}
