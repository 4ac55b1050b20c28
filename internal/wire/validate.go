package wire

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

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The wire layer validates every request a client sends before anything
// else sees it: kfake panics on a request key it does not know and
// allocates whatever length a frame announces, so one broken or hostile
// client could take down the whole process. A request is routed only if
// its length is within MaxRequestBytes, its key and version are ones the
// backend advertises in ApiVersions, and its body decodes; anything
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

func (c *Config) maxBytes() int {
	if c.MaxRequestBytes == 0 {
		return DefaultMaxRequestBytes
	}
	return c.MaxRequestBytes
}

func (c *Config) idleTimeout() time.Duration {
	if c.IdleTimeout == 0 {
		return DefaultIdleTimeout
	}
	return c.IdleTimeout
}

// badRequest is why a frame is refused.
type badRequest struct {
	h      Header
	parsed bool // h was read from the frame
	reason string
	head   []byte // the frame's first bytes
	quiet  bool   // close without journaling
}

// nextRequest reads the client's next request and returns it when it may
// be routed. A request that must not reach the backend closes the
// connection (ok false) after the journal records why; an ApiVersions
// request at a version the backend does not speak is answered here, as
// Kafka answers it, and reading goes on.
func (cn *Conn) nextRequest() (h Header, frame, body []byte, ok bool) {
	c := &cn.l.cfg
	if c.Unchecked {
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
				cn.journalBad(bad)
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
		if !cn.beforeRoute(h) {
			return h, nil, nil, false
		}
		vs := c.Versions()[int16(kmsg.ApiVersions)]
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = int16(kmsg.ApiVersions), vs[0], vs[1]
		resp.ApiKeys = append(resp.ApiKeys, k)
		if !cn.Answer(h, resp) {
			return h, nil, nil, false
		}
	}
}

// checkRequest validates a whole frame. unsupported is set for an
// ApiVersions request at a version the backend does not speak, which is
// answered, not forwarded.
func (c *Config) checkRequest(frame []byte) (h Header, body []byte, unsupported bool, _ *badRequest) {
	bad := func(h Header, parsed bool, format string, args ...any) *badRequest {
		if h.ClientID == "" && len(frame) >= 14 { // for the journal, if it is there
			if n := int(int16(binary.BigEndian.Uint16(frame[12:]))); n > 0 && 14+n <= len(frame) {
				h.ClientID = string(frame[14 : 14+n])
			}
		}
		return &badRequest{h: h, parsed: parsed, reason: fmt.Sprintf(format, args...), head: frame}
	}
	if len(frame) < 12 {
		return h, nil, false, bad(h, false, "the request header does not decode (%d bytes)", len(frame)-4)
	}
	h.Key = int16(binary.BigEndian.Uint16(frame[4:]))
	h.Version = int16(binary.BigEndian.Uint16(frame[6:]))
	h.Corr = int32(binary.BigEndian.Uint32(frame[8:]))
	vs := c.Versions()
	if vs == nil { // the backend is closing: not the client's fault
		return h, nil, false, &badRequest{quiet: true}
	}
	name := kmsg.NameForKey(h.Key)
	r, known := vs[h.Key]
	switch {
	case !known && kmsg.RequestForKey(h.Key) == nil:
		return h, nil, false, bad(h, true, "unknown request key %d", h.Key)
	case !known:
		return h, nil, false, bad(h, true, "request key %d (%s) is not served by this cluster", h.Key, name)
	case h.Version < r[0] || h.Version > r[1]:
		if h.Key == int16(kmsg.ApiVersions) {
			return h, nil, true, nil
		}
		return h, nil, false, bad(h, true, "%s v%d is not supported (the cluster speaks v%d to v%d)", name, h.Version, r[0], r[1])
	}
	h, body, ok := ParseHeader(frame)
	if !ok {
		return h, nil, false, bad(h, true, "the %s v%d request header does not decode", name, h.Version)
	}
	req := kmsg.RequestForKey(h.Key)
	req.SetVersion(h.Version)
	if err := req.ReadFrom(body); err != nil {
		return h, nil, false, bad(h, true, "%s v%d body does not decode: %v", name, h.Version, err)
	}
	if c.Check != nil {
		if err := c.Check(req); err != nil {
			return h, nil, false, bad(h, true, "%s %v", name, err)
		}
	}
	return h, body, false, nil
}

