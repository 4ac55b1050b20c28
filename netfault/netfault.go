package netfault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// NetFault is a network fault for the connections between clients and
// brokers: build one with Latency, DropResponses, CloseConnections,
// Blackhole, Partition or Isolate, narrow it with Target options, and
// install it with Layer.Add.
type NetFault struct {
	kind        Kind
	latency     time.Duration
	jitter      time.Duration
	probability float64
	brokers     []int32 // Partition, Isolate: the isolated brokers
}

// Kind is what a NetFault does.
type Kind int

// The kinds of network faults.
const (
	KindLatency   Kind = iota + 1 // Latency
	KindDrop                      // DropResponses
	KindClose                     // CloseConnections
	KindBlackhole                 // Blackhole
	KindPartition                 // Partition
	KindIsolate                   // Isolate
)

// String is the kind's name in the HTTP API and scenario files.
func (k Kind) String() string {
	if k < KindLatency || k > KindIsolate {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return [...]string{"", "latency", "drop-responses", "close-connections", "blackhole", "network-partition", "isolate"}[k]
}

// Kind is what f does (0 for the zero NetFault).
func (f NetFault) Kind() Kind { return f.kind }

// Brokers are the brokers a Partition or an Isolate isolates.
func (f NetFault) Brokers() []int32 { return slices.Clone(f.brokers) }

// Latency delays every matching response by d plus a random jitter in
// [0, jitter) drawn from the layer's seed.
func Latency(d, jitter time.Duration) NetFault {
	return NetFault{kind: KindLatency, latency: d, jitter: jitter}
}

// DropResponses lets the broker apply a matching request but the client
// never gets the answer: the connection breaks instead, so the client
// retries something that already happened (the classic at-least-once
// producer trap). probability in (0, 1] picks which requests, from the
// layer's seed; 1 drops them all.
func DropResponses(probability float64) NetFault {
	return NetFault{kind: KindDrop, probability: probability}
}

// CloseConnections closes a connection when a matching request arrives,
// before the broker sees it.
func CloseConnections() NetFault { return NetFault{kind: KindClose} }

// Blackhole accepts matching requests and holds them: the broker does not
// see them and the client gets no answer, nor to anything after them on
// the same connection. Removing the fault releases them.
func Blackhole() NetFault { return NetFault{kind: KindBlackhole} }

// Partition isolates brokers: clients cannot reach them (their requests are
// blackholed). An emulator also keeps them from replicating with the
// brokers on the other side (Layer.Isolated).
func Partition(brokers ...int32) NetFault {
	return NetFault{kind: KindPartition, brokers: slices.Clone(brokers)}
}

// Isolate cuts brokers off from the controller and their peers while
// clients still reach them (a split brain). What that does to leaders,
// the ISR and fencing is the emulator's model (fake.Isolate documents
// it); the layer itself holds only the requests of the clients its
// targets name (a Target is needed to cut any client off), as Partition
// holds them, and reports the brokers isolated (Isolated). An owner that
// has no such model refuses it through Config.Check.
func Isolate(brokers ...int32) NetFault {
	return NetFault{kind: KindIsolate, brokers: slices.Clone(brokers)}
}

// Target narrows which requests a NetFault applies to; every target given
// must match.
type Target func(*target)

type target struct {
	brokers  []int32
	clientID string
	addr     string
	keys     []kmsg.Key
	count    int
}

// OnBrokers limits a fault to connections to these brokers.
func OnBrokers(ids ...int32) Target { return func(t *target) { t.brokers = append(t.brokers, ids...) } }

// OnClient limits a fault to clients with this client id.
func OnClient(clientID string) Target { return func(t *target) { t.clientID = clientID } }

// OnAddr limits a fault to the client connection from this address (host:port).
func OnAddr(addr string) Target { return func(t *target) { t.addr = addr } }

// OnKeys limits a fault to these request kinds (kmsg.Produce, kmsg.Fetch, ...).
func OnKeys(keys ...kmsg.Key) Target { return func(t *target) { t.keys = append(t.keys, keys...) } }

// Times removes the fault by itself after it hit n requests.
func Times(n int) Target { return func(t *target) { t.count = n } }

// Handle refers to an installed NetFault.
type Handle struct {
	l       *Layer
	f       NetFault
	t       target
	hits    int
	removed bool
	done    chan struct{} // closed on removal: releases held requests
	cond    *sync.Cond
}

// Config configures a Layer.
type Config struct {
	// Seed drives the jitter and drop choices.
	Seed int64
	// Journal receives fault-added, fault-hit and fault-removed events;
	// nil journals nothing.
	Journal *journal.Log
	// Name prefixes the constructors in error messages ("fake" gives
	// "fake.Latency(-1s, 0s): ..."); empty means "netfault".
	Name string
	// Brokers, if set, lists the broker ids faults may name (OnBrokers,
	// Partition); its error (a closed cluster) refuses every Add.
	Brokers func() ([]int32, error)
	// Check, if set, refuses a fault before it is installed (the
	// emulator checks an Isolate against its brokers; a proxy refuses
	// one). Its error is Add's.
	Check func(f NetFault) error
	// OnChange, if set, runs after a fault is added (after the
	// fault-added event) or removed (after fault-removed): an emulator's
	// replication model reacts to a Partition or an Isolate.
	OnChange func(h *Handle, added bool)
}

// Layer holds the installed network faults of a set of brokers and
// decides, request by request, what they do (BeforeRoute).
type Layer struct {
	cfg    Config
	mu     sync.Mutex
	rng    *rand.Rand // jitter and drop choices, from the seed
	faults []*Handle
}

// NewLayer is a Layer with no fault installed.
func NewLayer(cfg Config) *Layer {
	if cfg.Name == "" {
		cfg.Name = "netfault"
	}
	return &Layer{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6e65746661756c74))}
}

