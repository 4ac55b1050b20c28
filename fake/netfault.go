package fake

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// NetFault is a network fault for the connections between clients and
// brokers: build one with Latency, DropResponses, CloseConnections,
// Blackhole, Partition or Isolate, narrow it with Target options, and
// install it with Cluster.AddFault.
type NetFault struct {
	kind        netKind
	latency     time.Duration
	jitter      time.Duration
	probability float64
	brokers     []int32 // Partition, Isolate: the isolated brokers
}

type netKind int

const (
	kindLatency netKind = iota + 1
	kindDrop
	kindClose
	kindBlackhole
	kindPartition
	kindIsolate
)

func (k netKind) String() string {
	return [...]string{"", "latency", "drop-responses", "close-connections", "blackhole", "network-partition", "isolate"}[k]
}

// Latency delays every matching response by d plus a random jitter in
// [0, jitter) drawn from the cluster seed.
func Latency(d, jitter time.Duration) NetFault {
	return NetFault{kind: kindLatency, latency: d, jitter: jitter}
}

// DropResponses lets the broker apply a matching request but the client
// never gets the answer: the connection breaks instead, so the client
// retries something that already happened (the classic at-least-once
// producer trap). probability in (0, 1] picks which requests, from the
// cluster seed; 1 drops them all.
func DropResponses(probability float64) NetFault {
	return NetFault{kind: kindDrop, probability: probability}
}

// CloseConnections closes a connection when a matching request arrives,
// before the broker sees it.
func CloseConnections() NetFault { return NetFault{kind: kindClose} }

// Blackhole accepts matching requests and holds them: the broker does not
// see them and the client gets no answer, nor to anything after them on
// the same connection. Removing the fault releases them.
func Blackhole() NetFault { return NetFault{kind: kindBlackhole} }

