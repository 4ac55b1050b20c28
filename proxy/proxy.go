package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Proxy fronts a Kafka cluster: one listener per upstream broker, each
// passing its clients' requests to that broker over a connection of its
// own, with the network faults applied and what crosses journaled.
type Proxy struct {
	cfg       config
	bootstrap []string
	journal   journal.Log
	faults    *netfault.Layer
	versions  wire.Versions
	probed    *kmsg.ApiVersionsResponse // the bootstrap broker's ApiVersions answer
	admin     *kgo.Client               // the proxy's own requests, straight to the upstream

	mu       sync.Mutex
	brokers  map[int32]*broker
	topicIDs map[[16]byte]string
	appended map[appendKey]int64 // idempotent batches journaled: their base offset
	order    []appendKey         // appended's keys, oldest first
	closed   bool

	wg        sync.WaitGroup // listeners' accept loops and connection pipes
	closeOnce sync.Once
}

// broker is one upstream broker and its listener.
type broker struct {
	id       int32
	upstream string // host:port, as the upstream advertises it
	ln       *wire.Listener
}

// Broker is one fronted broker.
type Broker struct {
	ID       int32  `json:"id"`
	Addr     string `json:"addr"`     // the proxy's listener: what clients connect to
	Upstream string `json:"upstream"` // the broker's own address
}

// New connects to the cluster whose brokers upstream names (one is
// enough: the others are found through Metadata), checks that it speaks
// Kafka, and listens for every broker it has. Close it when done.
func New(ctx context.Context, upstream []string, opts ...Option) (*Proxy, error) {
	cfg := config{host: "127.0.0.1", dialTimeout: 10 * time.Second}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("proxy.New: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if len(upstream) == 0 {
		return nil, errors.New("proxy.New: no upstream broker; name at least one host:port")
	}
	for _, a := range upstream {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("proxy.New: upstream %q is not host:port", a)
		}
	}
	if !cfg.remote && !isLoopback(cfg.host) {
		return nil, fmt.Errorf("proxy.ListenHost(%q): not a loopback address; clients on other machines could reach the upstream cluster through the proxy: pass proxy.AllowNonLoopback() (kafkaemu proxy -allow-non-loopback) to mean it", cfg.host)
	}
	if !cfg.seedSet {
		cfg.seed = rand.Int64()
	}
	if cfg.dial == nil {
		d := &net.Dialer{Timeout: cfg.dialTimeout}
		cfg.dial = d.DialContext
	}
	p := &Proxy{
		cfg:       cfg,
		bootstrap: slices.Clone(upstream),
		brokers:   map[int32]*broker{},
		topicIDs:  map[[16]byte]string{},
		appended:  map[appendKey]int64{},
	}
	p.faults = netfault.NewLayer(netfault.Config{
		Seed:    cfg.seed,
		Journal: &p.journal,
		Name:    "proxy",
		Brokers: p.brokerIDs,
		Check: func(f netfault.NetFault) error {
			if f.Kind() == netfault.KindIsolate {
				return errors.New("proxy.Isolate: isolating a broker from its controller and peers needs the emulator (the target is a real cluster); netfault.Partition cuts clients off a broker")
			}
			return nil
		},
	})

	// Speak Kafka with one of the named brokers before anything else,
	// for an error that says what is wrong with the address.
	var probeErrs []error
	for _, a := range upstream {
		resp, err := p.probe(ctx, a)
		if err == nil {
			p.probed = resp
			break
		}
		probeErrs = append(probeErrs, err)
	}
	if p.probed == nil {
		return nil, fmt.Errorf("proxy.New: %w", errors.Join(probeErrs...))
	}

	kopts := []kgo.Opt{
		kgo.SeedBrokers(upstream...),
		kgo.Dialer(p.dialUpstream),
		kgo.ClientID("kafkaemu-proxy"),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.MetadataMinAge(50 * time.Millisecond),
	}
	if cfg.sasl != nil {
		kopts = append(kopts, kgo.SASL(cfg.sasl))
	}
	admin, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("proxy.New: %w", err)
	}
	p.admin = admin
	if err := p.discover(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("proxy.New: %w", err)
	}
	return p, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialUpstream dials an upstream broker, over TLS if configured.
