package wire

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The wire layer sits between every client connection and a backend (the
// emulator's kfake, or the proxy's upstream broker). The backend accepts
// connections from a Listener (it is a net.Listener); each accepted TCP
// connection becomes a Conn that the backend reads requests from and
// writes responses to. Between the two the Router sees every request and
// response as a whole frame, so it can answer a request itself, rewrite
// an answer, delay or drop it (network faults), and journal it.

const maxFrame = 256 << 20 // larger than any request a client sends here

// Router handles one valid client request on its way to the backend:
// typically Conn.Forward with a Slot queued by Conn.Respond, or an answer
// of its own (Conn.Answer). It returns false when the connection is done.
// The network faults have already been applied when it is called.
type Router func(cn *Conn, h Header, frame, body []byte) bool

// Config configures a Listener.
type Config struct {
	// Node is the broker id the listener stands for.
	Node int32
	// MaxRequestBytes is Kafka's socket.request.max.bytes: a request
	// frame announcing more closes its connection before its body is
	// read. 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int
	// IdleTimeout is Kafka's connections.max.idle.ms (and how long a
	// begun request may take to arrive). 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Unchecked reads frames as the wire layer did before validation
	// (benchmarks only).
	Unchecked bool
	// Listen listens on addr; nil listens on TCP.
	Listen func(addr string) (net.Listener, error)
	// TLS, if set, makes every accepted client connection a TLS server
	// connection: the handshake comes first, and requests are read from
	// and answers written to the decrypted stream. Internal connections
	// and the backend's side stay plaintext. A failed handshake closes
	// the connection as a bad-request event.
	TLS *tls.Config
	// Versions is what the backend serves (ApiVersions): key -> min and
	// max version. A nil table means the backend is closing: requests
	// then close their connection without a journal entry.
	Versions func() map[int16][2]int16
	// Check, if set, refuses a decoded request the backend must not see
	// (the emulator's limit on partitions a request creates); its error
	// is the journaled reason.
	Check func(req kmsg.Request) error
	// Route handles every valid request.
	Route Router
	// Faults, if set, applies network faults to every request.
	Faults *netfault.Layer
	// Journal, if set, receives a bad-request event for every refused
	// request.
	Journal *journal.Log
	// InternalClientID is the client id of requests sent by RoundTrip on
	// an internal connection; empty means "kafkaemu-internal".
	InternalClientID string
}

// Listener is one broker's listener: it accepts client connections on
// TCP (or Config.Listen's network) and hands each, as a Conn, to the
// backend through Accept. A listener taken Down stops listening but keeps
// its backend side, so internal connections still work and Up listens on
// the same address again.
type Listener struct {
	cfg  Config
	addr string

	accept chan net.Conn
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	tcp   net.Listener // nil while down
	conns map[*Conn]struct{}
	wg    sync.WaitGroup
}

// NewListener listens on addr for the broker cfg.Node.
func NewListener(cfg Config, addr string) (*Listener, error) {
	if cfg.Route == nil {
		return nil, errors.New("wire.NewListener: Config.Route is nil")
	}
	if cfg.Versions == nil {
		return nil, errors.New("wire.NewListener: Config.Versions is nil")
	}
	if cfg.InternalClientID == "" {
		cfg.InternalClientID = "kafkaemu-internal"
	}
	l := &Listener{
		cfg:    cfg,
		accept: make(chan net.Conn),
		done:   make(chan struct{}),
		conns:  make(map[*Conn]struct{}),
	}
	if err := l.Up(addr); err != nil {
		return nil, err
	}
	return l, nil
}

// Node is the broker id the listener stands for.
func (l *Listener) Node() int32 { return l.cfg.Node }

// Up listens on addr (the old address after Down).
func (l *Listener) Up(addr string) error {
	listen := l.cfg.Listen
	if listen == nil {
		listen = func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
	}
	tcp, err := listen(addr)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.tcp = tcp
	if l.addr == "" {
		l.addr = tcp.Addr().String()
	}
	l.mu.Unlock()
	l.wg.Add(1)
	go l.acceptLoop(tcp)
	return nil
}

// Down stops listening and closes every client connection.
func (l *Listener) Down() {
	l.mu.Lock()
	tcp := l.tcp
	l.tcp = nil
	l.mu.Unlock()
	if tcp != nil {
		tcp.Close()
	}
	l.CloseConns(nil)
}

func (l *Listener) acceptLoop(tcp net.Listener) {
	defer l.wg.Done()
	for {
		tc, err := tcp.Accept()
		if err != nil {
			return
		}
		cn := l.newConn(tc)
		if cn == nil {
			tc.Close()
			return
		}
		select {
		case l.accept <- cn:
			cn.start()
		case <-l.done:
			cn.Close()
			return
		}
	}
}

// Pipe connects a client in this process to the listener through memory
// rather than a socket: the client gets its end of a net.Pipe, and the
// backend a Conn like any TCP client's (faults, journal, TLS apply).
// Each pipe's remote address is "memory:N", N counting pipes.
func (l *Listener) Pipe() (net.Conn, error) {
	server, client := net.Pipe()
	n := pipes.Add(1)
	cn := l.newConn(pipeConn{server, pipeAddr(fmt.Sprintf("memory:%d", n))})
	if cn == nil {
		server.Close()
		client.Close()
		return nil, net.ErrClosed
	}
	select {
	case l.accept <- cn:
		cn.start()
		return pipeConn{client, pipeAddr(l.addr)}, nil
	case <-l.done:
		cn.Close()
		client.Close()
		return nil, net.ErrClosed
	}
}

var pipes atomic.Int64

// pipeConn is one end of a Pipe, with the address of its other end.
type pipeConn struct {
	net.Conn
	remote pipeAddr
}

func (c pipeConn) RemoteAddr() net.Addr { return c.remote }

type pipeAddr string

func (pipeAddr) Network() string  { return "memory" }
func (a pipeAddr) String() string { return string(a) }

// Internal is a connection with no socket: the caller itself writes
// requests to the backend through it (RoundTrip).
func (l *Listener) Internal() (*Conn, error) {
	cn := l.newConn(nil)
	if cn == nil {
		return nil, net.ErrClosed
	}
	select {
	case l.accept <- cn:
		return cn, nil
	case <-l.done:
		cn.Close()
		return nil, net.ErrClosed
	}
}

func (l *Listener) newConn(tc net.Conn) *Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	default:
	}
	cn := &Conn{
		l:         l,
		tcp:       tc,
		toBackend: make(chan []byte, 8),
		fwd:       make(chan *Slot, 64),
		out:       make(chan *Slot, 256),
		closed:    make(chan struct{}),
	}
	if tc != nil {
		cn.remote = tc.RemoteAddr().String()
		cn.raw = tc
		if l.cfg.TLS != nil {
			cn.tcp = tls.Server(tc, l.cfg.TLS)
		}
	}
	l.conns[cn] = struct{}{}
	return cn
}

