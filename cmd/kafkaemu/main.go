// Command kafkaemu runs an emulated Kafka cluster outside go test, for
// suites in other languages: the brokers listen on 127.0.0.1 and an HTTP
// API on 127.0.0.1 breaks the cluster on purpose.
//
//	kafkaemu serve -brokers 3 -topic orders:3:3 -topic-config orders:min.insync.replicas=2 -http 127.0.0.1:7070
//	kafkaemu run scenarios/library           # scenario files (or a directory of them), outside go test
//	kafkaemu timeline journal.jsonl          # a journal (GET /journal) as a timeline report
//
// HTTP API (POST for faults, GET for state; errors are 4xx with a message):
//
//	GET  /brokers                          brokers and their addresses
//	GET  /partitions?topic=T               leader, replicas, ISR, high watermark per partition
//	GET  /journal                          every event as JSON lines
//	GET  /timeline                         the journal as a readable timeline report
//	POST /fail-leader?topic=T&partition=P
//	POST /pause-replication?topic=T&partition=P    /resume-replication?...
//	POST /kill-broker?broker=B             /restart-broker?broker=B
//	POST /rebalance?group=G                /expire-member?group=G&member=M
//	POST /move-coordinator?group=G
//	POST /latency?ms=N[&jitter_ms=N][&broker=B]    returns a fault id
//	POST /drop-responses?probability=P[&key=produce]   /blackhole?[broker=B]
//	DELETE /faults/ID                      removes a network fault
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
  kafkaemu run [-seed N] [-v] FILE|DIR... scenario files (a directory: its *.yaml), outside go test
  kafkaemu timeline [flags] [FILE]        a journal (GET /journal) as a timeline report
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
	case "run":
		return runFiles(args[1:], stdout, stderr)
	case "timeline":
		return timeline(args[1:], stdin, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q; commands: serve, run, timeline, help (kafkaemu -h)", args[0])
	}
}