func (p *Proxy) dialUpstream(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.dialTimeout)
	defer cancel()
	c, err := p.cfg.dial(ctx, network, addr)
	if err != nil || p.cfg.tls == nil {
		return c, err
	}
	tc := p.cfg.tls.Clone()
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(addr)
	}
	conn := tls.Client(c, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return conn, nil
}

// probe sends one ApiVersions request to addr and reads the answer, to
// tell an unreachable address and one that does not speak Kafka from a
// broker.
func (p *Proxy) probe(ctx context.Context, addr string) (*kmsg.ApiVersionsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.dialTimeout)
	defer cancel()
	c, err := p.dialUpstream(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("upstream %s is unreachable: %w", addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	for _, version := range []int16{3, 0} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = version
		req.ClientSoftwareName, req.ClientSoftwareVersion = "kafkaemu-proxy", "1"
		frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("kafkaemu-proxy")).AppendRequest(nil, req, int32(version)+1)
		if _, err := c.Write(frame); err != nil {
			return nil, fmt.Errorf("upstream %s: sending ApiVersions: %w", addr, err)
		}
		var size [4]byte
		n, err := io.ReadFull(c, size[:])
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("upstream %s accepted the connection but did not answer an ApiVersions request within %v: is it a Kafka broker (and does it want TLS: -upstream-tls)?", addr, p.cfg.dialTimeout)
			}
			if n == 0 {
				return nil, fmt.Errorf("upstream %s closed the connection without answering an ApiVersions request: is it a Kafka broker (and does it want TLS: -upstream-tls)?", addr)
			}
			return nil, notKafka(addr, size[:n], c)
		}
		length := int32(binary.BigEndian.Uint32(size[:]))
		if length < 4 || length > 1<<20 {
			return nil, notKafka(addr, size[:], c)
		}
		resp := make([]byte, 4+int(length))
		copy(resp, size[:])
		if _, err := io.ReadFull(c, resp[4:]); err != nil {
			return nil, fmt.Errorf("upstream %s: reading the ApiVersions answer: %w", addr, err)
		}
		if corr := int32(binary.BigEndian.Uint32(resp[4:8])); corr != int32(version)+1 {
			return nil, notKafka(addr, resp, nil)
		}
		r := kmsg.NewPtrApiVersionsResponse()
		r.Version = version
		if err := wire.DecodeResponse(resp, r); err != nil {
			if version > 0 {
				// A broker that does not speak v3 answers in v0.
				r = kmsg.NewPtrApiVersionsResponse()
				if wire.DecodeResponse(resp, r) == nil && r.ErrorCode == kerr.UnsupportedVersion.Code {
					continue
				}
			}
			return nil, notKafka(addr, resp, nil)
		}
		if r.ErrorCode == kerr.UnsupportedVersion.Code && version > 0 {
			continue
		}
		if r.ErrorCode != 0 {
			return nil, fmt.Errorf("upstream %s answered ApiVersions with %s", addr, kerr.ErrorForCode(r.ErrorCode))
		}
		return r, nil
	}
	return nil, fmt.Errorf("upstream %s speaks neither ApiVersions v3 nor v0", addr)
}

// notKafka is the error for an upstream that answered with something else
// than a Kafka response, showing its first bytes.
func notKafka(addr string, head []byte, c net.Conn) error {
	if c != nil && len(head) < 64 {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		more := make([]byte, 64-len(head))
		n, _ := c.Read(more)
		head = append(head, more[:n]...)
	}
	hint := "is it a Kafka broker?"
	switch {
	case len(head) >= 2 && head[0] == 0x15 && head[1] == 0x03:
		hint = "that is a TLS alert: the upstream wants TLS (-upstream-tls, proxy.UpstreamTLS)"
	case strings.HasPrefix(string(head), "HTTP/"):
		hint = "that is an HTTP server, not a Kafka broker"
	case strings.HasPrefix(string(head), "SSH-"):
		hint = "that is an SSH server, not a Kafka broker"
	}
	return fmt.Errorf("upstream %s does not speak Kafka: it answered an ApiVersions request with %q; %s", addr, printable(head), hint)
}

