package harness_test

import (
	"testing"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
)

// KAFKAEMU_SEED replays a cluster without editing the test; a fake.Seed
// the test passes itself still wins.
func TestStartHonoursSeedEnv(t *testing.T) {
	t.Setenv(harness.SeedEnv, "4242")
	if got := harness.Start(t).Seed(); got != 4242 {
		t.Errorf("with %s=4242 the cluster's seed is %d", harness.SeedEnv, got)
	}
	if got := harness.Start(t, fake.Seed(7)).Seed(); got != 7 {
		t.Errorf("with %s=4242 and fake.Seed(7) the cluster's seed is %d, want the test's own 7", harness.SeedEnv, got)
	}
}

func TestStartRejectsBadSeedEnv(t *testing.T) {
	t.Setenv(harness.SeedEnv, "abc")
	tb := &fakeTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != tb {
				panic(r)
			}
		}()
		harness.Start(tb)
	}()
	if want := `kafkaemu: starting the cluster: KAFKAEMU_SEED="abc": want a whole number`; tb.fatal != want {
		t.Errorf("Start failed with %q, want %q", tb.fatal, want)
	}
}