func (l *Layer) journal(e journal.Event) {
	if l.cfg.Journal != nil {
		l.cfg.Journal.Add(e)
	}
}

// Add installs a network fault; it applies to requests from now on.
func (l *Layer) Add(f NetFault, targets ...Target) (*Handle, error) {
	var known []int32
	if l.cfg.Brokers != nil {
		var err error
		if known, err = l.cfg.Brokers(); err != nil {
			return nil, err
		}
	}
	if err := f.validate(l.cfg.Name, known, l.cfg.Brokers != nil); err != nil {
		return nil, err
	}
	if l.cfg.Check != nil {
		if err := l.cfg.Check(f); err != nil {
			return nil, err
		}
	}
	h := &Handle{l: l, f: f, done: make(chan struct{})}
	for i, o := range targets {
		if o == nil {
			return nil, fmt.Errorf("AddFault(%s): target %d is nil", f.kind, i)
		}
		o(&h.t)
	}
	if h.t.count < 0 {
		return nil, fmt.Errorf("%s.Times(%d): want a count >= 0", l.cfg.Name, h.t.count)
	}
	if f.kind == KindIsolate && h.t.count > 0 && !h.Selective() {
		return nil, fmt.Errorf("%s.Times(%d) with %s.Isolate counts the requests of the clients it cuts off; name them with OnClient, OnAddr, OnKeys or OnBrokers", l.cfg.Name, h.t.count, l.cfg.Name)
	}
	if l.cfg.Brokers != nil {
		for _, b := range h.t.brokers {
			if !slices.Contains(known, b) {
				return nil, fmt.Errorf("%s.OnBrokers: unknown broker %d (brokers are %v)", l.cfg.Name, b, known)
			}
		}
	}
	h.cond = sync.NewCond(&l.mu)
	l.mu.Lock()
	l.faults = append(l.faults, h)
	l.mu.Unlock()
	l.journal(journal.Event{Kind: journal.EventFaultAdded, Detail: h.String()})
	if l.cfg.OnChange != nil {
		l.cfg.OnChange(h, true)
	}
	return h, nil
}

