package conformance

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
)

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Backoff = 10 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 10 * time.Millisecond
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.MaxWaitTime = 50 * time.Millisecond
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 3 * time.Second
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 10 * time.Millisecond
	return cfg
}

func TestSaramaSeesReplicasAndISR(t *testing.T) {
	c := harness.Start(t, fake.Topic("t", 3, 3), fake.ReplicaLagMax(20*time.Millisecond))
	cl, err := sarama.NewClient(c.Addrs(), saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for p := int32(0); p < 3; p++ {
		st, _ := c.Partition("t", p)
		reps, _ := cl.Replicas("t", p)
		isr, _ := cl.InSyncReplicas("t", p)
		leader, _ := cl.Leader("t", p)
		if !slices.Equal(reps, st.Replicas) || !slices.Equal(isr, st.ISR) || leader.ID() != st.Leader {
			t.Errorf("p%d: sarama sees leader %d replicas %v isr %v; model %+v", p, leader.ID(), reps, isr, st)
		}
	}

	// The ISR shrinks in what sarama sees once a paused follower lags.
	prod, err := sarama.NewSyncProducer(c.Addrs(), func() *sarama.Config {
		c := saramaConfig()
		c.Producer.RequiredAcks = sarama.WaitForLocal
		c.Producer.Partitioner = sarama.NewManualPartitioner
		return c
	}())
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "t", Partition: 0, Value: sarama.StringEncoder("x")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if err := cl.RefreshMetadata("t"); err != nil {
			t.Fatal(err)
		}
		if isr, _ := cl.InSyncReplicas("t", 0); len(isr) == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("sarama never saw the ISR shrink")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

type groupHandler struct {
	mu   sync.Mutex
	seen map[string]int
	n    chan struct{}
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		h.mu.Lock()
		h.seen[string(m.Value)]++
		h.mu.Unlock()
		s.MarkMessage(m, "")
		h.n <- struct{}{}
	}
	return nil
}

func TestSaramaProduceAndGroupConsume(t *testing.T) {
	c := harness.Start(t, fake.Topic("orders", 3, 3, map[string]string{"min.insync.replicas": "2"}))
	prod, err := sarama.NewSyncProducer(c.Addrs(), saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for i := 0; i < 60; i++ {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "orders", Key: sarama.StringEncoder(fmt.Sprint(i % 7)), Value: sarama.StringEncoder(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	group, err := sarama.NewConsumerGroup(c.Addrs(), "g", saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer group.Close()
	h := &groupHandler{seen: map[string]int{}, n: make(chan struct{}, 100)}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{"orders"}, h); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 60; i++ {
		select {
		case <-h.n:
		case <-ctx.Done():
			t.Fatalf("consumed %d of 60", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for v, n := range h.seen {
		if n != 1 {
			t.Errorf("%s consumed %d times", v, n)
		}
	}
}

// sessionHandler counts sessions (one per generation) and claims.
type sessionHandler struct {
	mu       sync.Mutex
	setups   int
	cleanups int
	members  map[string]bool
}

func (h *sessionHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	h.setups++
	h.members[s.MemberID()] = true
	h.mu.Unlock()
	return nil
}
func (h *sessionHandler) Cleanup(sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	h.cleanups++
	h.mu.Unlock()
	return nil
}
func (h *sessionHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		s.MarkMessage(m, "")
	}
	return nil
}

func (h *sessionHandler) counts() (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.setups, h.cleanups
}

// Rebalance and ExpireMember with sarama's consumer group: each forced
// generation ends sarama's session (Cleanup) and starts a new one (Setup).
func TestSaramaGroupRebalanceAndExpire(t *testing.T) {
	c := harness.Start(t, fake.Topic("t", 2, 3))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	group, err := sarama.NewConsumerGroup(c.Addrs(), "g", saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer group.Close()
	h := &sessionHandler{members: map[string]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{"t"}, h); err != nil && ctx.Err() == nil {
				t.Logf("consume: %v", err)
			}
		}
	}()
	defer func() { cancel(); <-done }()
	gi, err := c.WaitGroup(ctx, "g", fake.GroupStable(1))
	if err != nil {
		t.Fatal(err)
	}
	waitSetups := func(n int) {
		t.Helper()
		for {
			if s, _ := h.counts(); s >= n {
				return
			}
			select {
			case <-ctx.Done():
				s, cl := h.counts()
				t.Fatalf("sarama sessions: %d setups, %d cleanups; want %d setups", s, cl, n)
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	waitSetups(1)
	if err := c.Rebalance(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	waitSetups(2)
	if _, cl := h.counts(); cl < 1 {
		t.Error("sarama's session did not end on the forced rebalance")
	}
	gi2, err := c.WaitGroup(ctx, "g", fake.GroupStable(1))
	if err != nil {
		t.Fatal(err)
	}
	if gi2.Epoch <= gi.Epoch {
		t.Errorf("generation %d -> %d", gi.Epoch, gi2.Epoch)
	}
	if err := c.ExpireMember("g", gi2.Members[0].MemberID); err != nil {
		t.Fatal(err)
	}
	waitSetups(3)
	gi3, err := c.WaitGroup(ctx, "g", fake.GroupStable(1))
	if err != nil {
		t.Fatal(err)
	}
	if gi3.Members[0].MemberID == gi2.Members[0].MemberID {
		t.Error("the expired member kept its member id: it should have rejoined as a new member")
	}
}