// Accept is the backend accepting the next connection (a *Conn).
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case cn := <-l.accept:
		return cn, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops the listener for good and closes every connection.
func (l *Listener) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		close(l.done)
		tcp := l.tcp
		l.tcp = nil
		conns := make([]*Conn, 0, len(l.conns))
		for cn := range l.conns {
			conns = append(conns, cn)
		}
		l.mu.Unlock()
		if tcp != nil {
			tcp.Close()
		}
		for _, cn := range conns {
			cn.Close()
		}
	})
	l.wg.Wait()
	return nil
}

// Addr is the address clients connect to.
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, _ := net.ResolveTCPAddr("tcp", l.addr)
	return a
}

// CloseConns closes the client connections match selects (every one for
// nil) but keeps listening. It returns how many it closed.
func (l *Listener) CloseConns(match func(*Conn) bool) int {
	l.mu.Lock()
	var conns []*Conn
	for cn := range l.conns {
		if cn.tcp != nil && (match == nil || match(cn)) {
			conns = append(conns, cn)
		}
	}
	l.mu.Unlock()
	for _, cn := range conns {
		cn.Close()
	}
	return len(conns)
}

// Slot is one response owed to the client, in request order.
type Slot struct {
	hdr   Header
	ready chan struct{}
	frame []byte          // the response frame; nil writes nothing
	act   netfault.Action // what network faults do to it
	// OnResp, if set, turns the backend's response frame into the frame
	// the client gets (rewrite, journal, merge with other answers); it
	// returns nil when it fills the slot itself later.
	OnResp func(frame []byte) []byte
	// OnAbandon, if set, runs instead of OnResp when the connection
	// closes before the backend answers, to release what the request
	// holds.
	OnAbandon func()
	// Observe, if set, marks an answer the router only looks at: a
	// backend that streams (StreamFrame) sends it to the client as it
	// arrives, unchanged, and Observe sees the whole frame afterwards;
	// OnResp is not called. Other backends call OnResp as usual, if set.
	Observe func(frame []byte)
	// stream carries a streamed answer's bytes, chunk by chunk, closed at
	// its end (StreamFrame); nil for a whole frame.
	stream chan []byte
	// streamed, if set, runs once writeLoop has written every chunk of
	// stream to the client (not if the connection closed first).
	streamed func()
	once     sync.Once // fill
}

