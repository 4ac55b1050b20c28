package scenarios_test

import (
	"testing"

	"github.com/seed73168108/kafkaemu/scenarios"
)

// The shipped library runs as part of the test suite.
func TestLibrary(t *testing.T) { scenarios.RunDir(t, "library") }

// Every verb the library does not use runs too, and the runner's
// behaviour around crashes, restarts, fencing and commit modes.
func TestRunnerVerbs(t *testing.T) { scenarios.RunDir(t, "testdata/run") }

// Run runs one file, as a subtest named after its scenario.
func TestRun(t *testing.T) { scenarios.Run(t, "testdata/good/minimal.yaml") }
