//go:build synctests

package harness

const kgoBubbleLocks = true
