package fake

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The wire layer validates every request a client sends before anything
// else sees it: kfake panics on a request key it does not know and
// allocates whatever length a frame announces, so one broken or hostile
// client could take down the whole process. A request is forwarded only
// if its length is within MaxRequestBytes, its key and version are ones
// the cluster advertises in ApiVersions, and its body decodes; anything
// else closes that connection (as Kafka closes the connection of a client
// that sends an invalid request) and is journaled as a bad-request event.
// Memory for a frame is taken as its bytes arrive, and a connection that
// stalls is closed after IdleTimeout.

const (
	// DefaultMaxRequestBytes is Kafka's socket.request.max.bytes default.
	DefaultMaxRequestBytes = 100 << 20
	// DefaultIdleTimeout is the default IdleTimeout: shorter than Kafka's
	// connections.max.idle.ms (10 minutes) because tests are short, and
	// longer than any client waits for an answer.
	DefaultIdleTimeout = time.Minute

	firstChunk   = 64 << 10 // a frame's first buffer, unless more has arrived; it grows as bytes arrive
	journalBytes = 64       // how much of a bad frame the journal shows
)

type wireConfig struct {
	maxRequest int           // 0: DefaultMaxRequestBytes
	idle       time.Duration // 0: DefaultIdleTimeout
	unchecked  bool          // tests only: the wire layer as it was before validation
}

// MaxRequestBytes is Kafka's socket.request.max.bytes: a request frame
// announcing more than n bytes closes its connection (journaled as
// bad-request) before any of its body is read. The default is
// DefaultMaxRequestBytes (100 MiB).
func MaxRequestBytes(n int) Option {
	return func(c *config) error {
		if n < 64 || n > 1<<31-1 {
			return fmt.Errorf("fake.MaxRequestBytes(%d): want 64 to %d bytes", n, 1<<31-1)
		}
		c.wire.maxRequest = n
		return nil
	}
}

// IdleTimeout is Kafka's connections.max.idle.ms: a client connection
// that sends no request for d while no answer is owed to it is closed,
// and so is one that begins a request and does not send all of it within
// d (a stalled or trickling client; journaled as bad-request). The
// default is DefaultIdleTimeout (1 minute).
func IdleTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("fake.IdleTimeout(%v): want a positive duration", d)
		}
		c.wire.idle = d
		return nil
	}
}

func (w wireConfig) maxBytes() int {
	if w.maxRequest == 0 {
		return DefaultMaxRequestBytes
	}
	return w.maxRequest
}

func (w wireConfig) idleTimeout() time.Duration {
	if w.idle == 0 {
		return DefaultIdleTimeout
	}
	return w.idle
}

// apiVersions is what the cluster advertises in ApiVersions, asked of
// kfake once (it honours kfake.MaxVersions): key -> min and max version.
type apiVersions struct {
	mu   sync.Mutex // one load at a time
	keys atomic.Pointer[map[int16][2]int16]
}

