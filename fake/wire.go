package fake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The wire layer sits between every client connection and kfake. kfake
// listens through a listener of ours (kfake.ListenFn); each accepted TCP
// connection becomes a conn that kfake reads requests from and writes
// responses to. Between the two we see every request and response as a
// whole frame, so we can answer a request ourselves (the un-replicated tail
// of a partition), rewrite an answer (Metadata shows our replicas and ISR),
// delay or drop it (network faults), and journal it.

const maxFrame = 256 << 20 // larger than any request a client sends here

// listener is one broker's listener, handed to kfake through ListenFn.
// A killed broker's listener stops listening on TCP but keeps its kfake
// side, so fake can still reach that broker internally and a restart
// listens on the same address again.
type listener struct {
	c    *Cluster
	node int32
	addr string

	accept chan net.Conn
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	tcp   net.Listener // nil while the broker is down
	conns map[*conn]struct{}
	wg    sync.WaitGroup
}

func (c *Cluster) newListener(node int32, addr string) (*listener, error) {
	l := &listener{
		c:      c,
		node:   node,
		accept: make(chan net.Conn),
		done:   make(chan struct{}),
		conns:  make(map[*conn]struct{}),
	}
	addr, err := c.brokerListenAddr(node, addr)
	if err != nil {
		return nil, err
	}
	if err := l.up(addr); err != nil {
		return nil, err
	}
	return l, nil
}

