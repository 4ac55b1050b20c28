// Package harness runs a kafkaemu cluster inside a Go test.
//
//	c := harness.Start(t, fake.Topic("orders", 3, 3))
//	cl := c.Client(t, kgo.DefaultProduceTopic("orders"))
//	...
//	c.FailLeader("orders", 0)
//
// Start closes the cluster when the test ends and, if the test failed,
// logs the cluster's seed with the command that replays it
// (KAFKAEMU_SEED=N go test -run '^TestX$': Start takes its seed from
// KAFKAEMU_SEED unless the test passes fake.Seed), the path of a timeline
// page of the run (package timeline) in the test's artifact directory
// (go test -artifacts keeps it) and the tail of its journal. Each call has its own ports, so tests can run in parallel.
// Client hands out franz-go clients with settings that make tests fast
// (the caller's options win), each recording what it sends and polls
// into the cluster's History, so that a test can end with
//
//	assertions.ExactlyOnce(t, c.History())
//
// Anomalies come with their cause, read from the journal: a failed
// assertion on c.History() prints, under each record it shows, what
// happened to it ("acknowledged with acks=1 by broker 0 at +12.000ms
// (#41), before any follower copied it: replication of orders[0] was
// paused at +5.000ms (#30); dropped at +15.000ms (#52) with the
// un-replicated tail 100..149"). Explain gives every finding of a report
// its cause; WriteTimeline draws the run with them marked at their
// offsets.
//
// Checking c.History() also judges what the cluster's logs hold at that
// moment (read inside the process, never as a consumer): a write the log
// holds is unseen or skipped, never lost, whatever the consumers did.
//
// # Judging the application
//
// What a client polls is not what a service processed: a service that
// polls every record and drops one passes a check of its polls. To judge
// the service, hook its consumer up to a Recorder made with
// assertions.Processing and report each record once the handler's work
// for it is done:
//
//	rec := c.Recorder("billing", assertions.Processing())
//	cl := c.Client(t, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("orders"), kgo.WithHooks(rec))
//	handle := func(ctx context.Context, r *kgo.Record) error {
//		if err := bill(ctx, r); err != nil {
//			return err
//		}
//		rec.Processed(r)
//		return nil
//	}
//
// The rule for what counts: the producer side is what the client sent
// and the broker acknowledged (hooks); the consumer side is only what the
// application reported with Processed, one poll per call, in the
// client's group and generation at the time of the call. A record never
// reported is unseen by the group ("never processed"), one reported
// after skipping another is a poll-skip, one reported twice is
// redelivered (allowed by AtLeastOnce, not by ExactlyOnce). Processing
// past a record does not make it a lost-write: the log may still hold
// what the application dropped. Commits are the brokers': History
// carries every offset commit they accepted (from the journal, whatever
// kgo call or autocommit made it), and an unseen record names the lowest
// commit of its group past it ("never processed; group billing committed
// offset 50 past it (billing-1)"): the commit is what loses it for good.
//
// # Waiting instead of sleeping
//
// WaitConsumed waits until a consumer or group in the History has read
// (or, with Processing, processed) every partition of some topics up to
// its high watermark, WaitCommitted until a group has committed that far;
// both skip transaction markers and aborted or open transactions and
// return within milliseconds of the condition holding (docs/benchmarks.md),
// where a hand-rolled "no progress for 300ms" poll takes 300ms more. They
// join fake's WaitGroup and WaitPartition.
//
// BrokerHistory builds the same kind of history from the broker's side,
// for clients that cannot be hooked.
//
// # A real cluster
//
// With KAFKAEMU_BOOTSTRAP=host:port (a real Kafka cluster's bootstrap
// broker) set, Start fronts that cluster with an in-process fault proxy
// (package proxy) instead of starting an emulator, so one suite runs in
// both modes:
//
//	c := harness.Start(t, fake.Topic("orders", 3, 3))
//	topic := c.Name("orders") // "orders" on the emulator; kafkaemu-orders-1a2b3c4d on a real cluster
//	cl := c.Client(t, kgo.DefaultProduceTopic(topic))
//
// The topics of fake.Topic options are created under c.Name (the prefix
// KAFKAEMU_TOPIC_PREFIX, default "kafkaemu-", the name, a suffix of the
// Start's own) and deleted when the test ends, with the groups the test
// named through c.Name; nothing else on the cluster is touched. Client,
// History, BrokerHistory (from the proxy's journal and the upstream's
// logs), WaitConsumed, WaitCommitted, the network faults (AddFault),
// Partition, PartitionLog, Group and WaitGroup (ConsumerGroupDescribe for
// KIP-848 groups, DescribeGroups for classic ones, and the committed
// offsets) and FailLeader (the cluster's own ElectLeaders) work
// unchanged. A verb that needs the emulator's model (KillBroker,
// PauseReplication, Rebalance, ExpireMember, ...) and an option only
// the emulator honours (fake.VirtualNetwork, fake.KfakeOpts, fake.SASL,
// fake.TLS) skip the test with t.Skip, naming the verb and the variable. Real
// reports which mode a test runs in; docs/real-cluster.md shows a
// 3-broker Kafka to try it on.
//
// # Virtual time
//
// Inside testing/synctest, Start(t, fake.VirtualNetwork(), ...) runs the
// cluster and its clients on the bubble's clock, the way to write a test
// no machine load can break:
//
//	synctest.Test(t, func(t *testing.T) {
//		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("orders", 2, 1))
//		... // a 45 s session timeout expires as soon as every goroutine waits
//	})
//
// One trap: kgo's locks are sync mutexes unless the test binary is built
// with -tags synctests, and a goroutine waiting on a mutex stops a
// bubble's clock. kgo's autocommit loop waits on its commit lock while a
// JoinGroup holds it, so a rebalance that waits on a timer (a member that
// stopped heartbeating) would never end. Without the tag, group clients on
// a virtual cluster therefore do not autocommit every 5 s; they commit on
// revoke and close (kgo's default revoke). Build with -tags synctests
// (go test -tags synctests ./...) to keep kgo's periodic autocommit, and
// for tests that commit by hand while a long rebalance may be running:
// those commits wait on the same lock.
package harness
