// Package proxy is kafkaemu's fault proxy: it stands between Kafka
// clients and a real Kafka cluster, one loopback listener per upstream
// broker, so the network faults and the journal of the emulator work
// against the real thing.
//
//	p, err := proxy.New(ctx, []string{"kafka-1:9092"})
//	...
//	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Addrs()...))
//	h, err := p.AddFault(netfault.DropResponses(1), netfault.OnKeys(kmsg.Produce), netfault.Times(1))
//
// New finds every broker through Metadata (naming one is enough) and
// checks, before anything else, that each speaks Kafka at the address it
// advertises: an unreachable broker, or an address that answers with
// HTTP or a TLS alert, is an error that says so. Each client connection
// gets a connection of its own to its broker, so requests keep their
// order, and SASL handshakes pass through to the upstream untouched.
// Metadata, FindCoordinator and DescribeCluster answers, and produce
// answers naming a new leader (KIP-951), are rewritten to name the
// proxy's listeners, so clients never go around it; clients are offered
// Fetch up to v15, whose answers name no broker (see clamp). No other
// byte a client or a broker sends is changed.
//
// Clients may speak TLS to the proxy (TLS) and the proxy to the upstream
// (UpstreamTLS), independently. A client in the proxy's own process can
// reach it through memory instead of a socket (DialContext).
//
// What crosses is journaled as the emulator journals it (package
// journal): appends at the offsets the produce answers give, fetched
// ranges, offset commits, group generations, producer ids, transaction
// begins and ends, and every network fault added, hit and removed. Every
// request is validated first, as the emulator validates it.
//
// The network faults (package netfault) apply between the clients and
// the proxy: latency, dropped answers, closed connections, black holes,
// and partitions, which cut clients off brokers (the upstream's brokers
// still replicate among themselves). What needs the emulator's model
// (pausing replication, killing a broker, phantom members) is not
// available; FailLeader moves a leader with the upstream's own
// ElectLeaders, reordering the replicas first when the leader is the
// preferred one.
//
// The package knows nothing of the emulator (package fake).
package proxy