func (f NetFault) validate(name string, known []int32, check bool) error {
	switch f.kind {
	case KindLatency:
		if f.latency < 0 || f.jitter < 0 {
			return fmt.Errorf("%s.Latency(%v, %v): durations must not be negative", name, f.latency, f.jitter)
		}
	case KindDrop:
		if !(f.probability > 0 && f.probability <= 1) {
			return fmt.Errorf("%s.DropResponses(%v): probability must be in (0, 1]", name, f.probability)
		}
	case KindClose, KindBlackhole, KindIsolate: // an Isolate is checked by Config.Check
	case KindPartition:
		if len(f.brokers) == 0 {
			return fmt.Errorf("%s.Partition(): name at least one broker to isolate", name)
		}
		if !check {
			return nil
		}
		for _, b := range f.brokers {
			if !slices.Contains(known, b) {
				return fmt.Errorf("%s.Partition(%v): unknown broker %d (brokers are %v)", name, f.brokers, b, known)
			}
		}
	default:
		return fmt.Errorf("%s: a zero NetFault; build one with Latency, DropResponses, CloseConnections, Blackhole, Partition or Isolate", name)
	}
	return nil
}

// Fault is the installed fault.
func (h *Handle) Fault() NetFault { return h.f }

// Selective reports whether the fault's targets name which requests it
// applies to (an Isolate cuts off only such clients).
func (h *Handle) Selective() bool {
	t := &h.t
	return len(t.brokers) > 0 || t.clientID != "" || t.addr != "" || len(t.keys) > 0
}

// String describes the fault and its targets.
func (h *Handle) String() string {
	var b strings.Builder
	b.WriteString(h.f.kind.String())
	switch h.f.kind {
	case KindLatency:
		fmt.Fprintf(&b, " %v±%v", h.f.latency, h.f.jitter)
	case KindDrop:
		fmt.Fprintf(&b, " p=%v", h.f.probability)
	case KindPartition, KindIsolate:
		fmt.Fprintf(&b, " brokers %v", h.f.brokers)
	}
	if len(h.t.brokers) > 0 {
		fmt.Fprintf(&b, " on brokers %v", h.t.brokers)
	}
	if h.t.clientID != "" {
		fmt.Fprintf(&b, " client %q", h.t.clientID)
	}
	if h.t.addr != "" {
		fmt.Fprintf(&b, " addr %s", h.t.addr)
	}
	if len(h.t.keys) > 0 {
		var ks []string
		for _, k := range h.t.keys {
			ks = append(ks, k.Name())
		}
		fmt.Fprintf(&b, " requests %s", strings.Join(ks, ","))
	}
	if h.t.count > 0 {
		fmt.Fprintf(&b, " %d times", h.t.count)
	}
	return b.String()
}

// Remove uninstalls the fault and releases the requests it holds
// (Blackhole, Partition): they reach the broker now, unless the client
// gave up on the connection meanwhile. Removing twice is an error.
func (h *Handle) Remove() error {
	l := h.l
	l.mu.Lock()
	if h.removed {
		l.mu.Unlock()
		return fmt.Errorf("fault %s was already removed", h)
	}
	l.removeLocked(h)
	l.mu.Unlock()
	h.removedNow("")
	return nil
}

// removedNow journals the removal and tells OnChange.
func (h *Handle) removedNow(why string) {
	detail := h.String()
	if why != "" {
		detail += " " + why
	}
	h.l.journal(journal.Event{Kind: journal.EventFaultRemoved, Detail: detail})
	if h.l.cfg.OnChange != nil {
		h.l.cfg.OnChange(h, false)
	}
}

func (l *Layer) removeLocked(h *Handle) {
	h.removed = true
	close(h.done)
	l.faults = slices.DeleteFunc(l.faults, func(x *Handle) bool { return x == h })
	h.cond.Broadcast()
}

// Hits is how many requests the fault has affected.
func (h *Handle) Hits() int {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	return h.hits
}

// Wait blocks until the fault has hit n requests in all, it is removed,
// or ctx is done.
func (h *Handle) Wait(ctx context.Context, n int) error {
	stop := context.AfterFunc(ctx, func() {
		h.l.mu.Lock()
		h.cond.Broadcast()
		h.l.mu.Unlock()
	})
	defer stop()
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	for h.hits < n {
		if h.removed {
			return fmt.Errorf("fault %s removed after %d of %d hits", h, h.hits, n)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fault %s: %d of %d hits: %w", h, h.hits, n, err)
		}
		h.cond.Wait()
	}
	return nil
}