// NewSlot is an empty slot for the request with header h.
func NewSlot(h Header) *Slot { return &Slot{hdr: h, ready: make(chan struct{})} }

// Fill answers the slot; only the first answer counts (the router may
// answer a request the backend still holds). It reports whether this one
// did.
func (s *Slot) Fill(frame []byte) (first bool) {
	s.once.Do(func() {
		s.frame = frame
		close(s.ready)
		first = true
	})
	return first
}

// Filled reports whether the slot has its answer.
func (s *Slot) Filled() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// Ready is closed once the slot has its answer.
func (s *Slot) Ready() <-chan struct{} { return s.ready }

// Frame is the answer (after Ready).
func (s *Slot) Frame() []byte { return s.frame }

// Header is a request header.
type Header struct {
	Key      int16
	Version  int16
	Corr     int32
	ClientID string
}

// Conn is one client connection as the backend sees it: the backend
// Reads request frames and Writes response frames, one whole frame a
// Write.
type Conn struct {
	l      *Listener
	tcp    net.Conn // nil for internal connections; a *tls.Conn with Config.TLS
	raw    net.Conn // the socket under tcp (tcp itself without TLS)
	remote string

	toBackend chan []byte // request frames for the backend's Read
	// Once WriteTo has written the frames queued before it was called,
	// routers write each request straight to its writer, sink (one
	// goroutine hop less per request); queued counts frames sent to
	// toBackend and not yet taken. Both under sinkMu, which also
	// serializes the writes.
	sinkMu sync.Mutex
	sink   io.Writer
	queued int
	// sunk is the first byte of the last frame written to sink, for
	// readLoop to know its frame was written and may be reused.
	sunk *byte
	cur  []byte     // the frame the backend is reading
	fwd  chan *Slot // slots waiting for the backend's answer, in order
	out  chan *Slot // slots waiting to be written to the client

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup

	act netfault.Action // the faults decided for the request being routed

	// unanswered counts responses queued by Respond and not yet written
	// (or dropped) by writeLoop: the idle check's "owed an answer".
	unanswered atomic.Int32

	rtMu sync.Mutex // internal connections: one round trip at a time
	corr int32

	// producing counts produce requests handed to the backend and not yet
	// answered by it; peerClosed (readLoop's alone) is set when the
	// client closed its side. See drainProduces.
	producing  atomic.Int32
	peerClosed bool
}

// Node is the broker id of the connection's listener.
func (cn *Conn) Node() int32 { return cn.l.cfg.Node }

// Remote is the client's address (host:port), empty for an internal
// connection.
func (cn *Conn) Remote() string { return cn.remote }

// Done is closed when the connection closes.
func (cn *Conn) Done() <-chan struct{} { return cn.closed }

func (cn *Conn) start() {
	if cn.tcp == nil {
		return
	}
	cn.wg.Add(2)
	go cn.readLoop()
	go cn.writeLoop()
}

