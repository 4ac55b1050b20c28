// Package require is package assertions with testify's require
// behaviour: a failed assertion stops the test with t.FailNow.
package require

import (
	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/stretchr/testify/require"
)

func stop(t require.TestingT, ok bool) {
	if h, isHelper := t.(interface{ Helper() }); isHelper {
		h.Helper()
	}
	if !ok {
		t.FailNow()
	}
}

// AtMostOnce is assertions.AtMostOnce, stopping the test on failure.
func AtMostOnce(t require.TestingT, s assertions.Subject, msgAndArgs ...any) {
	stop(t, assertions.AtMostOnce(t, s, msgAndArgs...))
}

// AtLeastOnce is assertions.AtLeastOnce, stopping the test on failure.
func AtLeastOnce(t require.TestingT, s assertions.Subject, msgAndArgs ...any) {
	stop(t, assertions.AtLeastOnce(t, s, msgAndArgs...))
}

// ExactlyOnce is assertions.ExactlyOnce, stopping the test on failure.
func ExactlyOnce(t require.TestingT, s assertions.Subject, msgAndArgs ...any) {
	stop(t, assertions.ExactlyOnce(t, s, msgAndArgs...))
}

// NoLostWrites is assertions.NoLostWrites, stopping the test on failure.
func NoLostWrites(t require.TestingT, s assertions.Subject, msgAndArgs ...any) {
	stop(t, assertions.NoLostWrites(t, s, msgAndArgs...))
}

// NoDuplicates is assertions.NoDuplicates, stopping the test on failure.
func NoDuplicates(t require.TestingT, s assertions.Subject, msgAndArgs ...any) {
	stop(t, assertions.NoDuplicates(t, s, msgAndArgs...))
}

// OrderedPerPartition is assertions.OrderedPerPartition, stopping the test on failure.
func OrderedPerPartition(t require.TestingT, s assertions.Subject, msgAndArgs ...any) {
	stop(t, assertions.OrderedPerPartition(t, s, msgAndArgs...))
}

// OrderedPerKey is assertions.OrderedPerKey, stopping the test on failure.
func OrderedPerKey(t require.TestingT, s assertions.Subject, msgAndArgs ...any) {
	stop(t, assertions.OrderedPerKey(t, s, msgAndArgs...))
}

// ConsumedAll is assertions.ConsumedAll, stopping the test on failure.
func ConsumedAll(t require.TestingT, s assertions.Subject, msgAndArgs ...any) {
	stop(t, assertions.ConsumedAll(t, s, msgAndArgs...))
}
