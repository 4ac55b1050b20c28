package harness_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSessionExpiry is README.md's "Virtual time" example, verbatim: keep
// them in step.
func TestSessionExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("orders", 2, 1))
		group := []kgo.Opt{kgo.ConsumerGroup("g"), kgo.ConsumeTopics("orders"), kgo.SessionTimeout(45 * time.Second)}
		c.Client(t, group...)
		c.Client(t, append(group, kgo.ClientID("stuck"))...)
		if _, err := c.WaitGroup(t.Context(), "g", fake.GroupSettled(2, 2)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, _ = c.AddFault(fake.Blackhole(), fake.OnClient("stuck")) // it stops heartbeating
		if _, err := c.WaitGroup(t.Context(), "g", fake.GroupSettled(1, 2)); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < 45*time.Second {
			t.Fatalf("the survivor owned everything after %v, before the 45 s session ran out", waited)
		}
	})
}

func TestVirtualTimeReadmeInStep(t *testing.T) {
	t.Parallel()
	readmeInStep(t, "Virtual time", "virtual_readme_test.go", "TestSessionExpiry")
}
