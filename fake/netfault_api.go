package fake

import (
	"time"

	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The network faults live in package netfault; these names keep fake's
// API, and the Cluster methods install them on its brokers.

// NetFault is a network fault for the connections between clients and
// brokers (netfault.NetFault): build one with Latency, DropResponses,
// CloseConnections, Blackhole or Partition, narrow it with Target
// options, and install it with Cluster.AddFault.
type NetFault = netfault.NetFault

// Target narrows which requests a NetFault applies to; every target given
// must match.
type Target = netfault.Target

// FaultHandle refers to an installed NetFault.
type FaultHandle = netfault.Handle

// Latency delays every matching response by d plus a random jitter in
// [0, jitter) drawn from the cluster seed.
func Latency(d, jitter time.Duration) NetFault { return netfault.Latency(d, jitter) }

// DropResponses lets the broker apply a matching request but the client
// never gets the answer: the connection breaks instead, so the client
// retries something that already happened (the classic at-least-once
// producer trap). probability in (0, 1] picks which requests, from the
// cluster seed; 1 drops them all.
func DropResponses(probability float64) NetFault { return netfault.DropResponses(probability) }

// CloseConnections closes a connection when a matching request arrives,
// before the broker sees it.
func CloseConnections() NetFault { return netfault.CloseConnections() }

// Blackhole accepts matching requests and holds them: the broker does not
// see them and the client gets no answer, nor to anything after them on
// the same connection. Removing the fault releases them.
func Blackhole() NetFault { return netfault.Blackhole() }

// Partition isolates brokers: clients cannot reach them (their requests are
// blackholed) and, for the replication model, they cannot copy from or be
// copied by brokers on the other side, so the ISR shrinks after
// ReplicaLagMax.
func Partition(brokers ...int32) NetFault { return netfault.Partition(brokers...) }

// OnBrokers limits a fault to connections to these brokers.
func OnBrokers(ids ...int32) Target { return netfault.OnBrokers(ids...) }

// OnClient limits a fault to clients with this client id.
func OnClient(clientID string) Target { return netfault.OnClient(clientID) }

// OnAddr limits a fault to the client connection from this address (host:port).
func OnAddr(addr string) Target { return netfault.OnAddr(addr) }

// OnKeys limits a fault to these request kinds (kmsg.Produce, kmsg.Fetch, ...).
func OnKeys(keys ...kmsg.Key) Target { return netfault.OnKeys(keys...) }

// Times removes the fault by itself after it hit n requests.
func Times(n int) Target { return netfault.Times(n) }

// newNetLayer is the cluster's fault layer: faults name its brokers, and
// a network partition starts and ends the replication model's lag.
func (c *Cluster) newNetLayer() *netfault.Layer {
	return netfault.NewLayer(netfault.Config{
		Seed:    c.seed,
		Journal: &c.journal,
		Name:    "fake",
		Brokers: func() ([]int32, error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.closed {
				return nil, errClosed
			}
			return c.brokerIDsLocked(), nil
		},
		Check: c.validateIsolate,
		OnChange: func(h *netfault.Handle, added bool) {
			kind := h.Fault().Kind()
			if kind != netfault.KindPartition && kind != netfault.KindIsolate {
				return
			}
			switch {
			case kind == netfault.KindIsolate && added:
				c.startIsolation(h)
			case kind == netfault.KindIsolate:
				c.heal(h)
			}
			c.mu.Lock()
			parts := c.allPartitionsLocked()
			c.mu.Unlock()
			for _, p := range parts {
				if !added {
					c.kickFlush(p)
					continue
				}
				c.mu.Lock()
				if len(p.tail) > 0 && p.lagTimer == nil {
					c.startLagTimerLocked(p)
				}
				c.mu.Unlock()
			}
		},
	})
}

// AddFault installs a network fault; it applies to requests from now on.
func (c *Cluster) AddFault(f NetFault, targets ...Target) (*FaultHandle, error) {
	return c.net.Add(f, targets...)
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
	var ls []*wire.Listener
	for _, id := range c.brokerIDsLocked() {
		b := c.brokers[id]
		if (broker < 0 || id == broker) && b.ln != nil {
			ls = append(ls, b.ln)
		}
	}
	c.mu.Unlock()
	n := 0
	for _, l := range ls {
		n += l.CloseConns(nil)
	}
	return n, nil
}