// Read is the backend reading the next request.
func (cn *Conn) Read(p []byte) (int, error) {
	for len(cn.cur) == 0 {
		select {
		case f := <-cn.toBackend:
			cn.took()
			cn.cur = f
		case <-cn.closed:
			return 0, io.EOF
		}
	}
	n := copy(p, cn.cur)
	cn.cur = cn.cur[n:]
	return n, nil
}

// WriteTo is the backend taking each request frame whole, written to w
// with one Write, until the connection closes (then it returns nil). It
// makes io.Copy(upstream, cn) copy frame by frame. Once the frames queued
// before it was called are written, each later request is written to w
// by the goroutine that routes it, in order, and WriteTo only waits for
// the connection to close (n counts the frames it wrote itself). A
// produce request's frame written that way is reused for a later request
// once its router returns: a router of a backend that uses WriteTo keeps
// no part of it.
func (cn *Conn) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(cn.cur) > 0 { // what a Read left
		m, err := w.Write(cn.cur)
		n += int64(m)
		cn.cur = nil
		if err != nil {
			return n, err
		}
	}
	for {
		cn.sinkMu.Lock()
		if cn.queued == 0 {
			cn.sink = w
			cn.sinkMu.Unlock()
			<-cn.closed
			return n, nil
		}
		cn.sinkMu.Unlock()
		var f []byte
		select {
		case f = <-cn.toBackend:
			cn.took()
		case <-cn.closed:
			return n, nil
		}
		m, err := w.Write(f)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
}

// took counts a frame taken from toBackend.
func (cn *Conn) took() {
	cn.sinkMu.Lock()
	cn.queued--
	cn.sinkMu.Unlock()
}

// toBackendFrame hands a request frame to the backend: straight to
// WriteTo's writer once it has one, else through toBackend. A failed
// write closes the connection.
func (cn *Conn) toBackendFrame(frame []byte) bool {
	cn.sinkMu.Lock()
	if cn.sink != nil {
		_, err := cn.sink.Write(frame)
		if len(frame) > 0 {
			cn.sunk = &frame[0]
		}
		cn.sinkMu.Unlock()
		if err != nil {
			cn.Close()
			return false
		}
		return true
	}
	cn.queued++
	cn.sinkMu.Unlock()
	select {
	case cn.toBackend <- frame:
		return true
	case <-cn.closed:
		cn.abandonQueued()
		return false
	}
}

