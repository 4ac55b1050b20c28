package scenarios_test

import (
	"testing"

	"github.com/seed73168108/kafkaemu/scenarios"
)

// The shipped library runs as part of the test suite.
func TestLibrary(t *testing.T) { scenarios.RunDir(t, "library") }

// Every verb the library does not use runs too.
func TestRunnerVerbs(t *testing.T) { scenarios.RunDir(t, "testdata/run") }
