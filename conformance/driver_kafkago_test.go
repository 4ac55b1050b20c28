package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

type kafkaGoDriver struct{}

func (kafkaGoDriver) version(*testing.T) (string, error) {
	return goModuleVersion("github.com/segmentio/kafka-go")
}

func (kafkaGoDriver) mechanism(t *testing.T, e endpoint) sasl.Mechanism {
	if e.sasl == nil {
		return nil
	}
	switch e.sasl.mech {
	case "PLAIN":
		return plain.Mechanism{Username: e.sasl.user, Password: e.sasl.pass}
	default:
		algo := scram.SHA256
		if e.sasl.mech == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, e.sasl.user, e.sasl.pass)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

func (d kafkaGoDriver) dialer(t *testing.T, e endpoint) *kafka.Dialer {
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, SASLMechanism: d.mechanism(t, e), TLS: e.tlsCfg}
}

func (d kafkaGoDriver) produce(t *testing.T, e endpoint, p produceSpec) error {
	// MetadataTTL: the writer retries NOT_LEADER_FOR_PARTITION against its
	// cached metadata, by default 6 s old, longer than its retries last.
	tr := &kafka.Transport{SASL: d.mechanism(t, e), TLS: e.tlsCfg, MetadataTTL: 100 * time.Millisecond}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: p.topic, Transport: tr, BatchTimeout: time.Millisecond,
		RequiredAcks:    map[string]kafka.RequiredAcks{"0": kafka.RequireNone, "1": kafka.RequireOne, "all": kafka.RequireAll}[p.acks],
		Balancer:        kafka.BalancerFunc(func(kafka.Message, ...int) int { return 0 }),
		WriteBackoffMin: 10 * time.Millisecond, WriteBackoffMax: 100 * time.Millisecond}
	if e.tlsCfg != nil {
		w.MaxAttempts = 3
	}
	defer w.Close()
	ctx, cancel := cellCtx(t)
	defer cancel()
	for _, v := range p.values {
		if err := w.WriteMessages(ctx, kafka.Message{Value: []byte(v)}); err != nil {
			return err
		}
	}
	return nil
}

func (d kafkaGoDriver) readerConfig(t *testing.T, e endpoint, topic string) kafka.ReaderConfig {
	return kafka.ReaderConfig{Brokers: e.brokers, Topic: topic, Dialer: d.dialer(t, e), MaxWait: 50 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond, SessionTimeout: 10 * time.Second, RebalanceTimeout: 5 * time.Second,
		JoinGroupBackoff: 50 * time.Millisecond, ReadBackoffMin: 10 * time.Millisecond, ReadBackoffMax: 50 * time.Millisecond,
		StartOffset: kafka.FirstOffset}
}

func (d kafkaGoDriver) consume(t *testing.T, e endpoint, c consumeSpec) ([]string, error) {
	cfg := d.readerConfig(t, e, c.topic)
	if c.group != "" {
		cfg.GroupID = c.group
	} else {
		cfg.Partition = 0
	}
	if c.readCommitted {
		cfg.IsolationLevel = kafka.ReadCommitted
	}
	r := kafka.NewReader(cfg)
	defer r.Close()
	ctx, cancel := cellCtx(t)
	defer cancel()
	var got []string
	var last kafka.Message
	for len(got) < c.n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return got, err
		}
		got, last = append(got, string(m.Value)), m
	}
	if c.group != "" {
		if err := r.CommitMessages(ctx, last); err != nil {
			return got, err
		}
	}
	return got, nil
}

func (d kafkaGoDriver) member(t *testing.T, e endpoint, m memberSpec) (func(bool), error) {
	if m.instanceID != "" {
		return nil, errUnsupported // ReaderConfig has no group instance id
	}
	cfg := d.readerConfig(t, e, m.topic)
	cfg.GroupID = m.group
	r := kafka.NewReader(cfg)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_, _ = r.FetchMessage(ctx)
		}
	}()
	return func(bool) {
		cancel()
		<-done
		_ = r.Close()
	}, nil
}

func (kafkaGoDriver) txn(*testing.T, endpoint, txnSpec) error { return errUnsupported }
