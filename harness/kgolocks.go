//go:build !synctests

package harness

// kgoBubbleLocks reports whether kgo was built with its synctests tag,
// which makes its locks channel-based so that a goroutine waiting on one
// is durably blocked in a testing/synctest bubble.
const kgoBubbleLocks = false
