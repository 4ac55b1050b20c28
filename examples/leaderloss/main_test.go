package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout, 42); err != nil {
		panic(err)
	}
	// Output:
	// producer                         acknowledged  consumed  lost  dropped by the failover
	// acks=1                           150           100       50    offsets 100..149
	// acks=all, min.insync.replicas=2  150           150       0     offsets 100..149
}
