// Command kafkaemu runs an emulated Kafka cluster outside go test, for
// suites in other languages: the brokers listen on 127.0.0.1 and an HTTP
// API on 127.0.0.1 breaks the cluster on purpose. kafkaemu proxy puts the
// same API in front of a real cluster (docs/real-cluster.md).
//
//	kafkaemu serve -brokers 3 -topic orders:3:3 -topic-config orders:min.insync.replicas=2 -http 127.0.0.1:7070
//	kafkaemu serve -tls -tls-ca-out ca.pem   # brokers speak TLS; clients trust ca.pem
//	kafkaemu proxy -upstream kafka-1:9092    # the fault proxy in front of a real cluster
//	kafkaemu run scenarios/library           # scenario files (or a directory of them), outside go test
//	kafkaemu run -html pages scenarios/library   # ... and a timeline page per scenario in pages/
//	kafkaemu run -bootstrap kafka-1:9092 scenarios/library/retries-duplicate-without-idempotence.yaml   # against a real cluster
//	kafkaemu timeline journal.jsonl          # a journal (GET /journal) as a timeline report
//	kafkaemu timeline -html run.html journal.jsonl   # ... as a timeline page to look at in a browser
//
// serve's flags: -brokers N, -topic name:partitions:replicas,
// -topic-config name:key=value, -seed N, -replica-lag-max D,
// -http 127.0.0.1:PORT, -ports 9092,9093,9094 (fixed broker ports, one per
// broker), -addr-file FILE (the addresses as JSON once the cluster is up:
// {"brokers":["127.0.0.1:9092",...],"api":"http://127.0.0.1:7070","seed":N},
// removed on exit), -auto-create-topics, -max-request-bytes N (Kafka's
// socket.request.max.bytes: a client's larger request frame closes its
// connection; default 100 MiB), -idle-timeout D (Kafka's
// connections.max.idle.ms: a client connection idle this long, or one
// that leaves a request unfinished this long, is closed; default 1m),
// -broker-session-timeout D (Kafka's broker.session.timeout.ms: how long
// a broker cut off by POST /isolate keeps its leaderships before the
// controller fences it; default 9s),
// -sasl MECHANISM:user:password (require SASL; PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512; repeatable), -tls (the brokers speak TLS to clients, an
// SSL listener: a self-signed certificate for 127.0.0.1 and localhost
// whose PEM, the CA for clients, -tls-ca-out FILE writes before the
// brokers listen; or -tls-cert FILE -tls-key FILE, PEM, for your own;
// -tls-ca-out or -tls-cert imply -tls; the brokers advertise the same
// 127.0.0.1 addresses), -journal FILE (every journal event as a JSON line, written as it
// happens: flushed every 100 ms and on exit), -journal-max N (at most N
// events in memory for GET /journal and /timeline, default 1000000, 0 for
// all; older ones are dropped from memory with a count, never from
// -journal's file). A flag out of range or a -journal file that cannot be
// created is refused before anything listens; a -journal file that fails
// later (a full disk) stops serve with the error. SIGINT and SIGTERM stop
// the API, close the cluster and flush the journal file.
//
// proxy's flags: -upstream host:port[,host:port...] (required; one broker
// is enough, the proxy finds the rest and fronts every one, one listener
// each), -listen-host H (default 127.0.0.1; another needs
// -allow-non-loopback), -upstream-tls, -upstream-ca FILE,
// -upstream-server-name NAME (TLS to the upstream), -tls, -tls-ca-out
// FILE, -tls-cert FILE -tls-key FILE (clients speak TLS to the proxy, as
// under serve; independent of the upstream's TLS), -upstream-sasl MECHANISM:user:password (the
// proxy's own requests; clients' SASL passes through), -seed N, -http,
// -addr-file FILE (as serve's, with "upstream"), -dial-timeout D,
// -max-request-bytes N, -idle-timeout D. It serves the API below for the
// network faults, /journal, /timeline, /brokers, /topics, /partitions,
// /groups (classic and KIP-848), /faults and /fail-leader (the upstream's ElectLeaders); the verbs that
// need the emulator's model answer 501 with the reason.
//
// HTTP API: POST for faults, GET for state. Parameters go in the query
// string (or a form body) and are named as in the scenario YAML
// (scenarios/REFERENCE.md); durations are Go durations ("10ms"); request
// names are Kafka's in kebab-case, separated by commas. An unknown or
// repeated parameter is refused (400) before anything happens. Every
// answer is JSON: the result (verbs without one answer {"ok":true}), or
// {"error":"..."} with 400 (bad parameter), 404, 405, 409 (the verb
// failed: a broker already down, replication already paused, ...), 413 (a
// body over 64 KiB), 414 (a query string over 4 KiB) or, under kafkaemu
// proxy, 501 (the verb needs the emulator).
//
//	GET  /brokers                          brokers, their addresses and state
//	GET  /topics                           topics, their partition count and replication factor
//	GET  /partitions[?topic=T[&partition=P]]   leader, replicas, ISR, watermarks (no topic: all)
//	GET  /groups                           groups with state, epoch, members, assignments, commits
//	GET  /groups/G                         one group
//	GET  /faults                           the faults this API added: id, verb, description, hits
//	GET  /journal                          the journal's events as JSON lines (header Kafkaemu-Journal-Dropped: how many -journal-max dropped)
//	GET  /timeline                         the journal as a readable timeline report
//	GET  /timeline.html                    the journal as a timeline page (kafkaemu timeline -html)
//	GET  /check[?topic=T,U][&consumed-by=G] the anomaly checker's verdict on the broker-side history
//	                                       (harness.BrokerHistory): {"ok":B,"counts":{"lost-write":N},"findings":[...],"report":"..."}
//	POST /fail-leader?topic=T[&partition=P]            {"leader":B,...}; without partition, every partition
//	POST /pause-replication?topic=T[&partition=P] | ?broker=B   /resume-replication (same)
//	POST /kill-broker?broker=B             /restart-broker?broker=B
//	POST /rebalance?group=G                /expire-member?member=M[&group=G]
//	POST /join-phantom?group=G[&count=N]   /leave-phantom?group=G[&count=N]
//	POST /move-coordinator?group=G         {"coordinator":B}
//	POST /latency?delay=D[&jitter=D]       network faults, each with optional
//	POST /drop-responses[?probability=P]   &broker=B &client=ID &requests=produce,fetch
//	POST /close-connections                &count=N (removed after N hits);
//	POST /blackhole                        they answer {"id":N,"fault":"..."}
//	POST /network-partition?brokers=0,1    isolates brokers 0 and 1
//	POST /isolate?broker=B[&client=ID]     split brain: B loses the controller and its peers, clients still
//	                                       reach it (client=ID: not that one); broker=leader-of%20T/P isolates
//	                                       T/P's leader; {"id":N,"broker":B,...}; DELETE /faults/N heals it
//	POST /inject-error?error=NOT_ENOUGH_REPLICAS&requests=produce[&broker=B][&topic=T[&partition=P]][&group=G][&count=N]
//	DELETE /faults/ID                      removes a fault: {"hits":N,...}
//
// JSON field names are lower case with words joined by _, as in the
// journal (high_watermark, leader_epoch, replication_paused).
//
// Changed from earlier versions: GET /brokers and /partitions name their
// fields like the journal (high_watermark, not HighWatermark); latency's
// ms and jitter_ms are delay and jitter (durations), key is requests,
// errors are JSON, and success is {"ok":true} rather than {"ok":"true"}.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kafkaemu:", err)
		os.Exit(2)
	}
}

// usage is what kafkaemu -h prints.
const usage = `usage:
  kafkaemu serve [flags]                  a cluster with an HTTP fault API (kafkaemu serve -h for its flags)
  kafkaemu proxy -upstream HOST:PORT,...  the same fault API in front of a real cluster (kafkaemu proxy -h for its flags)
  kafkaemu run [-seed N] [-v] [-html DIR] [-bootstrap HOST:PORT] FILE|DIR...  scenario files (a directory: its *.yaml), outside go test; -html: a timeline page each
  kafkaemu timeline [flags] [FILE]        a journal (GET /journal) as a timeline report; -html FILE|- as a page
  kafkaemu help                           this text
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, nil)
	case "proxy":
		return proxyCmd(ctx, args[1:], stdout, stderr, nil)
	case "run":
		return runFiles(args[1:], stdout, stderr)
	case "timeline":
		return timelineCmd(args[1:], stdin, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q; commands: serve, proxy, run, timeline, help (kafkaemu -h)", args[0])
	}
}
