package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// confluentDriver is confluent-kafka-go: librdkafka, bundled in the Go
// module as a static library, through cgo.
type confluentDriver struct{}

func (confluentDriver) version(*testing.T) (string, error) {
	v, err := goModuleVersion("github.com/confluentinc/confluent-kafka-go/v2")
	_, lib := kafka.LibraryVersion()
	return fmt.Sprintf("%s (librdkafka %s, bundled)", v, lib), err
}

func (confluentDriver) config(e endpoint, more kafka.ConfigMap) *kafka.ConfigMap {
	cfg := kafka.ConfigMap{
		"bootstrap.servers": joinAddrs(e.brokers), "log_level": 2, "retry.backoff.ms": 10, "reconnect.backoff.ms": 10,
		"topic.metadata.refresh.interval.ms": 1000,
	}
	if e.sasl != nil {
		cfg["security.protocol"] = "SASL_PLAINTEXT"
		cfg["sasl.mechanisms"], cfg["sasl.username"], cfg["sasl.password"] = e.sasl.mech, e.sasl.user, e.sasl.pass
	}
	if e.tlsCfg != nil {
		cfg["security.protocol"], cfg["ssl.ca.location"] = "SSL", e.caFile
	}
	for k, v := range more {
		cfg[k] = v
	}
	return &cfg
}

func (d confluentDriver) produce(t *testing.T, e endpoint, p produceSpec) error {
	more := kafka.ConfigMap{"acks": p.acks, "enable.idempotence": p.idempotent, "linger.ms": 0}
	if e.tlsCfg != nil || e.sasl != nil {
		more["message.timeout.ms"] = 5000
	}
	prod, err := kafka.NewProducer(d.config(e, more))
	if err != nil {
		return err
	}
	defer prod.Close()
	if err := confluentSend(prod, p.topic, p.values); err != nil {
		// What librdkafka said meanwhile (a failed authentication, say)
		// comes as error events.
		for {
			select {
			case ev := <-prod.Events():
				if kerr, ok := ev.(kafka.Error); ok {
					err = fmt.Errorf("%w; %v", err, kerr)
				}
				continue
			default:
			}
			return err
		}
	}
	return nil
}

// confluentSend produces values to partition 0 one by one, each awaited.
func confluentSend(prod *kafka.Producer, topic string, values []string) error {
	dr := make(chan kafka.Event, 1)
	for _, v := range values {
		if err := prod.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: 0}, Value: []byte(v)}, dr); err != nil {
			return err
		}
		select {
		case ev := <-dr:
			if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
				return m.TopicPartition.Error
			}
		case <-time.After(time.Minute):
			return fmt.Errorf("no delivery report for %q in a minute", v)
		}
	}
	return nil
}

func (d confluentDriver) consume(t *testing.T, e endpoint, c consumeSpec) ([]string, error) {
	group := c.group
	if group == "" {
		group = "unused" // librdkafka wants one; Assign does not join it
	}
	iso := "read_uncommitted"
	if c.readCommitted {
		iso = "read_committed"
	}
	cons, err := kafka.NewConsumer(d.config(e, kafka.ConfigMap{"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": false,
		"isolation.level": iso, "fetch.wait.max.ms": 50, "session.timeout.ms": 10000, "heartbeat.interval.ms": 100}))
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	if c.group != "" {
		err = cons.Subscribe(c.topic, nil)
	} else {
		err = cons.Assign([]kafka.TopicPartition{{Topic: &c.topic, Partition: 0, Offset: kafka.OffsetBeginning}})
	}
	if err != nil {
		return nil, err
	}
	ctx, cancel := cellCtx(t)
	defer cancel()
	var got []string
	for len(got) < c.n {
		if ctx.Err() != nil {
			return got, ctx.Err()
		}
		m, err := cons.ReadMessage(100 * time.Millisecond)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			return got, err
		}
		got = append(got, string(m.Value))
	}
	if c.group != "" {
		if _, err := cons.Commit(); err != nil {
			return got, err
		}
	}
	return got, nil
}

func (d confluentDriver) member(t *testing.T, e endpoint, m memberSpec) (func(bool), error) {
	more := kafka.ConfigMap{"group.id": m.group, "session.timeout.ms": 10000, "heartbeat.interval.ms": 100, "fetch.wait.max.ms": 50}
	if m.instanceID != "" {
		more["group.instance.id"] = m.instanceID
	}
	cons, err := kafka.NewConsumer(d.config(e, more))
	if err != nil {
		return nil, err
	}
	if err := cons.Subscribe(m.topic, nil); err != nil {
		cons.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cons.Poll(50)
		}
	}()
	return func(bool) { // librdkafka's close does not leave for a static member
		cancel()
		<-done
		cons.Close()
	}, nil
}

func (d confluentDriver) txn(t *testing.T, e endpoint, x txnSpec) error {
	prod, err := kafka.NewProducer(d.config(e, kafka.ConfigMap{"transactional.id": x.id, "linger.ms": 0}))
	if err != nil {
		return err
	}
	defer prod.Close()
	ctx, cancel := cellCtx(t)
	defer cancel()
	if err := prod.InitTransactions(ctx); err != nil {
		return err
	}
	if err := prod.BeginTransaction(); err != nil {
		return err
	}
	if err := confluentSend(prod, x.topic, x.values); err != nil {
		return err
	}
	if x.commit {
		return prod.CommitTransaction(ctx)
	}
	return prod.AbortTransaction(ctx)
}