// Write is the backend writing one whole response frame; b is copied.
func (cn *Conn) Write(b []byte) (int, error) {
	if err := cn.writeFrame(append([]byte(nil), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// WriteFrame is Write without the copy: the backend hands frame over and
// does not touch it again.
func (cn *Conn) WriteFrame(frame []byte) error { return cn.writeFrame(frame) }

func (cn *Conn) writeFrame(frame []byte) error {
	s, err := cn.answering(frame)
	if s != nil {
		defer cn.answered(s)
	}
	if err != nil {
		return err
	}
	deliver(s, frame)
	return nil
}

// answering is the slot of the oldest request the backend has not
// answered, the one the answer beginning with head (length and
// correlation id) answers; a correlation id that does not match closes
// the connection. Call answered with the slot once the answer is handled.
func (cn *Conn) answering(head []byte) (*Slot, error) {
	var s *Slot
	select {
	case s = <-cn.fwd:
	case <-cn.closed:
		return nil, net.ErrClosed
	}
	if len(head) >= 8 {
		if corr := int32(binary.BigEndian.Uint32(head[4:8])); corr != s.hdr.Corr {
			cn.Close()
			return s, fmt.Errorf("kafkaemu: response correlation %d, want %d", corr, s.hdr.Corr)
		}
	}
	return s, nil
}

// answered counts a produce request's answer as handled (drainProduces).
func (cn *Conn) answered(s *Slot) {
	if s.hdr.Key == int16(kmsg.Produce) {
		cn.producing.Add(-1)
	}
}

// deliver fills s with the backend's whole answer frame, through its
// OnResp hook, unless the router answered first.
func deliver(s *Slot, frame []byte) {
	if s.Filled() {
		return // the router answered first
	}
	if s.OnResp != nil {
		if frame = s.OnResp(frame); frame == nil {
			return // the hook fills the slot later
		}
	}
	s.Fill(frame)
}

// Close closes the connection (both sides).
func (cn *Conn) Close() error {
	cn.closeOnce.Do(func() {
		close(cn.closed)
		if cn.raw != nil {
			// The socket itself: a TLS close_notify could block on
			// a client that does not read (net.Pipe).
			cn.raw.Close()
		}
		cn.l.mu.Lock()
		delete(cn.l.conns, cn)
		cn.l.mu.Unlock()
		cn.abandonQueued()
	})
	return nil
}

// abandonQueued releases the slots still waiting for the backend's answer
// on a closed connection. Each slot is received from fwd once, by the
// backend's Write or here, so its OnResp or its OnAbandon runs, never
// both.
func (cn *Conn) abandonQueued() {
	for {
		select {
		case s := <-cn.fwd:
			if s.OnAbandon != nil {
				s.OnAbandon()
			}
		default:
			return
		}
	}
}

// LocalAddr is the listener's side of the connection.
func (cn *Conn) LocalAddr() net.Addr {
	if cn.tcp != nil {
		return cn.tcp.LocalAddr()
	}
	return cn.l.Addr()
}

// RemoteAddr is the client's side of the connection.
func (cn *Conn) RemoteAddr() net.Addr {
	if cn.tcp != nil {
		return cn.tcp.RemoteAddr()
	}
	return cn.l.Addr()
}

// SetDeadline does nothing: the backend's side has no deadlines.
func (cn *Conn) SetDeadline(t time.Time) error { return nil }

// SetReadDeadline does nothing.
func (cn *Conn) SetReadDeadline(t time.Time) error { return nil }

// SetWriteDeadline does nothing.
func (cn *Conn) SetWriteDeadline(t time.Time) error { return nil }

// readLoop reads client requests and routes each valid one.
func (cn *Conn) readLoop() {
	defer cn.wg.Done()
	defer cn.Close()
	if !cn.handshake() {
		return
	}
	for {
		h, frame, body, ok := cn.nextRequest() // validated: see validate.go
		if !ok {
			if cn.peerClosed {
				cn.drainProduces()
			}
			return
		}
		if !cn.beforeRoute(h) {
			return
		}
		if !cn.l.cfg.Route(cn, h, frame, body) {
			return
		}
		cn.reuse(h, frame)
	}
}

// reuse gives a routed request's frame buffer back to the pool when it
// is a produce request the router wrote straight to WriteTo's writer:
// the proxy's produce router keeps nothing of it once it is written (the
// journal needs only the batch headers, read before). Any other frame is
// left to the GC, as routers may keep parts of it.
func (cn *Conn) reuse(h Header, frame []byte) {
	if h.Key != int16(kmsg.Produce) || len(frame) == 0 || cap(frame) < 1<<minPooledClass {
		return
	}
	cn.sinkMu.Lock()
	sunk := cn.sunk == &frame[0]
	cn.sunk = nil
	cn.sinkMu.Unlock()
	if sunk {
		putFrame(&frame)
	}
}

// sinking reports whether routed requests are written straight to
// WriteTo's writer.
func (cn *Conn) sinking() bool {
	cn.sinkMu.Lock()
	defer cn.sinkMu.Unlock()
	return cn.sink != nil
}

// handshake completes the TLS handshake of a TLS connection (within
// IdleTimeout); a failed one is journaled as a bad request.
func (cn *Conn) handshake() bool {
	tc, ok := cn.tcp.(*tls.Conn)
	if !ok {
		return true
	}
	// A deadline, not a context: the socket stays open until the
	// journal has the reason (Close interrupts it by closing the socket).
	_ = tc.SetDeadline(time.Now().Add(cn.l.cfg.idleTimeout()))
	err := tc.Handshake()
	if err == nil {
		_ = tc.SetDeadline(time.Time{})
		return true
	}
	select {
	case <-cn.closed:
		return false
	default:
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return false // the client went away: nothing to say
	}
	b := &badRequest{reason: "TLS handshake failed: " + err.Error()}
	var rhe tls.RecordHeaderError
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.reason = fmt.Sprintf("TLS handshake failed: not finished within %v (IdleTimeout)", cn.l.cfg.idleTimeout())
	case errors.As(err, &rhe):
		b.head = rhe.RecordHeader[:]
		b.reason = fmt.Sprintf("TLS handshake failed: the client did not start one (%v): this listener wants TLS", err)
	}
	cn.journalBad(b)
	return false
}

// beforeRoute applies the network faults to the request with header h.
func (cn *Conn) beforeRoute(h Header) bool {
	cn.act = netfault.Action{}
	if cn.l.cfg.Faults == nil {
		return true
	}
	act, ok := cn.l.cfg.Faults.BeforeRoute(netfault.Request{Broker: cn.Node(), ClientID: h.ClientID, Addr: cn.remote, Key: h.Key}, cn.closed)
	cn.act = act
	return ok
}

// drainProduces waits, once the client closed its side, until the
// backend has answered the produce requests the client sent before: Kafka
// handles the requests it read before a close, so an acks=0 producer that
// writes and closes at once loses nothing (sarama's did, 8 records of
// 10). It gives up after the idle timeout.
func (cn *Conn) drainProduces() {
	if cn.producing.Load() == 0 {
		return
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(cn.l.cfg.idleTimeout())
	defer limit.Stop()
	for cn.producing.Load() > 0 {
		select {
		case <-tick.C:
		case <-limit.C:
			return
		case <-cn.closed:
			return
		}
	}
}

// Forward hands a request to the backend; s (nil for a request with no
// answer, acks=0 produce) receives the backend's answer.
func (cn *Conn) Forward(frame []byte, s *Slot) bool {
	if s != nil {
		if s.hdr.Key == int16(kmsg.Produce) {
			cn.producing.Add(1)
		}
		select {
		case cn.fwd <- s:
		case <-cn.closed:
			if s.OnAbandon != nil {
				s.OnAbandon()
			}
			return false
		}
		// A select with both cases ready picks one at random: s may have
		// been queued after Close drained fwd (a dropped response closing
		// the connection while the next request is routed). Unreleased,
		// a produce's in-flight count never fell and every later write
		// to its partition waited for ever to enter tail mode.
		select {
		case <-cn.closed:
			cn.abandonQueued()
			return false
		default:
		}
	}
	return cn.toBackendFrame(frame)
}

// Respond queues s to be written to the client in request order.
func (cn *Conn) Respond(s *Slot) bool {
	s.act = cn.act
	cn.unanswered.Add(1)
	select {
	case cn.out <- s:
		return true
	case <-cn.closed:
		return false
	}
}

// ForwardPlain forwards a request whose answer goes to the client as the
// backend wrote it.
func (cn *Conn) ForwardPlain(h Header, frame []byte) bool {
	s := NewSlot(h)
	return cn.Respond(s) && cn.Forward(frame, s)
}

// ForwardThen forwards a request and passes the backend's answer through
// fn before the client sees it. It returns the response's slot (nil when
// the connection is done), for a caller that waits on the answer.
func (cn *Conn) ForwardThen(h Header, frame []byte, fn func([]byte) []byte) *Slot {
	s := NewSlot(h)
	s.OnResp = fn
	if !cn.Respond(s) || !cn.Forward(frame, s) {
		return nil
	}
	return s
}

// Answer sends resp, the router's own answer to a request the backend
// never sees.
func (cn *Conn) Answer(h Header, resp kmsg.Response) bool {
	s := NewSlot(h)
	if !cn.Respond(s) {
		return false
	}
	s.Fill(EncodeResponse(h.Corr, resp))
	return true
}

func (cn *Conn) writeLoop() {
	defer cn.wg.Done()
	defer cn.Close()
	for {
		var s *Slot
		select {
		case s = <-cn.out:
		case <-cn.closed:
			return
		}
		if !cn.writeSlot(s) {
			return
		}
	}
}

// writeSlot writes s's answer once it is ready (nothing for a dropped or
// empty one) and reports whether the connection lives on.
func (cn *Conn) writeSlot(s *Slot) bool {
	defer cn.unanswered.Add(-1)
	select {
	case <-s.ready:
	case <-cn.closed:
		return false
	}
	if s.frame == nil && s.stream == nil {
		return true
	}
	if s.act.Delay > 0 {
		t := time.NewTimer(s.act.Delay)
		select {
		case <-t.C:
		case <-cn.closed:
			t.Stop()
			return false
		}
	}
	if s.act.Drop {
		return false
	}
	if s.stream != nil {
		for chunk := range s.stream {
			if _, err := cn.tcp.Write(chunk); err != nil {
				return false
			}
		}
		if s.streamed != nil {
			s.streamed()
		}
		return true
	}
	_, err := cn.tcp.Write(s.frame)
	return err == nil
}

// StreamFrame is the backend handing over the response whose first 8
// bytes (length and correlation id) are head and whose rest r yields.
// An answer the router only observes (Slot.Observe) goes to the client
// chunk by chunk as it arrives, so a large fetch answer is not held
// whole before its first byte leaves (Observe sees it whole before its
// last chunk leaves); any other is read whole and
// handled as WriteFrame handles it. It returns once the whole frame is
// read from r.
func (cn *Conn) StreamFrame(head []byte, r io.Reader) error {
	size := int(binary.BigEndian.Uint32(head[:4]))
	s, err := cn.answering(head)
	if s != nil {
		defer cn.answered(s)
	}
	if err != nil {
		return err
	}
	if s.Observe == nil || s.Filled() {
		frame := make([]byte, 4+size)
		copy(frame, head)
		if _, err := io.ReadFull(r, frame[8:]); err != nil {
			return err
		}
		deliver(s, frame)
		return nil
	}
	// The frame's buffer is reused once both its readers are done with
	// it: writeLoop, which writes it to the client, and Observe. A frame
	// abandoned half way (the connection closed) is left to the GC.
	buf := getFrame(4 + size)
	frame := append((*buf)[:0], head[:8]...)[:4+size]
	var users atomic.Int32
	users.Store(2)
	done := func() {
		if users.Add(-1) == 0 {
			putFrame(buf)
		}
	}
	stream := make(chan []byte, 16)
	s.once.Do(func() {
		s.stream = stream
		s.streamed = done
		close(s.ready)
	})
	send := func(chunk []byte) error {
		select {
		case stream <- chunk:
			return nil
		case <-cn.closed:
			return net.ErrClosed
		}
	}
	defer close(stream)
	if err := send(frame[:8]); err != nil {
		return err
	}
	// Observe sees the whole answer before its last chunk goes to the
	// client: a client that has read an answer finds it in the journal,
	// as it finds what the emulator answered.
	const chunkSize = 1 << 20
	observed := false
	for at := 8; at < len(frame); {
		n, err := r.Read(frame[at:min(len(frame), at+chunkSize)])
		if n > 0 {
			chunk := frame[at : at+n]
			if at += n; at == len(frame) {
				s.Observe(frame)
				observed = true
			}
			if err := send(chunk); err != nil {
				return err
			}
		}
		if err != nil && at < len(frame) {
			return err
		}
	}
	if !observed {
		s.Observe(frame)
	}
	done()
	return nil
}

// Large frame buffers of the proxy's path are pooled by size class
// (powers of two from 64 KiB to 16 MiB; smaller ones are allocated as
// they come): streamed answers (a consumer's fetch answers are mostly the
// same size) and produce requests written straight to the upstream.
// Allocating (and zeroing) each anew cost the proxy about as much CPU as
// copying it.
const (
	minPooledClass = 16
	maxPooledClass = 24
)

// framePools[c] holds buffers of at least 1<<c bytes.
var framePools [maxPooledClass + 1]sync.Pool

// getFrame is a buffer of at least n bytes, its contents undefined.
func getFrame(n int) *[]byte {
	if b := pooledFrame(n); b != nil {
		return b
	}
	c := bits.Len(uint(n - 1))
	if c < minPooledClass || c > maxPooledClass {
		b := make([]byte, n)
		return &b
	}
	b := make([]byte, 1<<c)
	return &b
}

// pooledFrame is a pooled buffer of at least n bytes, nil if there is
// none.
func pooledFrame(n int) *[]byte {
	c := bits.Len(uint(n - 1)) // 1<<c >= n
	if c < minPooledClass || c > maxPooledClass {
		return nil
	}
	b, _ := framePools[c].Get().(*[]byte)
	return b
}

// putFrame gives a buffer back once nothing refers to it.
func putFrame(b *[]byte) {
	c := bits.Len(uint(cap(*b))) - 1 // 1<<c <= cap
	if c < minPooledClass || c > maxPooledClass {
		return
	}
	*b = (*b)[:cap(*b)]
	framePools[c].Put(b)
}

// ForwardObserved forwards a request whose answer the router only looks
// at: observe sees the whole answer, which goes to the client unchanged
// (streamed, from a backend that streams). It returns the slot, nil when
// the connection is done.
func (cn *Conn) ForwardObserved(h Header, frame []byte, observe func([]byte)) *Slot {
	s := NewSlot(h)
	s.Observe = observe
	s.OnResp = func(f []byte) []byte {
		observe(f)
		return f
	}
	if !cn.Respond(s) || !cn.Forward(frame, s) {
		return nil
	}
	return s
}

// RoundTrip sends req to the backend over an internal connection and
// decodes the answer.
func (cn *Conn) RoundTrip(req kmsg.Request) (kmsg.Response, error) {
	cn.rtMu.Lock()
	defer cn.rtMu.Unlock()
	cn.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID(cn.l.cfg.InternalClientID)).AppendRequest(nil, req, cn.corr)
	s := NewSlot(Header{Key: req.Key(), Version: req.GetVersion(), Corr: cn.corr})
	if !cn.Forward(frame, s) {
		return nil, net.ErrClosed
	}
	select {
	case <-s.ready:
	case <-cn.closed:
		return nil, net.ErrClosed
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := DecodeResponse(s.frame, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// ParseHeader reads a request frame's header: it returns the header, the
// body after it and whether the header decoded.
func ParseHeader(frame []byte) (Header, []byte, bool) {
	if len(frame) < 4 {
		return Header{}, nil, false
	}
	r := kbin.Reader{Src: frame[4:]}
	h := Header{Key: r.Int16(), Version: r.Int16(), Corr: r.Int32()}
	if cid := r.NullableString(); cid != nil {
		h.ClientID = *cid
	}
	if !r.Ok() {
		return h, nil, false
	}
	req := kmsg.RequestForKey(h.Key)
	if req == nil {
		return h, r.Src, true // validate.go refuses unknown keys before they get here
	}
	req.SetVersion(h.Version)
	if req.IsFlexible() {
		kmsg.SkipTags(&r)
	}
	return h, r.Src, r.Ok()
}

// DecodeRequest decodes a request body of the header's key and version.
func DecodeRequest(h Header, body []byte) (kmsg.Request, error) {
	req := kmsg.RequestForKey(h.Key)
	if req == nil {
		return nil, fmt.Errorf("unknown request key %d", h.Key)
	}
	req.SetVersion(h.Version)
	return req, req.ReadFrom(body)
}

// EncodeRequest is the frame of req, as the client with header h would send it.
func EncodeRequest(h Header, req kmsg.Request) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID(h.ClientID)).AppendRequest(nil, req, h.Corr)
}

// DecodeResponse decodes a whole response frame into resp (whose version is set).
func DecodeResponse(frame []byte, resp kmsg.Response) error {
	if len(frame) < 8 {
		return errors.New("short response frame")
	}
	r := kbin.Reader{Src: frame[8:]}
	if resp.IsFlexible() && resp.Key() != 18 {
		kmsg.SkipTags(&r)
	}
	return resp.ReadFrom(r.Src)
}

// EncodeResponse is the frame for resp answering correlation id corr.
func EncodeResponse(corr int32, resp kmsg.Response) []byte {
	buf := []byte{0, 0, 0, 0, 0, 0, 0, 0}
	if resp.IsFlexible() && resp.Key() != 18 {
		buf = append(buf, 0)
	}
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf[:4], uint32(len(buf)-4))
	binary.BigEndian.PutUint32(buf[4:8], uint32(corr))
	return buf
}