func printable(b []byte) string {
	if len(b) > 48 {
		b = b[:48]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '.'
		}
		return r
	}, string(b))
}

// discover learns the upstream's brokers and listens for each, checking
// that each can be reached at the address it advertises.
func (p *Proxy) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*p.cfg.dialTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // no topics: brokers only
	kresp, err := p.adminRequest(ctx, req)
	if err != nil {
		hint := ""
		if p.cfg.sasl == nil {
			hint = " (an upstream that requires SASL needs proxy.UpstreamSASL, kafkaemu proxy -upstream-sasl, for the proxy's own requests)"
		}
		return fmt.Errorf("asking upstream %s for its brokers (Metadata): %w%s", strings.Join(p.bootstrap, ","), err, hint)
	}
	resp := kresp.(*kmsg.MetadataResponse)
	if len(resp.Brokers) == 0 {
		return fmt.Errorf("upstream %s lists no brokers in its Metadata answer", strings.Join(p.bootstrap, ","))
	}
	slices.SortFunc(resp.Brokers, func(a, b kmsg.MetadataResponseBroker) int { return int(a.NodeID) - int(b.NodeID) })
	var unreachable []error
	for _, b := range resp.Brokers {
		addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		if slices.Contains(p.bootstrap, addr) {
			continue
		}
		if _, err := p.probe(ctx, addr); err != nil {
			unreachable = append(unreachable, fmt.Errorf("broker %d: %w", b.NodeID, err))
		}
	}
	if len(unreachable) > 0 {
		var all []string
		for _, b := range resp.Brokers {
			all = append(all, fmt.Sprintf("%d at %s", b.NodeID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))))
		}
		return fmt.Errorf("the upstream has %d brokers (%s) and the proxy must front all of them, or clients would be sent around it, but %d cannot be reached from here at the address it advertises (check the brokers' advertised.listeners): %w",
			len(resp.Brokers), strings.Join(all, ", "), len(unreachable), errors.Join(unreachable...))
	}
	for _, b := range resp.Brokers {
		if _, err := p.front(b.NodeID, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))); err != nil {
			return err
		}
	}
	return nil
}

// adminRequest sends req with the proxy's own client and waits for the
// answer until ctx is done: kgo does not watch ctx while it sets up a
// connection (a broker that accepts and never answers would hold New for
// kgo's own 10 s). A request given up on ends when Close closes the
// client.
func (p *Proxy) adminRequest(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	type result struct {
		resp kmsg.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := p.admin.Request(ctx, req)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// front is the listener for upstream broker id at addr, started the first
// time a broker is seen (at New, or in a later Metadata answer).
func (p *Proxy) front(id int32, addr string) (*broker, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, net.ErrClosed
	}
	if b := p.brokers[id]; b != nil {
		b.upstream = addr // a broker may move
		return b, nil
	}
	cfg := p.cfg.wire
	cfg.Node = id
	cfg.Versions = p.versionTable
	cfg.Route = p.route
	cfg.Faults = p.faults
	cfg.Journal = &p.journal
	cfg.InternalClientID = "kafkaemu-proxy"
	ln, err := wire.NewListener(cfg, net.JoinHostPort(p.cfg.host, "0"))
	if err != nil {
		return nil, fmt.Errorf("listening for broker %d (%s) on %s: %w", id, addr, p.cfg.host, err)
	}
	b := &broker{id: id, upstream: addr, ln: ln}
	p.brokers[id] = b
	p.wg.Add(1)
	go p.serve(b)
	p.journal.Add(journal.Event{Kind: journal.EventBrokerUp, Broker: id, Detail: fmt.Sprintf("%s fronts %s", ln.Addr(), addr)})
	return b, nil
}

// versionTable is what clients may send: what the bootstrap broker
// advertised, less what would lead clients around the proxy (clamp).
func (p *Proxy) versionTable() map[int16][2]int16 {
	return p.versions.Get(func(*kmsg.ApiVersionsRequest) (kmsg.Response, error) {
		r := *p.probed
		r.ApiKeys = clamp(r.ApiKeys)
		return &r, nil
	})
}

// Answers that can name brokers the proxy does not rewrite: a client told
// an upstream address would connect around the proxy, out of reach of its
// faults and its journal. Fetch v16+ answers name a partition's new leader
// (KIP-951) in a fetch answer the proxy streams without holding it, so
// clients are offered Fetch up to v15 (v16 adds only that; v17+ only what
// followers send). Produce answers' leaders are rewritten (routeProduce).
// Share-group fetches and the controllers' quorum requests are not
// offered at all.
const maxFetchVersion = 15

var unoffered = map[int16]bool{
	int16(kmsg.ShareFetch):       true,
	int16(kmsg.ShareAcknowledge): true,
	int16(kmsg.Vote):             true,
	int16(kmsg.BeginQuorumEpoch): true,
	int16(kmsg.EndQuorumEpoch):   true,
	int16(kmsg.FetchSnapshot):    true,
}

// clamp is the ApiVersions keys the proxy offers its clients, given the
// upstream's.
func clamp(keys []kmsg.ApiVersionsResponseApiKey) []kmsg.ApiVersionsResponseApiKey {
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(keys))
	for _, k := range keys {
		if unoffered[k.ApiKey] {
			continue
		}
		if k.ApiKey == int16(kmsg.Fetch) {
			k.MaxVersion = min(k.MaxVersion, maxFetchVersion)
		}
		out = append(out, k)
	}
	return out
}