// Request is what the faults look at in one client request.
type Request struct {
	Broker   int32  // the broker the connection is to
	ClientID string // the request header's client id
	Addr     string // the client's address (host:port)
	Key      int16  // the request kind (kmsg.Key)
}

func (t *target) matches(r Request) bool {
	if len(t.brokers) > 0 && !slices.Contains(t.brokers, r.Broker) {
		return false
	}
	if t.clientID != "" && t.clientID != r.ClientID {
		return false
	}
	if t.addr != "" && t.addr != r.Addr {
		return false
	}
	if len(t.keys) > 0 && !slices.Contains(t.keys, kmsg.Key(r.Key)) {
		return false
	}
	return true
}

// Action is what the faults decided for one request's response.
type Action struct {
	Delay time.Duration // write the response this much later
	Drop  bool          // close the connection instead of writing it
}

// BeforeRoute applies the request-side faults to r and returns what to do
// to its response. It returns false to close the connection (before the
// broker sees the request). A held request (Blackhole, Partition) blocks
// here until its faults are removed or closed is closed (then false).
func (l *Layer) BeforeRoute(r Request, closed <-chan struct{}) (Action, bool) {
	var act Action
	l.mu.Lock()
	if len(l.faults) == 0 {
		l.mu.Unlock()
		return act, true
	}
	var hits, holes, spent []*Handle
	closeConn := false
	for _, f := range slices.Clone(l.faults) {
		if !f.t.matches(r) {
			continue
		}
		hit := true
		switch f.f.kind {
		case KindLatency:
			d := f.f.latency
			if f.f.jitter > 0 {
				d += time.Duration(l.rng.Int64N(int64(f.f.jitter)))
			}
			act.Delay += d
		case KindDrop:
			if f.f.probability >= 1 || l.rng.Float64() < f.f.probability {
				act.Drop = true
			} else {
				hit = false
			}
		case KindClose:
			closeConn = true
		case KindBlackhole:
			holes = append(holes, f)
		case KindPartition:
			if slices.Contains(f.f.brokers, r.Broker) {
				holes = append(holes, f)
			} else {
				hit = false
			}
		case KindIsolate: // cuts off only the clients its targets name
			if f.Selective() && slices.Contains(f.f.brokers, r.Broker) {
				holes = append(holes, f)
			} else {
				hit = false
			}
		}
		if hit {
			f.hits++
			f.cond.Broadcast()
			hits = append(hits, f)
			if f.t.count > 0 && f.hits >= f.t.count {
				l.removeLocked(f)
				spent = append(spent, f)
			}
		}
	}
	l.mu.Unlock()
	for _, f := range hits {
		l.journal(journal.Event{Kind: journal.EventFaultHit, Broker: r.Broker, Client: r.ClientID, Conn: r.Addr, Detail: fmt.Sprintf("%s on %s", f, kmsg.NameForKey(r.Key))})
	}
	for _, f := range spent {
		f.removedNow(fmt.Sprintf("after %d hits", f.t.count))
	}
	if closeConn {
		return act, false
	}
	// A held request holds the connection: nothing after it is read.
	for _, f := range holes {
		select {
		case <-f.done:
		case <-closed:
			return act, false
		}
	}
	return act, true
}

// Isolated reports whether a network partition or an isolation separates
// brokers a and b.
func (l *Layer) Isolated(a, b int32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.faults {
		if (f.f.kind == KindPartition || f.f.kind == KindIsolate) && slices.Contains(f.f.brokers, a) != slices.Contains(f.f.brokers, b) {
			return true
		}
	}
	return false
}

// RemoveAll uninstalls every fault, releasing what they hold, without
// journaling (the layer is shutting down).
func (l *Layer) RemoveAll() {
	l.mu.Lock()
	for _, f := range slices.Clone(l.faults) {
		l.removeLocked(f)
	}
	l.mu.Unlock()
}
