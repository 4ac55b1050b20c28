// Package observe turns Kafka requests and their answers, as a wire layer
// sees them pass, into journal events: appends with the offsets a produce
// answer gave, fetched record ranges, offset commits, group generations,
// producer ids and transaction ends. The emulator (package fake) and the
// fault proxy (package proxy) journal what crosses them with it, so both
// journals read the same (harness.BrokerHistory, the assertions).
package observe
