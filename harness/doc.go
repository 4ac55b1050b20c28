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
// Checking c.History() also judges what the cluster's logs hold at that
// moment (read inside the process, never as a consumer): a write the log
// holds is unseen or skipped, never lost, whatever the consumers did.
// BrokerHistory builds the same kind of history from the broker's side,
// for clients that cannot be hooked.
package harness
