package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout, false); err != nil {
		panic(err)
	}
	// Output:
	// produced 1000 records with acks=all, consumed and committed 1000 in group billing
	// orders[0]: leader 0, replicas [0 1 2], isr [0 1 2], high watermark 200
	// orders[1]: leader 1, replicas [1 2 0], isr [1 2 0], high watermark 500
	// orders[2]: leader 2, replicas [2 0 1], isr [2 0 1], high watermark 300
}