// serve hands each connection a client makes to b's listener a
// connection of its own to the upstream broker.
func (p *Proxy) serve(b *broker) {
	defer p.wg.Done()
	for {
		nc, err := b.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.pipe(b, nc.(*wire.Conn))
	}
}

// maxResponse bounds a response frame from the upstream (a fetch answer
// is at most fetch.max.bytes, 50 MiB by default, plus a little).
const maxResponse = 1 << 30

// pipe copies cn's requests to a new connection to the upstream broker
// and the broker's answers back, frame by frame, until either side
// closes.
func (p *Proxy) pipe(b *broker, cn *wire.Conn) {
	defer p.wg.Done()
	defer cn.Close()
	p.mu.Lock()
	addr := b.upstream
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // a client that leaves ends the dial

		select {
		case <-cn.Done():
		case <-ctx.Done():
		}
		cancel()
	}()
	up, err := p.dialUpstream(ctx, "tcp", addr)
	if err != nil {
		if cn.Remote() != "" {
			p.journal.Add(journal.Event{Kind: journal.EventUpstreamUnreachable, Broker: b.id, Conn: cn.Remote(),
				Error: err.Error(), Detail: "upstream " + addr + "; the client connection was closed"})
		}
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = cn.WriteTo(up) // each request whole; ends when cn closes
		up.Close()
	}()
	// Small: a large answer is read past the buffer, straight into its
	// frame; the buffer only gathers small answers and frame heads.
	r := bufio.NewReaderSize(up, 32<<10)
	var size [4]byte
	for {
		// A whole frame each time round: StreamFrame reads all of it.
		if _, err := io.ReadFull(r, size[:]); err != nil {
			break
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if n < 4 || n > maxResponse {
			break
		}
		var head [8]byte
		copy(head[:], size[:])
		if _, err := io.ReadFull(r, head[4:]); err != nil {
			break
		}
		if err := cn.StreamFrame(head[:], io.LimitReader(r, int64(n)-4)); err != nil {
			break
		}
	}
	cn.Close()
	up.Close()
	<-done
}

