// Package logread reads a partition's log back through Fetch requests:
// every record from the log start to the high watermark, transaction
// markers left out and aborted records marked. The emulator (fake) reads
// its kfake brokers with it and the fault proxy (proxy) the upstream's,
// each through its own Fetcher.
package logread
