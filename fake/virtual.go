package fake

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// VirtualNetwork puts the cluster on an in-memory network instead of TCP
// loopback: every broker listens on a virtual address (127.0.0.1:9092 for
// broker 0, 9093 for broker 1, ...) that exists only inside this process,
// and clients reach it through Cluster.DialContext (harness clients do so
// by themselves). Connections are net.Pipe pairs, like kfake's own
// VirtualNetwork, so a goroutine waiting on one is durably blocked in the
// sense of testing/synctest.
//
// Inside synctest.Test every timer of the emulator, kfake and the clients
// then runs on the bubble's clock: a 45 s session timeout expires as soon
// as every goroutine waits, in milliseconds of real time, and "nothing
// happened for a second" means exactly that. Outside a bubble the network
// works the same, in real time.
//
// It cannot be combined with explicit TCP ports (kfake.Ports through
// KfakeOpts): New reports the conflict.
func VirtualNetwork() Option {
	return func(c *config) error {
		c.virtual = true
		return nil
	}
}

// virtualBasePort is broker 0's port on the virtual network.
const virtualBasePort = 9092

// vnet is one cluster's in-memory network.
type vnet struct {
	mu        sync.Mutex
	listeners map[string]*vlistener // by "127.0.0.1:port"
	nextPort  int                   // the next client-side port handed out
}

func newVnet() *vnet {
	return &vnet{listeners: make(map[string]*vlistener), nextPort: 49152}
}

// vlistener is one listening address on the virtual network.
type vlistener struct {
	n     *vnet
	addr  *net.TCPAddr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (n *vnet) listen(addr string) (*vlistener, error) {
	ta, err := virtualAddr(addr)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	key := ta.String()
	if _, ok := n.listeners[key]; ok {
		return nil, fmt.Errorf("listen %s on the virtual network: address already in use", key)
	}
	l := &vlistener{n: n, addr: ta, conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[key] = l
	return l, nil
}

// dial connects to a virtual listener. An address nobody listens on is
// refused at once, as TCP loopback refuses it.
func (n *vnet) dial(ctx context.Context, addr string) (net.Conn, error) {
	ta, err := virtualAddr(addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	n.mu.Lock()
	l := n.listeners[ta.String()]
	n.nextPort++
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: n.nextPort}
	n.mu.Unlock()
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: ta, Err: syscall.ECONNREFUSED}
	if l == nil {
		return nil, refused
	}
	server, client := net.Pipe()
	select {
	case l.conns <- &vconn{Conn: server, local: ta, remote: local}:
		return &vconn{Conn: client, local: local, remote: ta}, nil
	case <-l.done:
	case <-ctx.Done():
		refused.Err = ctx.Err()
	}
	server.Close()
	client.Close()
	return nil, refused
}

// virtualAddr parses a broker address; the virtual network has only
// 127.0.0.1 (localhost names it too).
func virtualAddr(addr string) (*net.TCPAddr, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("virtual network address %q: %w", addr, err)
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("virtual network address %q: only 127.0.0.1 exists on the virtual network", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("virtual network address %q: bad port", addr)
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p}, nil
}

func (l *vlistener) Accept() (net.Conn, error) {
	select {
	case cn := <-l.conns:
		return cn, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *vlistener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.n.mu.Lock()
		if l.n.listeners[l.addr.String()] == l {
			delete(l.n.listeners, l.addr.String())
		}
		l.n.mu.Unlock()
	})
	return nil
}

func (l *vlistener) Addr() net.Addr { return l.addr }

// vconn is one end of a virtual connection, with TCP-looking addresses
// (fault targets and the journal name connections by them).
type vconn struct {
	net.Conn
	local, remote net.Addr
}

func (c *vconn) LocalAddr() net.Addr  { return c.local }
func (c *vconn) RemoteAddr() net.Addr { return c.remote }

// listenOn listens for broker connections: on the virtual network or TCP.
func (c *Cluster) listenOn(addr string) (net.Listener, error) {
	if c.vnet != nil {
		return c.vnet.listen(addr)
	}
	return net.Listen("tcp", addr)
}

// brokerListenAddr is where broker node first listens, given the address
// kfake asked for. On the virtual network each broker gets its own port;
// kfake asking for an explicit one (kfake.Ports) is a conflict.
func (c *Cluster) brokerListenAddr(node int32, addr string) (string, error) {
	if c.vnet == nil {
		return addr, nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port != "0" {
		return "", fmt.Errorf("fake.VirtualNetwork: broker %d was asked to listen on TCP address %s (kfake.Ports or kfake.ListenFn through fake.KfakeOpts?); brokers on the virtual network have no TCP ports: drop the ports or the VirtualNetwork option", node, addr)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(virtualBasePort+int(node))), nil
}

// DialContext connects to a broker of this cluster: over the in-memory
// network with VirtualNetwork, else over TCP. Clients a test builds
// itself use it to reach a virtual cluster: kgo.Dialer(c.DialContext)
// (also for kadm), kafka-go's Dialer/Transport Dial field, or sarama's
// Net.Proxy through Dial.
func (c *Cluster) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.vnet != nil {
		return c.vnet.dial(ctx, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Dial is DialContext without a context, for dialer interfaces that take
// none (golang.org/x/net/proxy.Dialer, which sarama's Net.Proxy.Dialer is).
func (c *Cluster) Dial(network, addr string) (net.Conn, error) {
	return c.DialContext(context.Background(), network, addr)
}

// Virtual reports whether the cluster runs on the in-memory network
// (VirtualNetwork).
func (c *Cluster) Virtual() bool { return c.vnet != nil }

// pollEvery is how often a Wait polls: d on TCP, where a test waits in
// real time; 10 ms on the virtual network, where in a bubble a wait for a
// 45 s timeout would otherwise poll tens of thousands of times.
func (c *Cluster) pollEvery(d time.Duration) time.Duration {
	if c.vnet != nil {
		return 10 * time.Millisecond
	}
	return d
}
