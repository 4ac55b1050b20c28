package proxy

import (
	"net"
	"strconv"

	"github.com/seed73168108/kafkaemu/internal/observe"
	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// route passes one client request to the upstream broker. Answers that
// name brokers (Metadata, FindCoordinator, DescribeCluster) are rewritten
// to name the proxy's listeners, so clients stay behind it; answers that
// say what happened (produce offsets, fetched ranges, commits, group
// generations, transaction ends) are journaled. Nothing else is changed.
func (p *Proxy) route(cn *wire.Conn, h wire.Header, frame, body []byte) bool {
	switch kmsg.Key(h.Key) {
	case kmsg.Produce:
		return p.routeProduce(cn, h, frame, body)
	case kmsg.ApiVersions:
		return p.routeVersions(cn, h, frame, body)
	case kmsg.Metadata:
		return p.forwardRewritten(cn, h, frame, body, p.rewriteMetadata)
	case kmsg.FindCoordinator:
		return p.forwardRewritten(cn, h, frame, body, p.rewriteCoordinator)
	case kmsg.DescribeCluster:
		return p.forwardRewritten(cn, h, frame, body, p.rewriteCluster)
	case kmsg.Fetch:
		readCommitted := observe.FetchIsolation(h.Version, body) == 1
		return p.forwardObserved(cn, h, frame, body, func(_ kmsg.Request, resp kmsg.Response) []journal.Event {
			return observe.Fetches(source(cn, h), resp.(*kmsg.FetchResponse), readCommitted, p.topicName)
		})
	case kmsg.OffsetCommit, kmsg.TxnOffsetCommit:
		return p.forwardObserved(cn, h, frame, body, func(req kmsg.Request, resp kmsg.Response) []journal.Event {
			return observe.Commits(source(cn, h), req, resp, p.topicName)
		})
	case kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.LeaveGroup, kmsg.ConsumerGroupHeartbeat, kmsg.OffsetFetch:
		return p.forwardObserved(cn, h, frame, body, func(req kmsg.Request, resp kmsg.Response) []journal.Event {
			if e, ok := observe.Group(source(cn, h), req, resp); ok {
				return []journal.Event{e}
			}
			return nil
		})
	case kmsg.EndTxn:
		return p.forwardObserved(cn, h, frame, body, func(req kmsg.Request, resp kmsg.Response) []journal.Event {
			return []journal.Event{observe.EndTxn(source(cn, h), req.(*kmsg.EndTxnRequest), resp.(*kmsg.EndTxnResponse))}
		})
	case kmsg.InitProducerID:
		return p.forwardObserved(cn, h, frame, body, func(req kmsg.Request, resp kmsg.Response) []journal.Event {
			if e, ok := observe.ProducerInit(source(cn, h), req.(*kmsg.InitProducerIDRequest), resp.(*kmsg.InitProducerIDResponse)); ok {
				return []journal.Event{e}
			}
			return nil
		})
	}
	return cn.ForwardPlain(h, frame)
}

// source is where a client request came from, for the journal.
func source(cn *wire.Conn, h wire.Header) observe.Source {
	return observe.Source{Broker: cn.Node(), Client: h.ClientID, Conn: cn.Remote()}
}

// forwardObserved forwards a request and journals what events makes of
// it and its answer; the answer streams to the client unchanged.
func (p *Proxy) forwardObserved(cn *wire.Conn, h wire.Header, frame, body []byte, events func(kmsg.Request, kmsg.Response) []journal.Event) bool {
	req, err := wire.DecodeRequest(h, body)
	if err != nil {
		return cn.ForwardPlain(h, frame) // validation decoded it: not reached
	}
	return cn.ForwardObserved(h, frame, func(f []byte) {
		resp := req.ResponseKind()
		resp.SetVersion(h.Version)
		if wire.DecodeResponse(f, resp) == nil {
			for _, e := range events(req, resp) {
				p.journal.Add(e)
			}
		}
	}) != nil
}

// forwardRewritten forwards a request whose answer names brokers and
// passes the answer through rewrite. An answer that does not decode
// closes the connection rather than let the client see upstream
// addresses.
func (p *Proxy) forwardRewritten(cn *wire.Conn, h wire.Header, frame, body []byte, rewrite func(kmsg.Response) bool) bool {
	req, err := wire.DecodeRequest(h, body)
	if err != nil {
		return false
	}
	return cn.ForwardThen(h, frame, func(f []byte) []byte {
		resp := req.ResponseKind()
		resp.SetVersion(h.Version)
		if wire.DecodeResponse(f, resp) != nil || !rewrite(resp) {
			go cn.Close()
			return nil
		}
		return wire.EncodeResponse(h.Corr, resp)
	}) != nil
}

// routeVersions forwards an ApiVersions request and offers the client
// what the upstream answered, clamped (see clamp). An answer that does not
// decode at the request's version (an UNSUPPORTED_VERSION answer comes in
// v0, listing the ApiVersions versions the broker speaks) goes through
// unchanged: the client retries at a version both speak.
func (p *Proxy) routeVersions(cn *wire.Conn, h wire.Header, frame, body []byte) bool {
	return cn.ForwardThen(h, frame, func(f []byte) []byte { return versionsAnswer(h, f) }) != nil
}

// versionsAnswer is the client's ApiVersions answer given the upstream's.
func versionsAnswer(h wire.Header, f []byte) []byte {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = h.Version
	if wire.DecodeResponse(f, resp) != nil || resp.ErrorCode != 0 {
		return f
	}
	resp.ApiKeys = clamp(resp.ApiKeys)
	return wire.EncodeResponse(h.Corr, resp)
}

// proxied is the proxy's address for upstream broker id at host:port,
// fronting the broker if it is new.
func (p *Proxy) proxied(id int32, host string, port int32) (string, int32, bool) {
	b, err := p.front(id, net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		return "", 0, false
	}
	a := b.ln.Addr().(*net.TCPAddr)
	return p.cfg.host, int32(a.Port), true
}

// rewriteMetadata makes Metadata name the proxy's listeners, and learns
// topic ids for the journal.
func (p *Proxy) rewriteMetadata(r kmsg.Response) bool {
	resp := r.(*kmsg.MetadataResponse)
	for i := range resp.Brokers {
		b := &resp.Brokers[i]
		host, port, ok := p.proxied(b.NodeID, b.Host, b.Port)
		if !ok {
			return false
		}
		b.Host, b.Port = host, port
	}
	p.mu.Lock()
	for _, t := range resp.Topics {
		if t.Topic != nil && t.TopicID != ([16]byte{}) {
			p.topicIDs[t.TopicID] = *t.Topic
		}
	}
	p.mu.Unlock()
	return true
}

// rewriteCoordinator makes FindCoordinator name the proxy's listener.
func (p *Proxy) rewriteCoordinator(r kmsg.Response) bool {
	resp := r.(*kmsg.FindCoordinatorResponse)
	if resp.Version < 4 {
		if resp.ErrorCode != 0 || resp.NodeID < 0 {
			return true
		}
		host, port, ok := p.proxied(resp.NodeID, resp.Host, resp.Port)
		resp.Host, resp.Port = host, port
		return ok
	}
	for i := range resp.Coordinators {
		c := &resp.Coordinators[i]
		if c.ErrorCode != 0 || c.NodeID < 0 {
			continue
		}
		host, port, ok := p.proxied(c.NodeID, c.Host, c.Port)
		if !ok {
			return false
		}
		c.Host, c.Port = host, port
	}
	return true
}

// rewriteCluster makes DescribeCluster name the proxy's listeners. A
// request for the controllers (endpoint type 2) is answered as the
// upstream answers it: clients do not connect to controllers.
func (p *Proxy) rewriteCluster(r kmsg.Response) bool {
	resp := r.(*kmsg.DescribeClusterResponse)
	if resp.EndpointType == 2 {
		return true
	}
	for i := range resp.Brokers {
		b := &resp.Brokers[i]
		host, port, ok := p.proxied(b.NodeID, b.Host, b.Port)
		if !ok {
			return false
		}
		b.Host, b.Port = host, port
	}
	return true
}

// topicName resolves a topic given by name or by id (an observe.TopicName).
func (p *Proxy) topicName(name string, id [16]byte) string {
	if name != "" || id == ([16]byte{}) {
		return name
	}
	p.mu.Lock()
	n, ok := p.topicIDs[id]
	p.mu.Unlock()
	if ok {
		return n
	}
	return p.lookupTopicID(id)
}
