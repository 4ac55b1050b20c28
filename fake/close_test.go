package fake_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kfake"
)

// After Close every verb answers "the cluster is closed" at once: none may
// reach kfake, whose calls block forever once it is closed.
func TestVerbsAfterClose(t *testing.T) {
	t.Parallel()
	c, err := fake.New(fake.Topic("t", 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	verbs := map[string]func() error{
		"Partition":              func() error { _, err := c.Partition("t", 0); return err },
		"FailLeader":             func() error { _, err := c.FailLeader("t", 0); return err },
		"PauseReplication":       func() error { return c.PauseReplication("t", 0) },
		"PauseFollower":          func() error { return c.PauseFollower(1) },
		"KillBroker":             func() error { return c.KillBroker(1) },
		"RestartBroker":          func() error { return c.RestartBroker(1) },
		"AddFault":               func() error { _, err := c.AddFault(fake.Blackhole()); return err },
		"CloseClientConnections": func() error { _, err := c.CloseClientConnections(-1); return err },
		"Rebalance":              func() error { return c.Rebalance(ctx, "g") },
		"ExpireMember":           func() error { return c.ExpireMember("g", "m") },
		"JoinPhantom":            func() error { _, err := c.JoinPhantom("g", 1); return err },
		"MoveCoordinator":        func() error { _, err := c.MoveCoordinator("g"); return err },
		"WaitGroup":              func() error { _, err := c.WaitGroup(ctx, "g", fake.GroupStable(1)); return err },
		"WaitPartition": func() error {
			_, err := c.WaitPartition(ctx, "t", 0, func(fake.PartitionState) bool { return true })
			return err
		},
	}
	for name, verb := range verbs {
		done := make(chan error, 1)
		go func() { done <- verb() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "the cluster is closed") {
				t.Errorf("%s after Close: %v, want the cluster is closed", name, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s after Close: still blocked", name)
		}
	}
}

// A snapshot or a verb racing Close returns (with a value or an error)
// instead of hanging; goleak in TestMain catches a goroutine left behind.
func TestCallsRacingClose(t *testing.T) {
	t.Parallel()
	for i := 0; i < 20; i++ {
		c, err := fake.New(fake.Topic("t", 1, 3))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, call := range []func() error{
			func() error { _, err := c.Partition("t", 0); return err },
			func() error { _, err := c.MoveCoordinator("g"); return err },
			func() error {
				_, err := c.WaitGroup(context.Background(), "g", func(*kfake.GroupInfo) bool { return false })
				return err
			},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if err := call(); err != nil && strings.Contains(err.Error(), "the cluster is closed") {
						return
					}
				}
			}()
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
}

func TestBadVerbArguments(t *testing.T) {
	t.Parallel()
	c, err := fake.New(fake.Topic("t", 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.AddFault(fake.Blackhole(), nil); err == nil || !strings.Contains(err.Error(), "target 0 is nil") {
		t.Errorf("AddFault with a nil target: %v", err)
	}
	if _, err := c.WaitGroup(context.Background(), "g", nil); err == nil || !strings.Contains(err.Error(), "the condition is nil") {
		t.Errorf("WaitGroup with a nil condition: %v", err)
	}
	if _, err := c.CloseClientConnections(-7); err == nil || !strings.Contains(err.Error(), "unknown broker") {
		t.Errorf("CloseClientConnections(-7): %v", err)
	}
	if _, err := c.WaitPartition(context.Background(), "t", 0, nil); err == nil || !strings.Contains(err.Error(), "the condition is nil") {
		t.Errorf("WaitPartition with a nil condition: %v", err)
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.WaitPartition(short, "t", 0, func(st fake.PartitionState) bool { return st.HighWatermark > 0 })
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded (last seen leader") {
		t.Errorf("WaitPartition timing out: %v", err)
	}
	if _, err := c.WaitPartition(context.Background(), "nope", 0, func(fake.PartitionState) bool { return true }); err == nil || !strings.Contains(err.Error(), `unknown topic "nope"`) {
		t.Errorf("WaitPartition unknown topic: %v", err)
	}
	if got := c.JournalTail(-1); got != "" {
		t.Errorf("JournalTail(-1) = %q", got)
	}
	if got := c.JournalTail(0); got != "" {
		t.Errorf("JournalTail(0) = %q", got)
	}
}
