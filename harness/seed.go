package harness

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seed73168108/kafkaemu/fake"
)

// SeedEnv names the environment variable that replays a cluster: Start
// uses KAFKAEMU_SEED=N as the cluster's seed unless the test passes
// fake.Seed itself.
const SeedEnv = "KAFKAEMU_SEED"

// envSeed is the fake.Seed option KAFKAEMU_SEED asks for, if any. It
// goes before the test's options, so a fake.Seed of the test's own wins.
func envSeed() (fake.Option, error) {
	v := os.Getenv(SeedEnv)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: want a whole number", SeedEnv, v)
	}
	return fake.Seed(n), nil
}

// replayHint is the command that reruns tb with seed.
func replayHint(tb testing.TB, seed int64) string {
	parts := strings.Split(tb.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return fmt.Sprintf("%s=%d go test -run '%s'", SeedEnv, seed, strings.Join(parts, "/"))
}
