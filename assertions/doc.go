// Package assertions checks delivery semantics over what was produced,
// stored and consumed, with Jepsen's Kafka anomaly vocabulary, as testify-
// style assertions with go-cmp diffs.
//
// A History records operations: sends and their outcome (ack with
// partition/offset, fail, unknown), polled records (consumer, group,
// generation, poll call, isolation level), commits, transaction begin /
// commit / abort, assignments, and — broker-side — what the log stores
// and where a partition's log starts once records were deleted.
// A Recorder fills one from any franz-go client: kgo.WithHooks(rec).
// harness builds a broker-side History from the cluster's journal for
// clients that cannot be hooked. Values are identified by a stable id
// (the value itself by default; ValueID and HeaderID change it), so
// duplicates are found by identity.
//
// Check finds the anomalies:
//
//	lost-write            acknowledged, never read, though consumers read past it (or the log lacks it); not if deleted
//	duplicate             one value at two offsets
//	unseen                acknowledged, never polled (by every group of ConsumedBy)
//	redelivered           one group polled a value twice
//	inconsistent-offsets  two values at one offset
//	G1a                   a read_committed consumer saw an aborted record
//	precommitted-read     a read_committed consumer saw a record before its commit
//	poll-skip             a consumer jumped over records within a generation
//	nonmonotonic-poll     a consumer went back within a generation
//	int-poll-skip, int-nonmonotonic-poll   the same within one poll call
//	nonmonotonic-send     a producer's later send stored before an earlier one
//	int-send-skip         a transaction's sends to a partition not adjacent
//	reorder-per-key       a key's values stored or consumed out of send order
//
// Each Anomaly constant documents what it means and what usually causes it.
//
// The guarantees:
//
//   - AtMostOnce forbids duplicate, redelivered, G1a and precommitted-read;
//     writes may be lost.
//   - AtLeastOnce forbids lost-write, unseen, poll-skip and int-poll-skip;
//     writes may be delivered twice.
//   - ExactlyOnce forbids all of those, plus inconsistent-offsets and the
//     nonmonotonic polls.
//
// NoLostWrites, NoDuplicates, OrderedPerPartition, OrderedPerKey and
// ConsumedAll check one property each. Assertions take testify's
// assert.TestingT first and optional msgAndArgs last, return whether they
// passed, and on failure print each anomaly, its count, the first records
// as a go-cmp diff and a one-line hint. Package require stops the test
// instead. The package depends only on franz-go, testify and go-cmp; it
// does not know the emulator.
package assertions
