// Package scenarios parses and runs scenario files: table-driven chaos
// tests in YAML that give a cluster, its topics, a workload, a timeline of
// faults and the delivery semantics expected. Run, RunDir and RunScenario
// execute them in go test against a harness cluster with real franz-go
// clients and judge them with the assertions checker; the parser keeps the
// position of every element so that runtime errors point at the file too. REFERENCE.md is the full reference, with tables and examples;
// library/ holds worked scenarios, each starting with a "# Teaches:"
// comment.
//
//	name: acks1-leader-loss
//	cluster: {brokers: 3, replica_lag_max: 1s}
//	topics:
//	  - {name: orders, partitions: 1, replicas: 3}
//	workload:
//	  producers: [{name: p1, topic: orders, acks: "1", records: 300, rate: 1000}]
//	  consumers: [{name: c1, group: audit, topics: [orders]}]
//	faults:
//	  - {after: 100ms, do: pause-replication, topic: orders, partition: 0}
//	  - {after: 200ms, do: fail-leader, topic: orders, partition: 0}
//	  - {after: 200ms, do: resume-replication, topic: orders, partition: 0}
//	expect:
//	  - lost-write: "> 0"
//	  - delivery: at-most-once
//
// # API
//
//	func TestScenarios(t *testing.T) { scenarios.RunDir(t, "testdata/scenarios") }
//
// Every run writes a timeline page of its cluster (package timeline), with
// the anomalies found marked at their offsets and explained from the
// journal, to PageFile(t.ArtifactDir(), s): go test -artifacts keeps it,
// and kafkaemu run -html DIR writes it to DIR.
//
// # A real cluster
//
// With KAFKAEMU_BOOTSTRAP=host:port (or kafkaemu run -bootstrap host:port)
// a scenario runs against that real cluster through the fault proxy
// (harness's real-cluster mode), on the real clock, its topics, groups and
// transactional ids named with harness.Cluster.Name so that runs sharing
// a cluster never meet. A file whose faults need the emulator's model is
// refused before anything runs, one error per fault
// ("lesson.yaml:12:5: pause-replication needs the emulator (the target is
// a real cluster)"): CheckRealCluster says so ahead of time, and
// Verb.RunsOnRealCluster for one verb (the network faults, fail-leader,
// delete-records and the client actions do). library/README.md marks
// which lessons run on a real cluster.
//
// Parse parses bytes, Load a file, LoadDir every *.yaml and *.yml file of a
// directory in name order. A *Scenario has its defaults filled in, durations
// as time.Duration, triggers as Trigger, errors as *kerr.Error and request
// kinds as kmsg.Key, so a runner reads it directly. Problems come back as an
// ErrorList of *Error, each "file:line:column: what was wrong; what was
// expected", all of them, sorted by position. Verbs lists the fault verbs.
//
// # Rules
//
// Parsing is strict: unknown keys, repeated keys, wrong types and verb
// parameters that do not belong to the verb are errors, with the closest
// valid name suggested. Whole numbers are YAML integers ("100" is a
// string); durations are Go durations (300ms, 1.5s; a bare 50 has no unit).
// Names use letters, digits, '.', '_' and '-'. Anchors and aliases work,
// merge keys (<<) do not. A file holds one document of at most MaxFileSize
// (1 MiB) bytes and 100,000 YAML nodes with aliases expanded, so YAML bombs
// fail fast; parsing stops after 50 errors. Topics, clients, groups,
// partitions and broker ids a fault or expectation names must be declared.
//
// # Top level
//
//   - name (required): the scenario's name, used as the subtest name; unique
//     within a directory.
//   - description: one sentence on what it shows.
//   - seed: int64 fixing the emulator's random choices; nil lets the runner
//     choose. KAFKAEMU_SEED overrides it (the runner's job).
//   - timeout: duration bounding the run; 0 leaves it to the runner.
//   - clock: virtual (default) or real, the clock the run keeps under go
//     test: virtual runs it in a testing/synctest bubble on an in-memory
//     network when the test binary is built with -tags synctests (see
//     RunScenario); kafkaemu run always keeps the real clock.
//   - broker_session_timeout: duration a broker cut off by isolate-broker
//     keeps its leaderships before the controller fences it (Kafka's
//     broker.session.timeout.ms; default 9s).
//   - cluster (required): brokers (1..64; ids 0..brokers-1) and
//     replica_lag_max (how long a follower that stopped copying stays in the
//     ISR; default the emulator's 200ms).
//   - topics (required): each with name, partitions (1..1024), replicas
//     (1..brokers) and configs: min.insync.replicas (1..replicas),
//     unclean.leader.election.enable, retention.ms, retention.bytes,
//     segment.ms, segment.bytes, max.message.bytes, delete.retention.ms,
//     cleanup.policy, compression.type, message.timestamp.type.
//   - workload (required): producers, consumers and pipelines; at least one
//     client. Client names are unique across all three and are the clients'
//     client.id.
//   - faults: the fault timeline.
//   - expect (required): the checks.
//
// # Producers
//
// name, topic and records (required); rate (records/s, 0 = unthrottled);
// acks ("0", "1", all or -1; default all); idempotent (default true exactly
// when acks is all; true needs acks all); transactional_id (needs acks all
// and idempotence), txn_size (records per transaction, default 10) and
// abort_every (abort every N-th transaction) for transactional producers;
// keys (N distinct keys k0..k<N-1>, 0 = no keys); partition (write only
// there); delivery_timeout (fail records not acknowledged in time). Record i
// has the value "<name>-<i>".
//
// # Consumers
//
// name, group and topics (one topic or a list; required); commit
// (after-process, before-process, auto, on-revoke, none; default
// after-process); isolation (read_uncommitted, the default, or
// read_committed); instance_id (static membership); protocol (classic, the
// default, or consumer for KIP-848); balancer (classic only: range,
// roundrobin, sticky, or cooperative-sticky, the default); offset_reset
// (earliest, the default, or latest); session_timeout; process_time (spent
// per record); crash_after (crash after the N-th record, before committing
// it; once: it stays down until restart-consumer).
//
// # Pipelines
//
// Transactional read-process-write: name, group, input and output
// (required, input != output); transactional_id (default the name);
// isolation (default read_committed); abort_every; session_timeout;
// process_time; crash_after (inside an open transaction; once). Each
// poll's records are copied to output and the input offsets committed in
// one transaction.
//
// # Faults
//
// Each fault has do (the verb), after (the trigger; default 0, the start),
// for (undo after this long, for the verbs that can be undone) and the
// verb's parameters: topic, partition, broker, brokers, group, member,
// consumer, pipeline, producer, client, requests, delay, jitter,
// probability, count, error, offset. A trigger is a duration since the
// workload started, or a progress count: {acked: N} (producer: narrows it),
// {consumed: N} or {committed: N} (consumer: or group: narrow them).
// Faults start one at a time as their triggers fire, simultaneous ones in
// file order; rebalance and join-phantom, which last until the group has
// moved on, do not hold up the faults after them. The verbs, with required
// parameters first:
//
//	pause-replication   topic [partition] | broker     followers stop copying (for: resumes)
//	resume-replication  topic [partition] | broker     followers copy again
//	fail-leader         topic [partition]              leader fails over, un-replicated tail dropped
//	kill-broker         broker                         broker crashes (for: restarts it)
//	restart-broker      broker                         broker returns and catches up
//	delete-records      topic [partition offset]       log start moves to offset (default high watermark)
//	latency             delay [jitter broker client requests count]   responses delayed (for: removed)
//	drop-responses      [probability broker client requests count]    applied, answer lost (for: removed)
//	close-connections   [broker client requests count]                connection closed (for: removed)
//	blackhole           [broker client requests count]                requests held (for: removed)
//	network-partition   brokers                        brokers isolated (for: healed)
//	isolate-broker      broker [client]                broker cut off from the controller and its peers, clients still reach it; fenced after broker_session_timeout (for: heal)
//	heal                [broker]                       isolate-broker ends: the broker truncates what only it had and rejoins
//	rebalance           group                          new generation forced
//	expire-member       member [group]                 member expelled, as by session timeout
//	join-phantom        group [count]                  phantom members take partitions (for: they leave)
//	leave-phantom       group [count]                  phantoms leave
//	move-coordinator    group                          coordinator moves; offsets survive
//	inject-error        error requests [broker topic partition group count]   requests fail with error (for: removed)
//	crash-consumer      consumer | pipeline            killed: no commit, no leave (for: restarted)
//	restart-consumer    consumer | pipeline            started again (gracefully stopped first if running)
//	fence-producer      producer | pipeline            a new instance with the transactional id fences it; the zombie stops
//
// isolate-broker's broker is a broker id or "leader-of topic/partition",
// the partition's leader when the fault applies; its client is cut off
// from the broker too. heal without broker heals every isolated broker.
// A partition needs its topic; without one a fault covers every partition
// of the topic. requests are Kafka API names in kebab-case (produce, fetch,
// offset-commit, ...); error is a Kafka error name as kerr spells it
// (NOT_LEADER_OR_FOLLOWER is accepted too); count is hits before a network
// fault removes itself, requests failed by inject-error (default: all), or
// phantoms (default 1); probability is in (0, 1], default 1.
//
// The runner proves every fault had its effect from the cluster's journal
// (a network fault or injection hit a request, a rebalance reached a new
// generation, phantoms joined, a member was expired and noticed it, ...);
// a fault that applied but did nothing fails the scenario at its position
// (REFERENCE.md, "How a run goes", lists the evidence per verb).
//
// # Expectations
//
// Each item holds one check and optional scope keys producer, consumer (a
// consumer or pipeline) or group (consumer and group exclude each other):
//
//   - An anomaly and a comparison: lost-write, duplicate, unseen,
//     redelivered, poll-skip, nonmonotonic-poll, int-poll-skip,
//     int-nonmonotonic-poll, nonmonotonic-send, int-send-skip, G1a,
//     precommitted-read, inconsistent-offsets, reorder-per-key.
//   - delivery: at-most-once, at-least-once or exactly-once.
//   - acked (scope producer), consumed (consumer or group, redeliveries
//     included), rebalances (group; generations after the first fault
//     applied, or without faults after all its members first joined) and
//     fenced (a transactional producer or a pipeline: zombies a
//     fence-producer stopped): comparisons.
//   - produce-errors (scope producer): {ERROR_NAME: comparison, ...}, produce
//     responses carrying that error code, retried ones included; one
//     Expectation per error.
//
// A comparison is a count (== it) or a string "== 5", "> 0", ">= 3", "< 10",
// "<= 4"; see Comparison.Holds.
package scenarios
