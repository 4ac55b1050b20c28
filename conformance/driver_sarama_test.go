package conformance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

type saramaDriver struct{}

func (saramaDriver) version(*testing.T) (string, error) {
	return goModuleVersion("github.com/IBM/sarama")
}

// config is saramaConfig with the endpoint's auth.
func (saramaDriver) config(e endpoint) *sarama.Config {
	cfg := saramaConfig()
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Metadata.Retry.Max = 20
	if e.sasl != nil {
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.User, cfg.Net.SASL.Password = e.sasl.user, e.sasl.pass
		cfg.Net.SASL.Mechanism = sarama.SASLMechanism(e.sasl.mech)
		switch e.sasl.mech {
		case "SCRAM-SHA-256":
			cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: scram.SHA256} }
		case "SCRAM-SHA-512":
			cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: scram.SHA512} }
		}
	}
	if e.tlsCfg != nil {
		cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, e.tlsCfg
		cfg.Metadata.Retry.Max = 3
	}
	return cfg
}

// xdgSCRAM is sarama's SCRAM client (sarama leaves the SCRAM
// implementation to the caller; its examples use xdg-go/scram).
type xdgSCRAM struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (x *xdgSCRAM) Begin(user, pass, authz string) error {
	c, err := x.hash.NewClient(user, pass, authz)
	if err != nil {
		return err
	}
	x.conv = c.NewConversation()
	return nil
}
func (x *xdgSCRAM) Step(challenge string) (string, error) { return x.conv.Step(challenge) }
func (x *xdgSCRAM) Done() bool                            { return x.conv.Done() }

func (d saramaDriver) produce(t *testing.T, e endpoint, p produceSpec) error {
	cfg := d.config(e)
	cfg.Producer.RequiredAcks = map[string]sarama.RequiredAcks{"0": sarama.NoResponse, "1": sarama.WaitForLocal, "all": sarama.WaitForAll}[p.acks]
	if p.idempotent {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	}
	prod, err := sarama.NewSyncProducer(e.brokers, cfg)
	if err != nil {
		return err
	}
	defer prod.Close()
	for _, v := range p.values {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: p.topic, Partition: 0, Value: sarama.StringEncoder(v)}); err != nil {
			return err
		}
	}
	return nil
}

func (d saramaDriver) consume(t *testing.T, e endpoint, c consumeSpec) ([]string, error) {
	cfg := d.config(e)
	if c.readCommitted {
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	ctx, cancel := cellCtx(t)
	defer cancel()
	if c.group == "" {
		cons, err := sarama.NewConsumer(e.brokers, cfg)
		if err != nil {
			return nil, err
		}
		defer cons.Close()
		pc, err := cons.ConsumePartition(c.topic, 0, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		defer pc.Close()
		var got []string
		for len(got) < c.n {
			select {
			case m := <-pc.Messages():
				got = append(got, string(m.Value))
			case err := <-pc.Errors():
				return got, err
			case <-ctx.Done():
				return got, ctx.Err()
			}
		}
		return got, nil
	}
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	group, err := sarama.NewConsumerGroup(e.brokers, c.group, cfg)
	if err != nil {
		return nil, err
	}
	defer group.Close()
	h := &readN{n: c.n, done: make(chan struct{})}
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 1)
	go func() {
		for gctx.Err() == nil {
			if err := group.Consume(gctx, []string{c.topic}, h); err != nil && gctx.Err() == nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	select {
	case <-h.done:
	case err := <-errc:
		return h.values(), err
	case <-ctx.Done():
		return h.values(), ctx.Err()
	}
	stop()
	if err := <-errc; err != nil {
		return h.values(), err
	}
	return h.values(), nil
}

// readN is a sarama group handler that reads n records, marks them and
// commits.
type readN struct {
	n    int
	mu   sync.Mutex
	got  []string
	once sync.Once
	done chan struct{}
}

func (h *readN) values() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}
func (h *readN) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *readN) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *readN) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.mu.Lock()
		h.got = append(h.got, string(m.Value))
		full := len(h.got) == h.n
		h.mu.Unlock()
		s.MarkMessage(m, "")
		if full {
			s.Commit()
			h.once.Do(func() { close(h.done) })
		}
	}
	return nil
}

func (d saramaDriver) member(t *testing.T, e endpoint, m memberSpec) (func(bool), error) {
	cfg := d.config(e)
	cfg.Consumer.Group.Session.Timeout = 10 * time.Second
	if m.instanceID != "" {
		cfg.Consumer.Group.InstanceId = m.instanceID
	}
	group, err := sarama.NewConsumerGroup(e.brokers, m.group, cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_ = group.Consume(ctx, []string{m.topic}, &sessionHandler{members: map[string]bool{}})
		}
	}()
	return func(bool) { // sarama's Close does not leave for a static member (KIP-345)
		cancel()
		<-done
		_ = group.Close()
	}, nil
}

func (d saramaDriver) txn(t *testing.T, e endpoint, x txnSpec) error {
	cfg := d.config(e)
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = x.id
	prod, err := sarama.NewSyncProducer(e.brokers, cfg)
	if err != nil {
		return err
	}
	defer prod.Close()
	if err := prod.BeginTxn(); err != nil {
		return err
	}
	for _, v := range x.values {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: x.topic, Partition: 0, Value: sarama.StringEncoder(v)}); err != nil {
			return errors.Join(err, prod.AbortTxn())
		}
	}
	if x.commit {
		return prod.CommitTxn()
	}
	return prod.AbortTxn()
}
