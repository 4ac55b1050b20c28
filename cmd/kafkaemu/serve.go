package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/internal/selfsigned"
	"github.com/twmb/franz-go/pkg/kfake"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// serve runs the cluster and the HTTP API until ctx ends. ready, if not
// nil, gets the cluster and the API's address once both listen.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(*fake.Cluster, string)) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.Int("brokers", 3, "number of brokers")
	seed := fs.Int64("seed", 0, "cluster seed (0: random)")
	httpAddr := fs.String("http", "127.0.0.1:0", "address of the HTTP fault API (loopback only)")
	lag := fs.Duration("replica-lag-max", 200*time.Millisecond, "replica.lag.time.max")
	session := fs.Duration("broker-session-timeout", fake.DefaultBrokerSessionTimeout, "how long a broker cut off by POST /isolate keeps its leaderships before the controller fences it (Kafka's broker.session.timeout.ms)")
	autoCreate := fs.Bool("auto-create-topics", true, "create unknown topics on first use")
	ports := fs.String("ports", "", "fixed broker ports, one per broker, like 9092,9093,9094 (default: random free ports)")
	addrFile := fs.String("addr-file", "", "write the broker and API addresses to this file as JSON once the cluster is up")
	maxRequest := fs.Int("max-request-bytes", fake.DefaultMaxRequestBytes, "largest request frame a client may send (Kafka's socket.request.max.bytes); a larger one closes its connection")
	idle := fs.Duration("idle-timeout", fake.DefaultIdleTimeout, "close a client connection idle this long, or one that leaves a request unfinished this long (Kafka's connections.max.idle.ms)")
	journalPath := fs.String("journal", "", "stream every journal event to this file as JSON lines as it happens (flushed every 100ms and on exit; -journal-max does not apply to it)")
	journalMax := fs.Int("journal-max", defaultJournalMax, "keep at most this many journal events in memory for GET /journal and /timeline; older ones are dropped from memory with a count, never from the -journal file (0: keep all)")
	tlsf := addTLSFlags(fs, "the brokers")
	var topics, configs, sasl multiFlag
	fs.Var(&sasl, "sasl", "require SASL: a user as MECHANISM:user:password, MECHANISM one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (repeatable)")
	fs.Var(&topics, "topic", "topic as name:partitions:replicas (repeatable)")
	fs.Var(&configs, "topic-config", "topic config as name:key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*httpAddr)
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		return fmt.Errorf("-http %q: the API listens on loopback only (127.0.0.1:PORT)", *httpAddr)
	}
	if *maxRequest < 64 || *maxRequest > math.MaxInt32 {
		return fmt.Errorf("-max-request-bytes %d: want 64 to %d bytes", *maxRequest, math.MaxInt32)
	}
	if *idle <= 0 {
		return fmt.Errorf("-idle-timeout %v: want a positive duration, like 1m", *idle)
	}
	if *session <= 0 {
		return fmt.Errorf("-broker-session-timeout %v: want a positive duration, like 9s", *session)
	}
	if *journalMax < 0 || *journalMax > maxJournalMax {
		return fmt.Errorf("-journal-max %d: want 0 (keep all) to %d events", *journalMax, maxJournalMax)
	}
	var fixed []int
	if *ports != "" {
		for _, f := range strings.Split(*ports, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("-ports %q: %q is not a port; want port numbers separated by commas, like 9092,9093,9094", *ports, f)
			}
			if slices.Contains(fixed, n) {
				return fmt.Errorf("-ports %q: port %d is listed twice", *ports, n)
			}
			fixed = append(fixed, n)
		}
		brokersSet := false
		fs.Visit(func(f *flag.Flag) { brokersSet = brokersSet || f.Name == "brokers" })
		if brokersSet && *brokers != len(fixed) {
			return fmt.Errorf("-ports lists %d ports for -brokers %d; give one port per broker", len(fixed), *brokers)
		}
		*brokers = len(fixed)
	}
	opts := []fake.Option{fake.Brokers(*brokers), fake.ReplicaLagMax(*lag), fake.MaxRequestBytes(*maxRequest), fake.IdleTimeout(*idle), fake.BrokerSessionTimeout(*session)}
	if len(fixed) > 0 {
		opts = append(opts, fake.KfakeOpts(kfake.Ports(fixed...)))
	}
	if *seed != 0 {
		opts = append(opts, fake.Seed(*seed))
	}
	if *autoCreate {
		opts = append(opts, fake.AutoCreateTopics())
	}
	cfgs := map[string]map[string]string{}
	for _, c := range configs {
		name, kv, ok := strings.Cut(c, ":")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || name == "" || k == "" {
			return fmt.Errorf("-topic-config %q: want name:key=value", c)
		}
		if cfgs[name] == nil {
			cfgs[name] = map[string]string{}
		}
		cfgs[name][k] = v
	}
	for _, t := range topics {
		parts := strings.Split(t, ":")
		if len(parts) != 3 {
			return fmt.Errorf("-topic %q: want name:partitions:replicas", t)
		}
		p, err1 := strconv.Atoi(parts[1])
		r, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("-topic %q: partitions and replicas must be numbers", t)
		}
		opts = append(opts, fake.Topic(parts[0], int32(p), int16(r), cfgs[parts[0]]))
	}
	for _, u := range sasl {
		mech, rest, ok := strings.Cut(u, ":")
		user, pass, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || user == "" {
			return fmt.Errorf("-sasl %q: want MECHANISM:user:password, like PLAIN:alice:secret", u)
		}
		opts = append(opts, fake.SASL(mech, user, pass))
	}
	if *journalMax > 0 {
		opts = append(opts, fake.JournalLimit(*journalMax))
	}
	tlsCfg, err := tlsf.config()
	if err != nil {
		return err
	}
	if tlsCfg != nil {
		opts = append(opts, fake.TLS(tlsCfg))
	}
	// Everything that can be refused is, before anything listens: the
	// journal file is opened before the cluster starts.
	var jf *journalFile
	if *journalPath != "" {
		if jf, err = openJournalFile(*journalPath); err != nil {
			return err
		}
		opts = append(opts, fake.OnJournal(jf.write))
	}
	c, err := fake.New(opts...)
	if err != nil {
		if jf != nil {
			_ = jf.close()
		}
		if len(fixed) > 0 {
			return fmt.Errorf("-ports %s: %w", *ports, err)
		}
		return err
	}
	// closeAll closes the cluster, then the journal file, so that the file
	// ends with the cluster's last event.
	closeAll := func(err error) error {
		cerr := c.Close()
		if jf != nil {
			if jerr := jf.close(); err == nil {
				err = jerr
			}
		}
		if err == nil {
			err = cerr
		}
		return err
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return closeAll(fmt.Errorf("-http %s: %w", *httpAddr, err))
	}
	srv := &http.Server{Handler: newAPI(c), ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10}
	fmt.Fprintf(stdout, "kafkaemu: brokers %s (seed %d)\nkafkaemu: fault API http://%s\n", strings.Join(c.Addrs(), ","), c.Seed(), ln.Addr())
	if *addrFile != "" {
		if err := writeAddrFile(*addrFile, c, ln.Addr().String()); err != nil {
			ln.Close()
			return closeAll(fmt.Errorf("-addr-file: %w", err))
		}
		defer os.Remove(*addrFile)
	}
	if ready != nil {
		ready(c, ln.Addr().String())
	}
	var journalFailed <-chan struct{} // nil without -journal: never ready
	if jf != nil {
		journalFailed = jf.failed
	}
	// A journal the file does not hold all of is no journal: stop.
	journalStopped, err := runHTTP(ctx, srv, ln, journalFailed)
	if err != nil {
		return closeAll(err)
	}
	if err := closeAll(nil); err != nil {
		return err
	}
	if journalStopped {
		return errors.New("stopping: the journal file cannot be written")
	}
	return nil
}