// readFrame reads one length-prefixed frame. Between frames the
// connection may stay idle for IdleTimeout (longer while it is owed an
// answer); once a frame begins, all of it must arrive within IdleTimeout.
// Memory is taken as bytes arrive: a frame announcing 2 GiB and sending
// ten bytes holds a small buffer, never the announced length.
func (cn *Conn) readFrame() ([]byte, *badRequest, error) {
	w := &cn.l.cfg
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
	} else if b := cn.pooledRequest(want); b != nil {
		frame = (*b)[:4] // memory already held: not taken for this frame
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

// pooledRequest is a pooled buffer for a large request frame, when the
// connection's produce requests go back to the pool (Conn.reuse); nil if
// there is none.
func (cn *Conn) pooledRequest(n int) *[]byte {
	if !cn.sinking() {
		return nil
	}
	return pooledFrame(n)
}

// stalled is the bad request of a frame cut short after got bytes: by
// the idle timeout (journaled) or by the client closing (not).
func (cn *Conn) stalled(got []byte, want int, err error) *badRequest {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return &badRequest{
		reason: fmt.Sprintf("stalled: %d of %d bytes arrived within %v (IdleTimeout)", len(got), want, cn.l.cfg.idleTimeout()),
		head:   got,
	}
}

// owed reports whether the client is waiting for an answer: a response
// queued and not yet written, wherever it is (with kfake, held by a
// fault, or in writeLoop's hands; counting only the channels missed the
// one writeLoop held, so a long poll answered just as the idle deadline
// passed was closed as idle).
func (cn *Conn) owed() bool { return cn.unanswered.Load() > 0 || len(cn.fwd) > 0 }

// journalBad records a refused request. A stall cut short by the client
// closing its end is not journaled (err without bad).
func (cn *Conn) journalBad(b *badRequest) {
	if cn.l.cfg.Journal == nil {
		return
	}
	head := b.head
	if len(head) > journalBytes {
		head = head[:journalBytes]
	}
	e := journal.Event{Kind: journal.EventBadRequest, Broker: cn.Node(), Conn: cn.remote, APIKey: -1, APIVersion: -1, Error: b.reason, Detail: hex.EncodeToString(head)}
	if b.parsed {
		e.APIKey, e.APIVersion, e.Client = b.h.Key, b.h.Version, b.h.ClientID
	}
	cn.l.cfg.Journal.Add(e)
}

// readUnchecked is the wire layer before validation, for benchmarks
// comparing the two.
func (cn *Conn) readUnchecked() (Header, []byte, []byte, bool) {
	var size [4]byte
	if _, err := io.ReadFull(cn.tcp, size[:]); err != nil {
		return Header{}, nil, nil, false
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxFrame || n < 8 {
		return Header{}, nil, nil, false
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	if _, err := io.ReadFull(cn.tcp, frame[4:]); err != nil {
		return Header{}, nil, nil, false
	}
	h, body, ok := ParseHeader(frame)
	return h, frame, body, ok
}

// Versions remembers what a backend advertises in ApiVersions (key ->
// min and max version), asked once; its zero value is ready to use.
type Versions struct {
	mu   sync.Mutex // one load at a time
	keys atomic.Pointer[map[int16][2]int16]
}

// Get is the advertised table, asking ask the first time; nil while the
// backend cannot be asked (it is closing, or answered an error). ask
// sends a v0 ApiVersions request: no client software to validate.
func (v *Versions) Get(ask func(*kmsg.ApiVersionsRequest) (kmsg.Response, error)) map[int16][2]int16 {
	if keys := v.keys.Load(); keys != nil {
		return *keys
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if keys := v.keys.Load(); keys != nil {
		return *keys
	}
	resp, err := ask(kmsg.NewPtrApiVersionsRequest())
	if err != nil {
		return nil
	}
	r, ok := resp.(*kmsg.ApiVersionsResponse)
	if !ok || r.ErrorCode != 0 {
		return nil
	}
	keys := make(map[int16][2]int16, len(r.ApiKeys))
	for _, k := range r.ApiKeys {
		keys[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	v.keys.Store(&keys)
	return keys
}
