// Package harness runs a kafkaemu cluster inside a Go test.
//
//	c := harness.Start(t, fake.Topic("orders", 3, 3))
//	cl := c.Client(t, kgo.DefaultProduceTopic("orders"))
//	...
//	c.FailLeader("orders", 0)
//
// Start closes the cluster when the test ends and, if the test failed,
// logs the cluster's seed and the tail of its journal. Each call has its
// own ports, so tests can run in parallel. Client hands out franz-go
// clients with settings that make tests fast (the caller's options win),
// each recording what it sends and polls into the cluster's History, so
// that a test can end with
//
//	assertions.ExactlyOnce(t, c.History())
//
// BrokerHistory builds the same kind of history from the broker's side,
// for clients that cannot be hooked.
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