// runHTTP serves srv on ln until ctx ends (SIGINT, SIGTERM) or failed is
// closed (nil: never), then shuts it down. stopped reports that failed
// ended it.
func runHTTP(ctx context.Context, srv *http.Server, ln net.Listener, failed <-chan struct{}) (stopped bool, err error) {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return false, err
	case <-failed:
		stopped = true
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return stopped, err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return stopped, err
	}
	return stopped, nil
}

// The bounds of -journal-max: by default a million events in memory
// (an event takes a few hundred bytes), at most a billion.
const (
	defaultJournalMax = 1_000_000
	maxJournalMax     = 1_000_000_000
)

// addrs is what -addr-file holds.
type addrs struct {
	Brokers []string `json:"brokers"` // host:port of each broker, by id
	API     string   `json:"api"`     // the fault API's base URL
	Seed    int64    `json:"seed"`
	// Upstream is the real cluster's bootstrap list (kafkaemu proxy only).
	Upstream []string `json:"upstream,omitempty"`
}

// writeAddrFile writes the addresses to path at once (a temporary file
// renamed into place), so a reader never sees half a file.
func writeAddrFile(path string, c *fake.Cluster, api string) error {
	b, err := json.Marshal(addrs{Brokers: c.Addrs(), API: "http://" + api, Seed: c.Seed()})
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes a temporary file and renames it into place.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// tlsFlags are the flags of a listener that speaks TLS to clients
// (serve's brokers, the proxy's listeners).
type tlsFlags struct {
	on                       *bool
	caOut, certFile, keyFile *string
}

// addTLSFlags defines -tls, -tls-ca-out, -tls-cert and -tls-key on fs;
// who names what speaks TLS ("brokers", "the proxy's listeners").
func addTLSFlags(fs *flag.FlagSet, who string) tlsFlags {
	return tlsFlags{
		on:       fs.Bool("tls", false, who+" speak TLS to clients, with a self-signed certificate for 127.0.0.1 and localhost (see -tls-ca-out) unless -tls-cert and -tls-key"),
		caOut:    fs.String("tls-ca-out", "", "write the self-signed certificate, the CA clients trust, to this file as PEM before "+who+" listen (implies -tls)"),
		certFile: fs.String("tls-cert", "", "the certificate (chain) of "+who+" as a PEM file, with -tls-key (implies -tls)"),
		keyFile:  fs.String("tls-key", "", "the private key of -tls-cert as a PEM file"),
	}
}

// config is the server TLS config the flags ask for (nil without TLS):
// the user's certificate, or a self-signed one whose PEM goes to
// -tls-ca-out.
func (f tlsFlags) config() (*tls.Config, error) {
	caOut, certFile, keyFile := *f.caOut, *f.certFile, *f.keyFile
	switch {
	case (certFile == "") != (keyFile == ""):
		return nil, errors.New("-tls-cert and -tls-key go together: give both PEM files, or neither for a self-signed certificate")
	case certFile != "" && caOut != "":
		return nil, errors.New("-tls-ca-out writes the self-signed certificate kafkaemu makes; with -tls-cert the CA is your own")
	case certFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert %s -tls-key %s: %w", certFile, keyFile, err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
	case !*f.on && caOut == "":
		return nil, nil
	}
	cert, err := selfsigned.New()
	if err != nil {
		return nil, err
	}
	if caOut != "" {
		if err := os.WriteFile(caOut, cert.CertPEM(), 0o644); err != nil {
			return nil, fmt.Errorf("-tls-ca-out: %w", err)
		}
	}
	return cert.ServerConfig(), nil
}
