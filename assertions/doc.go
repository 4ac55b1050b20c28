// Package assertions checks delivery semantics over what was produced,
// stored and consumed, with Jepsen's Kafka anomaly vocabulary, as testify-
// style assertions with go-cmp diffs.
//
// A History records operations: sends and their outcome (ack with
// partition/offset, fail, unknown), polled records (consumer, group,
// generation, poll call, isolation level), commits, transaction begin /
// commit / abort, assignments, and — broker-side — what the log stores
// and where a partition's log starts once records were deleted.
// A Recorder fills one from any franz-go client: kgo.WithHooks(rec). Made
// with Processing, it records what the application processed
// (Recorder.Processed, after its handler's work) instead of what the
// client polled, so the verdict is about the service: a record it polled
// and dropped is unseen ("never processed") and a poll-skip, never
// hidden by the poll.
// harness builds a broker-side History from the cluster's journal for
// clients that cannot be hooked, and gives its cluster's History a log
// reader (SetLogReader): each check of it also judges what the log holds
// then, so a write the log holds is unseen or skipped, never lost. Values are identified by a stable id
// (the value itself by default; ValueID and HeaderID change it), so
// duplicates are found by identity.
//
// Check finds the anomalies:
//
//	lost-write            acknowledged, not in the log: never read though consumers read past it, another value
//	                      at its offset, or the broker's log lacks it; not if the log holds it, not if deleted
//	duplicate             one value at two offsets
//	unseen                acknowledged, never polled (by every group of ConsumedBy)
//	redelivered           one group polled a value again (each poll after its first)
//	inconsistent-offsets  two values at one offset
//	G1a                   a consumer saw an aborted record: at read_committed isolation is broken,
//	                      at read_uncommitted it is that setting's expected consequence
//	precommitted-read     a read_committed consumer saw a record before its commit
//	poll-skip             a consumer jumped over records (acknowledged, stored or read) within a generation
//	nonmonotonic-poll     a consumer went back within a generation
//	int-poll-skip, int-nonmonotonic-poll   the same within one poll call
//	nonmonotonic-send     a producer's later send stored before an earlier one
//	int-send-skip         a transaction's sends to a partition not adjacent
//	reorder-per-key       one producer's values of a key stored or consumed out of send order
//
// Each Anomaly constant documents what it means in Kafka terms and which
// client setting usually causes it. The report is deterministic: the same
// for the same history, and for any interleaving of independent events
// (of different partitions, producers and consumers, each one's own order
// kept).
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
// G1a is any read of aborted data, whatever the reader's isolation level,
// so a read_uncommitted consumer that reads an aborted transaction fails
// AtMostOnce and ExactlyOnce: judge those guarantees on read_committed
// consumers.
//
// NoLostWrites, NoDuplicates, OrderedPerPartition, OrderedPerKey and
// ConsumedAll check one property each. Assertions take testify's
// assert.TestingT first and optional msgAndArgs last, return whether they
// passed, and on failure print each anomaly, its count, its first five
// records as a go-cmp diff of what the guarantee expects against what the
// history shows (Finding.Want and Got; each record as one line with its
// partition, offset, key, value, and the producer or the consumer and
// generation), how many more, the cause of each shown record when the
// report has an Explainer (History.SetExplainer, Report.Explain: harness
// explains from its cluster's journal), and a one-line hint. Package require stops the test
// instead. The package depends only on franz-go, testify and go-cmp; it
// does not know the emulator.
package assertions