// DialContext connects a client in this process to the proxy's listener
// at addr (one of Addrs, or an address the proxy's Metadata answers give)
// through memory instead of a socket: one kernel round trip less per
// byte, the same faults and journal. Pass it to kgo.Dialer.
func (p *Proxy) DialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	p.mu.Lock()
	var ln *wire.Listener
	for _, b := range p.brokers {
		if b.ln.Addr().String() == addr {
			ln = b.ln
		}
	}
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if ln == nil {
		return nil, fmt.Errorf("proxy.DialContext: %s is not one of the proxy's listeners (%s)", addr, strings.Join(p.Addrs(), ", "))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ln.Pipe()
}

// brokerIDs is the fronted brokers' ids, for the fault layer.
func (p *Proxy) brokerIDs() ([]int32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errClosed
	}
	return p.brokerIDsLocked(), nil
}

func (p *Proxy) brokerIDsLocked() []int32 {
	ids := make([]int32, 0, len(p.brokers))
	for id := range p.brokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

var errClosed = errors.New("proxy: the proxy is closed")

// Addrs are the proxy's listeners, by broker id: a client's seed brokers.
func (p *Proxy) Addrs() []string {
	var out []string
	for _, b := range p.Brokers() {
		out = append(out, b.Addr)
	}
	return out
}

// Brokers are the fronted brokers, by id.
func (p *Proxy) Brokers() []Broker {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Broker
	for _, id := range p.brokerIDsLocked() {
		b := p.brokers[id]
		out = append(out, Broker{ID: id, Addr: b.ln.Addr().String(), Upstream: b.upstream})
	}
	return out
}

// Upstream is the bootstrap list New was given.
func (p *Proxy) Upstream() []string { return slices.Clone(p.bootstrap) }

// Seed is the seed of the network faults' random choices.
func (p *Proxy) Seed() int64 { return p.cfg.seed }

// AddFault installs a network fault between the clients and the proxy's
// brokers; it applies to requests from now on. A network partition
// (netfault.Partition) cuts the clients off the brokers it names; the
// upstream's brokers still replicate among themselves, as the proxy does
// not stand between them.
func (p *Proxy) AddFault(f netfault.NetFault, targets ...netfault.Target) (*netfault.Handle, error) {
	return p.faults.Add(f, targets...)
}

// CloseClientConnections closes every client connection to broker (or to
// every broker for -1) now; clients reconnect. It returns how many it
// closed.
func (p *Proxy) CloseClientConnections(broker int32) (int, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, errClosed
	}
	var ls []*wire.Listener
	for _, id := range p.brokerIDsLocked() {
		if broker == -1 || id == broker {
			ls = append(ls, p.brokers[id].ln)
		}
	}
	if len(ls) == 0 {
		ids := p.brokerIDsLocked()
		p.mu.Unlock()
		return 0, fmt.Errorf("CloseClientConnections(%d): unknown broker (brokers are %v)", broker, ids)
	}
	p.mu.Unlock()
	n := 0
	for _, l := range ls {
		n += l.CloseConns(nil)
	}
	return n, nil
}

// Journal returns every event so far, in order.
func (p *Proxy) Journal() []journal.Event { return p.journal.Events() }

// JournalSince returns the events after the one numbered seq.
func (p *Proxy) JournalSince(seq int64) []journal.Event { return p.journal.Since(seq) }

// WriteJournal writes the journal as JSON lines, one event a line.
func (p *Proxy) WriteJournal(w io.Writer) error { return p.journal.WriteJSON(w) }

// JournalTail is the last n events as readable lines, for a test log.
func (p *Proxy) JournalTail(n int) string { return p.journal.Tail(n) }

// Admin is a kadm client of the proxy's own, straight to the upstream
// (no fault applies to it and the journal does not see it): for creating
// and deleting topics around a test.
func (p *Proxy) Admin() *kadm.Client { return kadm.NewClient(p.admin) }

// Close stops every listener, closes every client connection and the
// proxy's own connections to the upstream. It is safe to call more than
// once.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		var ls []*wire.Listener
		for _, b := range p.brokers {
			ls = append(ls, b.ln)
		}
		p.mu.Unlock()
		p.faults.RemoveAll()
		for _, l := range ls {
			l.Close()
		}
		if p.admin != nil {
			p.admin.Close()
		}
		p.wg.Wait()
	})
	return nil
}