// versions is the advertised table; nil when kfake cannot be asked (the
// cluster is closing).
func (c *Cluster) versions() map[int16][2]int16 {
	v := &c.apiVersions
	if keys := v.keys.Load(); keys != nil {
		return *keys
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if keys := v.keys.Load(); keys != nil {
		return *keys
	}
	resp, err := c.request(-1, kmsg.NewPtrApiVersionsRequest()) // v0: no client software to validate
	if err != nil {
		return nil
	}
	r := resp.(*kmsg.ApiVersionsResponse)
	if r.ErrorCode != 0 {
		return nil
	}
	keys := make(map[int16][2]int16, len(r.ApiKeys))
	for _, k := range r.ApiKeys {
		keys[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	v.keys.Store(&keys)
	return keys
}

// badRequest is why a frame is refused.
type badRequest struct {
	h      reqHeader
	parsed bool // h was read from the frame
	reason string
	head   []byte // the frame's first bytes
	quiet  bool   // close without journaling
}

// nextRequest reads the client's next request and returns it when it may
// be routed. A request that must not reach kfake closes the connection
// (ok false) after the journal records why; an ApiVersions request at a
// version the cluster does not speak is answered here, as Kafka answers
// it, and reading goes on.
func (cn *conn) nextRequest() (h reqHeader, frame, body []byte, ok bool) {
	c := cn.l.c
	if c.cfg.wire.unchecked {
		return cn.readUnchecked()
	}
	for {
		frame, bad, err := cn.readFrame()
		if err != nil && bad == nil {
			return h, nil, nil, false
		}
		unsupported := false
		if bad == nil {
			h, body, unsupported, bad = c.checkRequest(frame)
		}
		if bad != nil {
			if !bad.quiet {
				c.journalBad(cn, bad)
			}
			return h, nil, nil, false
		}
		if !unsupported {
			return h, frame, body, true
		}
		// An ApiVersions request at a version we do not speak: Kafka
		// answers a v0 response carrying UNSUPPORTED_VERSION and the
		// ApiVersions versions it does speak, and the client retries
		// at one of them (KIP-511).
		if !c.net.beforeRoute(cn, h) {
			return h, nil, nil, false
		}
		vs := c.versions()[int16(kmsg.ApiVersions)]
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = int16(kmsg.ApiVersions), vs[0], vs[1]
		resp.ApiKeys = append(resp.ApiKeys, k)
		if !c.answer(cn, h, resp) {
			return h, nil, nil, false
		}
	}
}

// checkRequest validates a whole frame. unsupported is set for an
// ApiVersions request at a version the cluster does not speak, which is
// answered, not forwarded.
func (c *Cluster) checkRequest(frame []byte) (h reqHeader, body []byte, unsupported bool, _ *badRequest) {
	bad := func(h reqHeader, parsed bool, format string, args ...any) *badRequest {
		if h.clientID == "" && len(frame) >= 14 { // for the journal, if it is there
			if n := int(int16(binary.BigEndian.Uint16(frame[12:]))); n > 0 && 14+n <= len(frame) {
				h.clientID = string(frame[14 : 14+n])
			}
		}
		return &badRequest{h: h, parsed: parsed, reason: fmt.Sprintf(format, args...), head: frame}
	}
	if len(frame) < 12 {
		return h, nil, false, bad(h, false, "the request header does not decode (%d bytes)", len(frame)-4)
	}
	h.key = int16(binary.BigEndian.Uint16(frame[4:]))
	h.version = int16(binary.BigEndian.Uint16(frame[6:]))
	h.corr = int32(binary.BigEndian.Uint32(frame[8:]))
	vs := c.versions()
	if vs == nil { // the cluster is closing: not the client's fault
		return h, nil, false, &badRequest{quiet: true}
	}
	name := kmsg.NameForKey(h.key)
	r, known := vs[h.key]
	switch {
	case !known && kmsg.RequestForKey(h.key) == nil:
		return h, nil, false, bad(h, true, "unknown request key %d", h.key)
	case !known:
		return h, nil, false, bad(h, true, "request key %d (%s) is not served by this cluster", h.key, name)
	case h.version < r[0] || h.version > r[1]:
		if h.key == int16(kmsg.ApiVersions) {
			return h, nil, true, nil
		}
		return h, nil, false, bad(h, true, "%s v%d is not supported (the cluster speaks v%d to v%d)", name, h.version, r[0], r[1])
	}
	h, body, ok := parseHeader(frame)
	if !ok {
		return h, nil, false, bad(h, true, "the %s v%d request header does not decode", name, h.version)
	}
	req := kmsg.RequestForKey(h.key)
	req.SetVersion(h.version)
	if err := req.ReadFrom(body); err != nil {
		return h, nil, false, bad(h, true, "%s v%d body does not decode: %v", name, h.version, err)
	}
	if n := newPartitions(req); n > maxNewPartitions {
		return h, nil, false, bad(h, true, "%s asks for %d partitions, more than the emulator's limit of %d a request", name, n, maxNewPartitions)
	}
	return h, body, false, nil
}

// maxNewPartitions bounds the partitions one request may create: kfake
// and the model hold every partition in memory, and one CreateTopics
// asking for two billion would end the process.
const maxNewPartitions = 100_000

func newPartitions(req kmsg.Request) int64 {
	var n int64
	switch r := req.(type) {
	case *kmsg.CreateTopicsRequest:
		for _, t := range r.Topics {
			n += max(int64(t.NumPartitions), int64(len(t.ReplicaAssignment)))
		}
	case *kmsg.CreatePartitionsRequest:
		for _, t := range r.Topics {
			n += int64(t.Count)
		}
	}
	return n
}

// readFrame reads one length-prefixed frame. Between frames the
// connection may stay idle for IdleTimeout (longer while it is owed an
// answer); once a frame begins, all of it must arrive within IdleTimeout.
// Memory is taken as bytes arrive: a frame announcing 2 GiB and sending
// ten bytes holds a small buffer, never the announced length.
func (cn *conn) readFrame() ([]byte, *badRequest, error) {
	w := cn.l.c.cfg.wire
	idle := w.idleTimeout()
	var size [4]byte
	for {
		_ = cn.tcp.SetReadDeadline(time.Now().Add(idle))
		n, err := io.ReadAtLeast(cn.tcp, size[:], 1)
		if err == nil {
			_ = cn.tcp.SetReadDeadline(time.Now().Add(idle))
			if _, err = io.ReadFull(cn.tcp, size[n:]); err != nil {
				return nil, cn.stalled(size[:n], 4, err), err
			}
			break
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && cn.owed() {
			continue // a long poll, a join waiting for its group: not idle
		}
		cn.peerClosed = errors.Is(err, io.EOF)
		return nil, nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	switch {
	case n < 0:
		return nil, &badRequest{reason: fmt.Sprintf("negative request length %d", n), head: size[:]}, nil
	case int(n) > w.maxBytes():
		return nil, &badRequest{reason: fmt.Sprintf("request length %d exceeds the maximum of %d bytes (socket.request.max.bytes)", n, w.maxBytes()), head: size[:]}, nil
	}
	want := 4 + int(n)
	var frame []byte
	if want <= firstChunk {
		frame = make([]byte, 4, want)
	} else {
		frame = make([]byte, 4, min(want, max(firstChunk, 4+arrived(cn.tcp))))
	}
	copy(frame, size[:])
	for len(frame) < want {
		if len(frame) == cap(frame) {
			// Grow by what has arrived, at least doubling: a frame
			// holds at most twice the bytes its client sent.
			grown := min(want, max(2*len(frame), len(frame)+arrived(cn.tcp)))
			frame = slices.Grow(frame, grown-len(frame))
		}
		m, err := cn.tcp.Read(frame[len(frame):min(want, cap(frame))])
		frame = frame[:len(frame)+m]
		if err != nil && len(frame) < want {
			return nil, cn.stalled(frame, want, err), err
		}
	}
	return frame, nil, nil
}

// stalled is the bad request of a frame cut short after got bytes: by
// the idle timeout (journaled) or by the client closing (not).
func (cn *conn) stalled(got []byte, want int, err error) *badRequest {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return &badRequest{
		reason: fmt.Sprintf("stalled: %d of %d bytes arrived within %v (IdleTimeout)", len(got), want, cn.l.c.cfg.wire.idleTimeout()),
		head:   got,
	}
}

// owed reports whether the client is waiting for an answer: a response
// queued and not yet written, wherever it is (with kfake, held by a
// fault, or in writeLoop's hands; counting only the channels missed the
// one writeLoop held, so a long poll answered just as the idle deadline
// passed was closed as idle).
func (cn *conn) owed() bool { return cn.unanswered.Load() > 0 || len(cn.fwd) > 0 }

// journalBad records a refused request. A stall cut short by the client
// closing its end is not journaled (err without bad).
func (c *Cluster) journalBad(cn *conn, b *badRequest) {
	head := b.head
	if len(head) > journalBytes {
		head = head[:journalBytes]
	}
	e := Event{Kind: EventBadRequest, Broker: cn.l.node, Conn: cn.remote, APIKey: -1, APIVersion: -1, Error: b.reason, Detail: hex.EncodeToString(head)}
	if b.parsed {
		e.APIKey, e.APIVersion, e.Client = b.h.key, b.h.version, b.h.clientID
	}
	c.journal.add(e)
}

// readUnchecked is the wire layer before validation, for benchmarks
// comparing the two.
func (cn *conn) readUnchecked() (reqHeader, []byte, []byte, bool) {
	var size [4]byte
	if _, err := io.ReadFull(cn.tcp, size[:]); err != nil {
		return reqHeader{}, nil, nil, false
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxFrame || n < 8 {
		return reqHeader{}, nil, nil, false
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	if _, err := io.ReadFull(cn.tcp, frame[4:]); err != nil {
		return reqHeader{}, nil, nil, false
	}
	h, body, ok := parseHeader(frame)
	return h, frame, body, ok
}
