package scenarios_test

import (
	"testing"

	"github.com/seed73168108/kafkaemu/scenarios"
)

// The shipped library runs as part of the test suite.
func TestLibrary(t *testing.T) { scenarios.RunDir(t, "library") }
