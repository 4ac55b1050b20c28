package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// commit on revoke: true   processed 100 jobs, 0 of them twice
	// commit on revoke: false  processed 100 jobs, 60 of them twice
}
