// Package netfault is kafkaemu's network faults between Kafka clients
// and brokers: latency, dropped responses, closed connections, black
// holes and partitions, each narrowed to brokers, client ids, client
// addresses or request kinds, and to a number of hits (Times).
//
// A Layer holds the installed faults and decides, for each request a
// wire layer reads, what happens to it (BeforeRoute): held, its
// connection closed, its answer delayed or dropped. The emulator (package
// fake) and the fault proxy (package proxy) each own one; hits and
// removals go to a journal.Log. The package knows nothing of either.
package netfault