// up listens on addr (the broker's old address after a restart), on TCP
// or the cluster's virtual network.
func (l *listener) up(addr string) error {
	tcp, err := l.c.listenOn(addr)
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

// down stops listening and closes every client connection.
func (l *listener) down() {
	l.mu.Lock()
	tcp := l.tcp
	l.tcp = nil
	l.mu.Unlock()
	if tcp != nil {
		tcp.Close()
	}
	l.closeConns(nil)
}

func (l *listener) acceptLoop(tcp net.Listener) {
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

// internalConn is a connection with no socket: fake itself writes requests
// to kfake through it (replicating a partition's tail, creating topics).
func (l *listener) internalConn() (*conn, error) {
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

func (l *listener) newConn(tc net.Conn) *conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		return nil
	default:
	}
	cn := &conn{
		l:       l,
		tcp:     tc,
		toKfake: make(chan []byte, 8),
		fwd:     make(chan *slot, 64),
		out:     make(chan *slot, 256),
		closed:  make(chan struct{}),
	}
	if tc != nil {
		cn.remote = tc.RemoteAddr().String()
	}
	l.conns[cn] = struct{}{}
	return cn
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case cn := <-l.accept:
		return cn, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops the listener for good and closes every connection.
func (l *listener) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		close(l.done)
		tcp := l.tcp
		l.tcp = nil
		conns := make([]*conn, 0, len(l.conns))
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

func (l *listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, _ := net.ResolveTCPAddr("tcp", l.addr)
	return a
}

// closeConns closes matching client connections but keeps listening.
func (l *listener) closeConns(match func(*conn) bool) int {
	l.mu.Lock()
	var conns []*conn
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

// slot is one response owed to the client, in request order.
type slot struct {
	hdr   reqHeader
	ready chan struct{}
	frame []byte    // the response frame; nil writes nothing
	act   netAction // what network faults do to it
	// onResp, if set, turns kfake's response frame into the frame the
	// client gets (rewrite, journal, merge with our own answers).
	onResp func(frame []byte) []byte
	// onAbandon, if set, runs instead of onResp when the connection
	// closes before kfake answers, to release what the request holds.
	onAbandon func()
	once      sync.Once // fill
}

func newSlot(h reqHeader) *slot { return &slot{hdr: h, ready: make(chan struct{})} }

// fill answers the slot; only the first answer counts (fake may answer a
// request kfake still holds). It reports whether this one did.
func (s *slot) fill(frame []byte) (first bool) {
	s.once.Do(func() {
		s.frame = frame
		close(s.ready)
		first = true
	})
	return first
}

func (s *slot) filled() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

type reqHeader struct {
	key      int16
	version  int16
	corr     int32
	clientID string
}

// conn is one client connection as kfake sees it.
type conn struct {
	l      *listener
	tcp    net.Conn // nil for internal connections
	remote string

	toKfake chan []byte // request frames for kfake's Read
	cur     []byte      // the frame kfake is reading
	fwd     chan *slot  // slots waiting for kfake's answer, in order
	out     chan *slot  // slots waiting to be written to the client

	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup

	act netAction // the faults decided for the request being routed

	// unanswered counts responses queued by respond and not yet written
	// (or dropped) by writeLoop: the idle check's "owed an answer".
	unanswered atomic.Int32

	rtMu sync.Mutex // internal connections: one round trip at a time
	corr int32

	// producing counts produce requests handed to kfake and not yet
	// answered by it; peerClosed (readLoop's alone) is set when the
	// client closed its side. See drainProduces.
	producing  atomic.Int32
	peerClosed bool
}

func (cn *conn) start() {
	if cn.tcp == nil {
		return
	}
	cn.wg.Add(2)
	go cn.readLoop()
	go cn.writeLoop()
}

// Read is kfake reading the next request.
func (cn *conn) Read(p []byte) (int, error) {
	for len(cn.cur) == 0 {
		select {
		case f := <-cn.toKfake:
			cn.cur = f
		case <-cn.closed:
			return 0, io.EOF
		}
	}
	n := copy(p, cn.cur)
	cn.cur = cn.cur[n:]
	return n, nil
}

// Write is kfake writing one whole response frame (kfake writes each
// response with a single Write).
func (cn *conn) Write(b []byte) (int, error) {
	var s *slot
	select {
	case s = <-cn.fwd:
	case <-cn.closed:
		return 0, net.ErrClosed
	}
	if s.hdr.key == int16(kmsg.Produce) {
		defer cn.producing.Add(-1)
	}
	frame := append([]byte(nil), b...)
	if len(frame) >= 8 && int32(binary.BigEndian.Uint32(frame[4:8])) != s.hdr.corr {
		cn.Close()
		return 0, fmt.Errorf("kafkaemu: response correlation %d, want %d", int32(binary.BigEndian.Uint32(frame[4:8])), s.hdr.corr)
	}
	if s.filled() {
		return len(b), nil // fake answered first
	}
	if s.onResp != nil {
		frame = s.onResp(frame)
		if frame == nil {
			return len(b), nil // the hook fills the slot later
		}
	}
	s.fill(frame)
	return len(b), nil
}

func (cn *conn) Close() error {
	cn.closeOnce.Do(func() {
		close(cn.closed)
		if cn.tcp != nil {
			cn.tcp.Close()
		}
		cn.l.mu.Lock()
		delete(cn.l.conns, cn)
		cn.l.mu.Unlock()
		cn.abandonQueued()
	})
	return nil
}

// abandonQueued releases the slots still waiting for kfake's answer on a
// closed connection. Each slot is received from fwd once, by kfake's
// Write or here, so its onResp or its onAbandon runs, never both.
func (cn *conn) abandonQueued() {
	for {
		select {
		case s := <-cn.fwd:
			if s.onAbandon != nil {
				s.onAbandon()
			}
		default:
			return
		}
	}
}

func (cn *conn) LocalAddr() net.Addr {
	if cn.tcp != nil {
		return cn.tcp.LocalAddr()
	}
	return cn.l.Addr()
}

func (cn *conn) RemoteAddr() net.Addr {
	if cn.tcp != nil {
		return cn.tcp.RemoteAddr()
	}
	return cn.l.Addr()
}

func (cn *conn) SetDeadline(t time.Time) error      { return nil }
func (cn *conn) SetReadDeadline(t time.Time) error  { return nil }
func (cn *conn) SetWriteDeadline(t time.Time) error { return nil }

// readLoop reads client requests and routes each valid one.
func (cn *conn) readLoop() {
	defer cn.wg.Done()
	defer cn.Close()
	for {
		h, frame, body, ok := cn.nextRequest() // validated: see validate.go
		if !ok {
			if cn.peerClosed {
				cn.drainProduces()
			}
			return
		}
		if !cn.l.c.route(cn, h, frame, body) {
			return
		}
	}
}

// drainProduces waits, once the client closed its side, until kfake has
// answered the produce requests the client sent before: Kafka handles the
// requests it read before a close, so an acks=0 producer that writes and
// closes at once loses nothing (sarama's did, 8 records of 10). It gives
// up after the idle timeout.
func (cn *conn) drainProduces() {
	if cn.producing.Load() == 0 {
		return
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(cn.l.c.cfg.wire.idleTimeout())
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

// forward hands a request to kfake; s (nil for acks=0 produce) receives
// kfake's answer.
func (cn *conn) forward(frame []byte, s *slot) bool {
	if s != nil {
		if s.hdr.key == int16(kmsg.Produce) {
			cn.producing.Add(1)
		}
		select {
		case cn.fwd <- s:
		case <-cn.closed:
			if s.onAbandon != nil {
				s.onAbandon()
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
	select {
	case cn.toKfake <- frame:
		return true
	case <-cn.closed:
		cn.abandonQueued()
		return false
	}
}

// respond queues s to be written to the client in request order.
func (cn *conn) respond(s *slot) bool {
	s.act = cn.act
	cn.unanswered.Add(1)
	select {
	case cn.out <- s:
		return true
	case <-cn.closed:
		return false
	}
}

func (cn *conn) writeLoop() {
	defer cn.wg.Done()
	defer cn.Close()
	for {
		var s *slot
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
func (cn *conn) writeSlot(s *slot) bool {
	defer cn.unanswered.Add(-1)
	select {
	case <-s.ready:
	case <-cn.closed:
		return false
	}
	if s.frame == nil {
		return true
	}
	frame, ok := cn.l.c.net.beforeWrite(cn, s)
	if !ok {
		return false
	}
	if frame == nil {
		return true
	}
	_, err := cn.tcp.Write(frame)
	return err == nil
}

// roundTrip sends req to kfake over an internal connection and decodes
// the answer.
func (cn *conn) roundTrip(req kmsg.Request) (kmsg.Response, error) {
	cn.rtMu.Lock()
	defer cn.rtMu.Unlock()
	cn.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID(internalClientID)).AppendRequest(nil, req, cn.corr)
	s := newSlot(reqHeader{key: req.Key(), version: req.GetVersion(), corr: cn.corr})
	if !cn.forward(frame, s) {
		return nil, net.ErrClosed
	}
	select {
	case <-s.ready:
	case <-cn.closed:
		return nil, net.ErrClosed
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := decodeResponse(s.frame, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

const internalClientID = "kafkaemu-internal"

func parseHeader(frame []byte) (reqHeader, []byte, bool) {
	r := kbin.Reader{Src: frame[4:]}
	h := reqHeader{key: r.Int16(), version: r.Int16(), corr: r.Int32()}
	if cid := r.NullableString(); cid != nil {
		h.clientID = *cid
	}
	if !r.Ok() {
		return h, nil, false
	}
	req := kmsg.RequestForKey(h.key)
	if req == nil {
		return h, r.Src, true // validate.go refuses unknown keys before they get here
	}
	req.SetVersion(h.version)
	if req.IsFlexible() {
		kmsg.SkipTags(&r)
	}
	return h, r.Src, r.Ok()
}

// decodeRequest decodes a request body of the header's key and version.
func decodeRequest(h reqHeader, body []byte) (kmsg.Request, error) {
	req := kmsg.RequestForKey(h.key)
	if req == nil {
		return nil, fmt.Errorf("unknown request key %d", h.key)
	}
	req.SetVersion(h.version)
	return req, req.ReadFrom(body)
}

// encodeRequest is the frame of req, as the client with header h would send it.
func encodeRequest(h reqHeader, req kmsg.Request) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID(h.clientID)).AppendRequest(nil, req, h.corr)
}

// decodeResponse decodes a whole response frame into resp (whose version is set).
func decodeResponse(frame []byte, resp kmsg.Response) error {
	if len(frame) < 8 {
		return errors.New("short response frame")
	}
	r := kbin.Reader{Src: frame[8:]}
	if resp.IsFlexible() && resp.Key() != 18 {
		kmsg.SkipTags(&r)
	}
	return resp.ReadFrom(r.Src)
}

// encodeResponse is the frame for resp answering correlation id corr.
func encodeResponse(corr int32, resp kmsg.Response) []byte {
	buf := []byte{0, 0, 0, 0, 0, 0, 0, 0}
	if resp.IsFlexible() && resp.Key() != 18 {
		buf = append(buf, 0)
	}
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf[:4], uint32(len(buf)-4))
	binary.BigEndian.PutUint32(buf[4:8], uint32(corr))
	return buf
}