// Partition isolates brokers: clients cannot reach them (their requests are
// blackholed) and, for the replication model, they cannot copy from or be
// copied by brokers on the other side, so the ISR shrinks after
// ReplicaLagMax.
func Partition(brokers ...int32) NetFault {
	return NetFault{kind: kindPartition, brokers: slices.Clone(brokers)}
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

// FaultHandle refers to an installed NetFault.
type FaultHandle struct {
	c       *Cluster
	f       NetFault
	t       target
	hits    int
	removed bool
	done    chan struct{} // closed on removal: releases held requests
	cond    *sync.Cond
}

// netLayer holds the installed network faults.
type netLayer struct {
	c      *Cluster
	mu     sync.Mutex
	rng    *rand.Rand // jitter and drop choices, from the cluster seed
	faults []*FaultHandle
}

func (n *netLayer) init(c *Cluster) {
	n.c = c
	n.rng = rand.New(rand.NewPCG(uint64(c.seed), 0x6e65746661756c74))
}

// AddFault installs a network fault; it applies to requests from now on.
func (c *Cluster) AddFault(f NetFault, targets ...Target) (*FaultHandle, error) {
	if err := f.validate(c); err != nil {
		return nil, err
	}
	h := &FaultHandle{c: c, f: f, done: make(chan struct{})}
	for i, o := range targets {
		if o == nil {
			return nil, fmt.Errorf("AddFault(%s): target %d is nil", f.kind, i)
		}
		o(&h.t)
	}
	if h.t.count < 0 {
		return nil, fmt.Errorf("fake.Times(%d): want a count >= 0", h.t.count)
	}
	if f.kind == kindIsolate && h.t.count > 0 && !h.t.selective() {
		return nil, fmt.Errorf("fake.Times(%d) with fake.Isolate counts the requests of the clients it cuts off; name them with OnClient, OnAddr, OnKeys or OnBrokers", h.t.count)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClosed
	}
	for _, b := range h.t.brokers {
		if c.brokers[b] == nil {
			c.mu.Unlock()
			return nil, fmt.Errorf("fake.OnBrokers: unknown broker %d (brokers are %v)", b, c.brokerIDsLocked())
		}
	}
	c.mu.Unlock()
	h.cond = sync.NewCond(&c.net.mu)
	c.net.mu.Lock()
	c.net.faults = append(c.net.faults, h)
	c.net.mu.Unlock()
	c.journal.add(Event{Kind: EventFaultAdded, Detail: h.String()})
	if f.kind == kindIsolate {
		c.startIsolation(h)
	}
	if f.kind == kindPartition || f.kind == kindIsolate {
		c.mu.Lock()
		parts := c.allPartitionsLocked()
		c.mu.Unlock()
		for _, p := range parts {
			c.mu.Lock()
			if len(p.tail) > 0 && p.lagTimer == nil {
				c.startLagTimerLocked(p)
			}
			c.mu.Unlock()
		}
	}
	return h, nil
}

func (f NetFault) validate(c *Cluster) error {
	switch f.kind {
	case kindLatency:
		if f.latency < 0 || f.jitter < 0 {
			return fmt.Errorf("fake.Latency(%v, %v): durations must not be negative", f.latency, f.jitter)
		}
	case kindDrop:
		if !(f.probability > 0 && f.probability <= 1) {
			return fmt.Errorf("fake.DropResponses(%v): probability must be in (0, 1]", f.probability)
		}
	case kindClose, kindBlackhole:
	case kindPartition:
		if len(f.brokers) == 0 {
			return errors.New("fake.Partition(): name at least one broker to isolate")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, b := range f.brokers {
			if c.brokers[b] == nil {
				return fmt.Errorf("fake.Partition(%v): unknown broker %d (brokers are %v)", f.brokers, b, c.brokerIDsLocked())
			}
		}
	case kindIsolate:
		return c.validateIsolate(f)
	default:
		return errors.New("fake: a zero NetFault; build one with Latency, DropResponses, CloseConnections, Blackhole, Partition or Isolate")
	}
	return nil
}

// String describes the fault and its targets.
func (h *FaultHandle) String() string {
	var b strings.Builder
	b.WriteString(h.f.kind.String())
	switch h.f.kind {
	case kindLatency:
		fmt.Fprintf(&b, " %v±%v", h.f.latency, h.f.jitter)
	case kindDrop:
		fmt.Fprintf(&b, " p=%v", h.f.probability)
	case kindPartition, kindIsolate:
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
func (h *FaultHandle) Remove() error {
	n := &h.c.net
	n.mu.Lock()
	if h.removed {
		n.mu.Unlock()
		return fmt.Errorf("fault %s was already removed", h)
	}
	n.removeLocked(h)
	n.mu.Unlock()
	h.removedNow("")
	return nil
}

// removedNow journals the removal and, for a network partition, lets the
// partitions it held back replicate again.
func (h *FaultHandle) removedNow(why string) {
	detail := h.String()
	if why != "" {
		detail += " " + why
	}
	h.c.journal.add(Event{Kind: EventFaultRemoved, Detail: detail})
	if h.f.kind == kindIsolate {
		h.c.heal(h)
	}
	if h.f.kind == kindPartition || h.f.kind == kindIsolate {
		h.c.mu.Lock()
		parts := h.c.allPartitionsLocked()
		h.c.mu.Unlock()
		for _, p := range parts {
			h.c.kickFlush(p)
		}
	}
}

func (n *netLayer) removeLocked(h *FaultHandle) {
	h.removed = true
	close(h.done)
	n.faults = slices.DeleteFunc(n.faults, func(x *FaultHandle) bool { return x == h })
	h.cond.Broadcast()
}

// Hits is how many requests the fault has affected.
func (h *FaultHandle) Hits() int {
	h.c.net.mu.Lock()
	defer h.c.net.mu.Unlock()
	return h.hits
}

// Wait blocks until the fault has hit n requests in all, it is removed,
// or ctx is done.
func (h *FaultHandle) Wait(ctx context.Context, n int) error {
	stop := context.AfterFunc(ctx, func() {
		h.c.net.mu.Lock()
		h.cond.Broadcast()
		h.c.net.mu.Unlock()
	})
	defer stop()
	h.c.net.mu.Lock()
	defer h.c.net.mu.Unlock()
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

func (t *target) matches(cn *conn, h reqHeader) bool {
	if len(t.brokers) > 0 && !slices.Contains(t.brokers, cn.l.node) {
		return false
	}
	if t.clientID != "" && t.clientID != h.clientID {
		return false
	}
	if t.addr != "" && t.addr != cn.remote {
		return false
	}
	if len(t.keys) > 0 && !slices.Contains(t.keys, kmsg.Key(h.key)) {
		return false
	}
	return true
}

// netAction is what the faults decided for one request.
type netAction struct {
	delay time.Duration
	drop  bool
}

// beforeRoute applies the request-side faults. It returns false to close
// the connection.
func (n *netLayer) beforeRoute(cn *conn, h reqHeader) bool {
	cn.act = netAction{}
	n.mu.Lock()
	if len(n.faults) == 0 {
		n.mu.Unlock()
		return true
	}
	var hits, holes, spent []*FaultHandle
	closeConn := false
	for _, f := range slices.Clone(n.faults) {
		if !f.t.matches(cn, h) {
			continue
		}
		hit := true
		switch f.f.kind {
		case kindLatency:
			d := f.f.latency
			if f.f.jitter > 0 {
				d += time.Duration(n.rng.Int64N(int64(f.f.jitter)))
			}
			cn.act.delay += d
		case kindDrop:
			if f.f.probability >= 1 || n.rng.Float64() < f.f.probability {
				cn.act.drop = true
			} else {
				hit = false
			}
		case kindClose:
			closeConn = true
		case kindBlackhole:
			holes = append(holes, f)
		case kindPartition:
			if slices.Contains(f.f.brokers, cn.l.node) {
				holes = append(holes, f)
			} else {
				hit = false
			}
		case kindIsolate: // cuts off only the clients its targets name
			if f.t.selective() && slices.Contains(f.f.brokers, cn.l.node) {
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
				n.removeLocked(f)
				spent = append(spent, f)
			}
		}
	}
	n.mu.Unlock()
	for _, f := range hits {
		n.c.journal.add(Event{Kind: EventFaultHit, Broker: cn.l.node, Client: h.clientID, Conn: cn.remote, Detail: fmt.Sprintf("%s on %s", f, kmsg.NameForKey(h.key))})
	}
	for _, f := range spent {
		f.removedNow(fmt.Sprintf("after %d hits", f.t.count))
	}
	if closeConn {
		return false
	}
	// A held request holds the connection: nothing after it is read.
	for _, f := range holes {
		select {
		case <-f.done:
		case <-cn.closed:
			return false
		}
	}
	return true
}

// beforeWrite applies the response-side faults to slot s. It returns the
// frame to write (nil: nothing) and false to close the connection.
func (n *netLayer) beforeWrite(cn *conn, s *slot) ([]byte, bool) {
	if s.act.delay > 0 {
		t := time.NewTimer(s.act.delay)
		select {
		case <-t.C:
		case <-cn.closed:
			t.Stop()
			return nil, false
		}
	}
	if s.act.drop {
		return nil, false
	}
	return s.frame, true
}

// isolated reports whether a network partition separates brokers a and b.
func (n *netLayer) isolated(a, b int32) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.faults {
		if (f.f.kind == kindPartition || f.f.kind == kindIsolate) && slices.Contains(f.f.brokers, a) != slices.Contains(f.f.brokers, b) {
			return true
		}
	}
	return false
}

func (n *netLayer) closeAll() {
	n.mu.Lock()
	for _, f := range slices.Clone(n.faults) {
		n.removeLocked(f)
	}
	n.mu.Unlock()
}

// CloseClientConnections closes every client connection to broker (or to
// every broker for -1) now; clients reconnect. It returns how many it closed.
func (c *Cluster) CloseClientConnections(broker int32) (int, error) {
	c.mu.Lock()
	if broker != -1 {
		if _, err := c.brokerLocked("CloseClientConnections", broker); err != nil {
			c.mu.Unlock()
			return 0, err
		}
	} else if c.closed {
		c.mu.Unlock()
		return 0, errClosed
	}
	var ls []*listener
	for _, id := range c.brokerIDsLocked() {
		b := c.brokers[id]
		if (broker < 0 || id == broker) && b.ln != nil {
			ls = append(ls, b.ln)
		}
	}
	c.mu.Unlock()
	n := 0
	for _, l := range ls {
		n += l.closeConns(nil)
	}
	return n, nil
}
