package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// proxyCmd runs the fault proxy in front of a real cluster and the HTTP
// API until ctx ends. ready, if not nil, gets the proxy and the API's
// address once both listen.
func proxyCmd(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(*proxy.Proxy, string)) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	upstream := fs.String("upstream", "", "the real cluster's bootstrap brokers, host:port[,host:port...] (one is enough: the proxy finds the others)")
	httpAddr := fs.String("http", "127.0.0.1:0", "address of the HTTP fault API (loopback only)")
	listenHost := fs.String("listen-host", "127.0.0.1", "host the brokers' listeners listen on (a non-loopback one needs -allow-non-loopback)")
	allowRemote := fs.Bool("allow-non-loopback", false, "let -listen-host be reachable from other machines (they reach the upstream through the proxy)")
	tlsf := addTLSFlags(fs, "the proxy's listeners")
	useTLS := fs.Bool("upstream-tls", false, "connect to the upstream brokers over TLS (system roots unless -upstream-ca)")
	caFile := fs.String("upstream-ca", "", "PEM file of the CA that signs the upstream brokers' certificates (implies -upstream-tls)")
	serverName := fs.String("upstream-server-name", "", "the name the upstream brokers' certificates carry, if not their host names")
	saslFlag := fs.String("upstream-sasl", "", "SASL for the proxy's own requests, mechanism:user:password with mechanism plain, scram-sha-256 or scram-sha-512 (clients' SASL passes through either way)")
	seed := fs.Int64("seed", 0, "seed of the network faults' random choices (0: random)")
	addrFile := fs.String("addr-file", "", "write the broker and API addresses to this file as JSON once the proxy is up")
	dialTimeout := fs.Duration("dial-timeout", 10*time.Second, "bound on each dial of an upstream broker and the first exchange with it")
	maxRequest := fs.Int("max-request-bytes", fake.DefaultMaxRequestBytes, "largest request frame a client may send; a larger one closes its connection")
	idle := fs.Duration("idle-timeout", fake.DefaultIdleTimeout, "close a client connection idle this long, or one that leaves a request unfinished this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("proxy: unexpected argument %q (flags only; kafkaemu proxy -h lists them)", fs.Arg(0))
	}
	if *upstream == "" {
		return errors.New("proxy: -upstream is required: the real cluster's bootstrap brokers, like -upstream kafka-1:9092")
	}
	var boot []string
	for _, a := range strings.Split(*upstream, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("-upstream %q: %q is not host:port", *upstream, a)
		}
		boot = append(boot, a)
	}
	host, _, err := net.SplitHostPort(*httpAddr)
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		return fmt.Errorf("-http %q: the API listens on loopback only (127.0.0.1:PORT)", *httpAddr)
	}
	if *maxRequest < 64 || *maxRequest > math.MaxInt32 {
		return fmt.Errorf("-max-request-bytes %d: want 64 to %d bytes", *maxRequest, math.MaxInt32)
	}
	opts := []proxy.Option{proxy.ListenHost(*listenHost), proxy.DialTimeout(*dialTimeout), proxy.MaxRequestBytes(*maxRequest), proxy.IdleTimeout(*idle)}
	if *allowRemote {
		opts = append(opts, proxy.AllowNonLoopback())
	}
	if *seed != 0 {
		opts = append(opts, proxy.Seed(*seed))
	}
	if *useTLS || *caFile != "" || *serverName != "" {
		cfg := &tls.Config{ServerName: *serverName}
		if *caFile != "" {
			pem, err := os.ReadFile(*caFile)
			if err != nil {
				return fmt.Errorf("-upstream-ca: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return fmt.Errorf("-upstream-ca %s: no PEM certificate in the file", *caFile)
			}
		}
		opts = append(opts, proxy.UpstreamTLS(cfg))
	}
	tlsCfg, err := tlsf.config()
	if err != nil {
		return err
	}
	if tlsCfg != nil {
		opts = append(opts, proxy.TLS(tlsCfg))
	}
	if *saslFlag != "" {
		m, err := parseSASL(*saslFlag)
		if err != nil {
			return fmt.Errorf("-upstream-sasl: %w", err)
		}
		opts = append(opts, proxy.UpstreamSASL(m))
	}
	p, err := proxy.New(ctx, boot, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("-http %s: %w", *httpAddr, err)
	}
	srv := &http.Server{Handler: newTargetAPI(realCluster{p}), ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10}
	for _, b := range p.Brokers() {
		fmt.Fprintf(stdout, "kafkaemu: broker %d %s -> %s\n", b.ID, b.Addr, b.Upstream)
	}
	fmt.Fprintf(stdout, "kafkaemu: brokers %s (seed %d)\nkafkaemu: fault API http://%s\n", strings.Join(p.Addrs(), ","), p.Seed(), ln.Addr())
	if *addrFile != "" {
		b, err := json.Marshal(addrs{Brokers: p.Addrs(), API: "http://" + ln.Addr().String(), Seed: p.Seed(), Upstream: p.Upstream()})
		if err == nil {
			err = writeFileAtomic(*addrFile, append(b, '\n'))
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("-addr-file: %w", err)
		}
		defer os.Remove(*addrFile)
	}
	if ready != nil {
		ready(p, ln.Addr().String())
	}
	_, err = runHTTP(ctx, srv, ln, nil)
	return err
}

// parseSASL reads mechanism:user:password.
func parseSASL(s string) (sasl.Mechanism, error) {
	mech, rest, ok := strings.Cut(s, ":")
	user, pass, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || user == "" {
		return nil, fmt.Errorf("%q: want mechanism:user:password, like plain:alice:secret", s)
	}
	switch strings.ToLower(mech) {
	case "plain":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "scram-sha-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("mechanism %q: want plain, scram-sha-256 or scram-sha-512", mech)
}

// realCluster is the API's target under kafkaemu proxy: a real cluster
// behind the fault proxy. The network faults and the journal work as
// under serve; fail-leader uses the upstream's own ElectLeaders; the
// verbs that need the emulator's model answer 501.
type realCluster struct{ p *proxy.Proxy }

// needsEmulator is why each emulator-only endpoint is not available.
var needsEmulator = map[string]string{
	"/pause-replication":  "the emulator's replication model (a real cluster replicates on its own)",
	"/resume-replication": "the emulator's replication model (a real cluster replicates on its own)",
	"/kill-broker":        "the emulator (the proxy cannot stop a real broker; stop it yourself, or cut clients off it with /network-partition?brokers=B)",
	"/restart-broker":     "the emulator (the proxy cannot start a real broker)",
	"/rebalance":          "the emulator's group coordinator",
	"/expire-member":      "the emulator's group coordinator (a /blackhole?client=ID on the member's client lets its session expire)",
	"/join-phantom":       "the emulator's group coordinator",
	"/leave-phantom":      "the emulator's group coordinator",
	"/move-coordinator":   "the emulator's group coordinator",
	"/inject-error":       "kfake's error injection",
	"/isolate":            "the emulator's controller model (a real cluster fences brokers on its own)",
}

func (r realCluster) unsupported(path string) string {
	if why, ok := needsEmulator[path]; ok {
		return fmt.Sprintf("%s needs %s; the target is a real cluster behind kafkaemu proxy", strings.TrimPrefix(strings.TrimSuffix(path, "/{group}"), "/"), why)
	}
	return ""
}

func (r realCluster) brokersView() any { return r.p.Brokers() }

func (r realCluster) Brokers() []fake.BrokerState {
	var out []fake.BrokerState
	for _, b := range r.p.Brokers() {
		out = append(out, fake.BrokerState{ID: b.ID, Addr: b.Addr, Up: true})
	}
	return out
}

func (r realCluster) Topics() []string {
	ctx, cancel := contextTimeout(30 * time.Second)
	defer cancel()
	ts, _ := r.p.Topics(ctx)
	return ts
}

func (r realCluster) Partition(topic string, partition int32) (fake.PartitionState, error) {
	ctx, cancel := contextTimeout(30 * time.Second)
	defer cancel()
	st, err := r.p.Partition(ctx, topic, partition)
	if err != nil {
		return fake.PartitionState{}, err
	}
	return fake.PartitionState{Topic: st.Topic, Partition: st.Partition, Leader: st.Leader, LeaderEpoch: st.LeaderEpoch, Replicas: st.Replicas, ISR: st.ISR,
		HighWatermark: st.HighWatermark, LogEndOffset: st.HighWatermark, LogStartOffset: st.LogStartOffset}, nil
}

func (r realCluster) Groups() ([]string, error) {
	ctx, cancel := contextTimeout(30 * time.Second)
	defer cancel()
	return r.p.Groups(ctx)
}

func (r realCluster) Group(group string) (*kfake.GroupInfo, error) {
	ctx, cancel := contextTimeout(30 * time.Second)
	defer cancel()
	gi, err := r.p.Group(ctx, group)
	if err == nil && gi == nil {
		err = fmt.Errorf("unknown group %q", group)
	}
	return gi, err
}

func (r realCluster) FailLeader(topic string, partition int32) (int32, error) {
	ctx, cancel := contextTimeout(30 * time.Second)
	defer cancel()
	return r.p.FailLeader(ctx, topic, partition)
}

func (r realCluster) AddFault(f fake.NetFault, targets ...fake.Target) (*fake.FaultHandle, error) {
	return r.p.AddFault(f, targets...)
}

func (r realCluster) Journal() []fake.Event          { return r.p.Journal() }
func (r realCluster) JournalDropped() int64          { return 0 }
func (r realCluster) WriteJournal(w io.Writer) error { return r.p.WriteJournal(w) }
func (r realCluster) Seed() int64                    { return r.p.Seed() }

func (r realCluster) brokerHistory(ctx context.Context) (*assertions.History, error) {
	return harness.BrokerHistoryOfProxy(ctx, r.p)
}

// The verbs unsupported lists never reach these.
var errNeedsEmulator = errors.New("needs the emulator")

func (realCluster) PauseReplication(string, int32) error      { return errNeedsEmulator }
func (realCluster) ResumeReplication(string, int32) error     { return errNeedsEmulator }
func (realCluster) PauseFollower(int32) error                 { return errNeedsEmulator }
func (realCluster) ResumeFollower(int32) error                { return errNeedsEmulator }
func (realCluster) KillBroker(int32) error                    { return errNeedsEmulator }
func (realCluster) RestartBroker(int32) error                 { return errNeedsEmulator }
func (realCluster) Rebalance(context.Context, string) error   { return errNeedsEmulator }
func (realCluster) ExpireMember(string, string) error         { return errNeedsEmulator }
func (realCluster) JoinPhantom(string, int) ([]string, error) { return nil, errNeedsEmulator }
func (realCluster) LeavePhantom(string, int) error            { return errNeedsEmulator }
func (realCluster) MoveCoordinator(string) (int32, error)     { return -1, errNeedsEmulator }
func (realCluster) InjectError(kfake.Fault) (*fake.InjectedError, error) {
	return nil, errNeedsEmulator
}
