package fake_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// rawFrame is a request frame with a v1 request header (no tags) around
// body; flexible versions need their header's tag byte in body.
func rawFrame(key, version int16, corr int32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 3)
	b = append(b, "raw"...)
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// encode is req's frame as a client sends it.
func encode(req kmsg.Request, corr int32) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, corr)
}

func produceRequest(topic string, version int16) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = version, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = make([]byte, 200) // its content does not matter to the header checks
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	cn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.Close() })
	return cn
}

// expectClosed waits for the server to close cn (d bounds a failure, it is
// not how long the test waits when it passes).
func expectClosed(t testing.TB, cn net.Conn, d time.Duration) {
	t.Helper()
	_ = cn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, cn)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("the connection is still open after %v: %v", d, err)
	}
}

// waitBad waits for the bad-request event of the connection from local.
func waitBad(t testing.TB, c *fake.Cluster, local string) fake.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		for _, e := range c.Journal() {
			if e.Kind == fake.EventBadRequest && e.Conn == local {
				return e
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no bad-request event for %s; journal tail:\n%s", local, c.JournalTail(10))
		case <-tick.C:
		}
	}
}

func badEvents(c *fake.Cluster) (n int) {
	for _, e := range c.Journal() {
		if e.Kind == fake.EventBadRequest {
			n++
		}
	}
	return n
}

// checkServes proves the cluster still works for a real client: a record
// produced to topic is consumed back.
func checkServes(t testing.TB, c *harness.Cluster, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	val := "alive-" + time.Now().Format(time.RFC3339Nano)
	p := c.Client(t, kgo.DefaultProduceTopic(topic))
	if err := p.ProduceSync(ctx, kgo.StringRecord(val)).FirstErr(); err != nil {
		t.Fatalf("producing after bad requests: %v", err)
	}
	p.Close()
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consuming after bad requests: %v", err)
		}
		found := false
		fs.EachRecord(func(r *kgo.Record) { found = found || string(r.Value) == val })
		if found {
			return
		}
	}
}

// TestBadRequests: each malformed frame closes its connection, is
// journaled as bad-request and reaches no further; the cluster serves a
// kgo client afterwards.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	random := make([]byte, 64)
	rand.NewChaCha8([32]byte{16}).Read(random)
	binary.BigEndian.PutUint32(random, 60) // a plausible length, random content
	random[4], random[5] = 0x7a, 0x31      // and a request key nobody has (31281)
	random[12], random[13] = 0, 0          // after an empty client id
	produce := encode(produceRequest("t", 9), 1)
	truncated := produce[:40]
	binary.BigEndian.PutUint32(truncated, uint32(len(truncated)-4))
	leaderAndISR := kmsg.NewPtrLeaderAndISRRequest() // known to kmsg, served by no broker a client reaches

	for _, tc := range []struct {
		name     string
		frame    []byte
		key, ver int16  // expected in the event, -1: unread
		reason   string // a substring of the event's Error
	}{
		{"random bytes", random, 31281, int16(binary.BigEndian.Uint16(random[6:])), "unknown request key 31281"},
		{"unknown key", rawFrame(9999, 0, 1, nil), 9999, 0, "unknown request key 9999"},
		{"not served key", encode(leaderAndISR, 1), 4, 0, "LeaderAndISR) is not served"},
		{"unsupported version", rawFrame(0, 99, 1, produce[14:]), 0, 99, "Produce v99 is not supported"},
		{"negative version", rawFrame(1, -1, 1, nil), 1, -1, "Fetch v-1 is not supported"},
		{"truncated produce", truncated, 0, 9, "Produce v9 body does not decode"},
		{"short header", []byte{0, 0, 0, 3, 0, 0, 0}, -1, -1, "header does not decode"},
		{"2 GiB announced", []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}, -1, -1, "request length 2147483647 exceeds the maximum of 104857600 bytes"},
		{"negative length", []byte{0xff, 0xff, 0xff, 0xfe, 0, 1}, -1, -1, "negative request length -2"},
		// A tag count of 2^32-1 with nothing after it: kmsg v1.15.0 looped
		// over every absent tag (11 bytes cost 80 s of CPU), v1.15.1 stops.
		{"tag count past the end", rawFrame(3, 12, 1, []byte{0, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}), 3, 12, "Metadata v12 body does not decode"},
		{"header tag count past the end", rawFrame(3, 12, 1, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}), 3, 12, "header does not decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cn := dial(t, c.Addrs()[0])
			if _, err := cn.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			e := waitBad(t, c.Cluster, cn.LocalAddr().String())
			expectClosed(t, cn, 30*time.Second)
			if e.APIKey != tc.key || e.APIVersion != tc.ver || !strings.Contains(e.Error, tc.reason) {
				t.Errorf("event %v: want key %d version %d and reason containing %q", e, tc.key, tc.ver, tc.reason)
			}
			head := tc.frame[:min(len(tc.frame), 64)]
			if tc.key == -1 && len(head) > 4 && !strings.Contains(tc.reason, "header") {
				head = head[:4] // only the length was read
			}
			if e.Detail != hex.EncodeToString(head) {
				t.Errorf("event bytes %s, want the frame's first bytes %x", e.Detail, head)
			}
			if e.Broker != c.Brokers()[0].ID {
				t.Errorf("event broker %d, want %d", e.Broker, c.Brokers()[0].ID)
			}
		})
	}
	checkServes(t, c, "t")
}

// TestApiVersionsUnsupportedVersion: an ApiVersions request at a version
// the cluster does not speak gets Kafka's answer (a v0 response with
// UNSUPPORTED_VERSION and the ApiVersions versions it speaks) and the
// connection stays open for the retry at one of them.
func TestApiVersionsUnsupportedVersion(t *testing.T) {
	t.Parallel()
	c := harness.Start(t)
	cn := dial(t, c.Addrs()[0])
	// A v99 request header is flexible: the header's tag byte, then a body
	// no broker could decode.
	if _, err := cn.Write(rawFrame(18, 99, 7, []byte{0, 0xde, 0xad})); err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrApiVersionsResponse() // v0
	readResponse(t, cn, 7, resp)
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) != 1 || resp.ApiKeys[0].ApiKey != 18 || resp.ApiKeys[0].MinVersion != 0 || resp.ApiKeys[0].MaxVersion < 3 {
		t.Fatalf("ApiVersions v99 answered %+v, want UNSUPPORTED_VERSION with ApiVersions v0..v3+", resp)
	}
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = resp.ApiKeys[0].MaxVersion
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1.0"
	if _, err := cn.Write(encode(req, 8)); err != nil {
		t.Fatal(err)
	}
	full := kmsg.NewPtrApiVersionsResponse()
	full.Version = req.Version
	readResponse(t, cn, 8, full)
	if full.ErrorCode != 0 || len(full.ApiKeys) < 10 {
		t.Fatalf("the retry at v%d answered error %d with %d keys", req.Version, full.ErrorCode, len(full.ApiKeys))
	}
	if n := badEvents(c.Cluster); n != 0 {
		t.Fatalf("%d bad-request events, want none:\n%s", n, c.JournalTail(5))
	}
}

// readResponse reads one response frame for corr into resp (whose version
// is set).
func readResponse(t testing.TB, cn net.Conn, corr int32, resp kmsg.Response) {
	t.Helper()
	_ = cn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(cn, size[:]); err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(cn, frame); err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != corr {
		t.Fatalf("response correlation %d, want %d", got, corr)
	}
	body := frame[4:]
	if resp.IsFlexible() && resp.Key() != 18 {
		body = body[1:] // the header's empty tags
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decoding %T: %v", resp, err)
	}
}

// TestBadRequestCappedVersions: with kfake.MaxVersions the cluster
// advertises less, and a request above what it advertises is refused
// before kfake sees it.
func TestBadRequestCappedVersions(t *testing.T) {
	t.Parallel()
	capped := kversion.V3_5_0()
	c := harness.Start(t, fake.Topic("t", 1, 1), fake.KfakeOpts(kfake.MaxVersions(capped)))
	max, _ := capped.LookupMaxKeyVersion(0)
	cn := dial(t, c.Addrs()[0])
	if _, err := cn.Write(encode(produceRequest("t", max+1), 1)); err != nil {
		t.Fatal(err)
	}
	e := waitBad(t, c.Cluster, cn.LocalAddr().String())
	expectClosed(t, cn, 30*time.Second)
	if e.APIVersion != max+1 || !strings.Contains(e.Error, "is not supported") {
		t.Fatalf("event %v: want Produce v%d refused", e, max+1)
	}
	checkServes(t, c, "t")
}

// TestMaxRequestBytes: a frame over the configured limit is refused on
// its length alone.
func TestMaxRequestBytes(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1), fake.MaxRequestBytes(1000))
	cn := dial(t, c.Addrs()[0])
	big := encode(produceRequest("t", 9), 1)
	big = append(big[:len(big)-200], make([]byte, 2000)...) // 2000 bytes of records
	binary.BigEndian.PutUint32(big, uint32(len(big)-4))
	if _, err := cn.Write(big[:4]); err != nil {
		t.Fatal(err)
	}
	e := waitBad(t, c.Cluster, cn.LocalAddr().String())
	expectClosed(t, cn, 30*time.Second)
	if !strings.Contains(e.Error, "exceeds the maximum of 1000 bytes") {
		t.Fatalf("event %v", e)
	}
	checkServes(t, c, "t") // kgo's requests are far below 1000 bytes
}

// TestStalledRequest: a client that announces a frame and stops, or
// trickles its bytes, is closed after IdleTimeout and journaled.
//
// Each case runs in a synctest bubble on the virtual network: the idle
// timeout and the client's pauses are on the bubble's clock, so a loaded
// machine cannot stretch the gap between dialing and writing past the
// timeout (the long-poll case read EOF once under two suites at a time).
func TestStalledRequest(t *testing.T) {
	t.Parallel()
	frame := encode(produceRequest("t", 9), 1)
	start := func(t *testing.T) (*harness.Cluster, func(t testing.TB, addr string) net.Conn) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("t", 1, 1), fake.IdleTimeout(300*time.Millisecond))
		t.Cleanup(func() { checkServes(t, c, "t") }) // after each case the cluster still serves
		return c, func(t testing.TB, addr string) net.Conn {
			t.Helper()
			cn, err := c.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cn.Close() })
			return cn
		}
	}
	bubble := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) { synctest.Test(t, f) })
	}

	bubble("stalled", func(t *testing.T) {
		c, dial := start(t)
		cn := dial(t, c.Addrs()[0])
		if _, err := cn.Write(frame[:10]); err != nil {
			t.Fatal(err)
		}
		e := waitBad(t, c.Cluster, cn.LocalAddr().String())
		expectClosed(t, cn, 30*time.Second)
		if want := "stalled: 10 of " + strconv.Itoa(len(frame)) + " bytes"; !strings.Contains(e.Error, want) {
			t.Fatalf("event %v, want %q", e, want)
		}
	})
	bubble("trickle", func(t *testing.T) {
		c, dial := start(t)
		cn := dial(t, c.Addrs()[0])
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			_, _ = io.Copy(io.Discard, cn)
		}()
		tick := time.NewTicker(20 * time.Millisecond) // a byte every 20ms: the whole frame would take seconds
		defer tick.Stop()
		sent := 0
	trickle:
		for ; sent < len(frame); sent++ {
			select {
			case <-closed:
				break trickle
			case <-tick.C:
			}
			if _, err := cn.Write(frame[sent : sent+1]); err != nil {
				break
			}
		}
		<-closed
		e := waitBad(t, c.Cluster, cn.LocalAddr().String())
		if !strings.Contains(e.Error, "stalled") || sent >= len(frame) {
			t.Fatalf("event %v after %d of %d bytes: want the trickle cut short", e, sent, len(frame))
		}
	})
	bubble("idle", func(t *testing.T) {
		c, dial := start(t)
		cn := dial(t, c.Addrs()[0])
		expectClosed(t, cn, 30*time.Second) // closed without a word from the client
		for _, e := range c.Journal() {
			if e.Conn == cn.LocalAddr().String() {
				t.Fatalf("an idle close is not a bad request: %v", e)
			}
		}
	})
	bubble("long poll is not idle", func(t *testing.T) {
		c, dial := start(t)
		// A Fetch waiting 1.5s for records (5x the idle timeout) is
		// answered: a connection owed an answer is not idle.
		st, err := c.Partition("t", 0)
		if err != nil {
			t.Fatal(err)
		}
		cn := dial(t, c.Brokers()[st.Leader].Addr)
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 12, 1500, 1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		start := time.Now()
		if _, err := cn.Write(encode(req, 5)); err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = 12
		readResponse(t, cn, 5, resp)
		if waited := time.Since(start); waited < 300*time.Millisecond {
			t.Fatalf("the fetch was answered after %v, before the idle timeout: the test proves nothing", waited)
		}
	})
}

// TestThousandIdleConnections: a thousand connections that never send a
// byte cost bounded memory, and Close closes every one of them (goleak in
// TestMain checks nothing is left behind).
func TestThousandIdleConnections(t *testing.T) {
	c, err := fake.New(fake.Topic("t", 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, 1000)
	for i := range conns {
		conns[i] = dial(t, c.Addrs()[i%3])
	}
	// Every connection is accepted once a request on the last one is answered.
	req := kmsg.NewPtrApiVersionsRequest()
	for _, cn := range conns {
		if _, err := cn.Write(encode(req, 1)); err != nil {
			t.Fatal(err)
		}
	}
	for _, cn := range conns {
		readResponse(t, cn, 1, kmsg.NewPtrApiVersionsResponse())
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)
	per := used / int64(len(conns))
	t.Logf("1000 idle connections: %d KiB in all, %d bytes each (both ends)", used>>10, per)
	if per > 64<<10 {
		t.Errorf("an idle connection costs %d bytes, want at most 64 KiB", per)
	}
	c.Close()
	for _, cn := range conns {
		expectClosed(t, cn, 30*time.Second)
	}
}

// TestHugeAnnouncedFrame: with MaxRequestBytes at its largest a frame may
// announce 2 GiB; what its connection costs follows the bytes that
// arrive, not the announced length. (Not parallel: it reads the
// process's allocation counter.)
func TestHugeAnnouncedFrame(t *testing.T) {
	c := harness.Start(t, fake.Brokers(1), fake.MaxRequestBytes(math.MaxInt32))
	const sent = 1 << 20
	payload := make([]byte, 4+sent)
	binary.BigEndian.PutUint32(payload, math.MaxInt32)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cn := dial(t, c.Addrs()[0])
	if _, err := cn.Write(payload); err != nil {
		t.Fatal(err)
	}
	_ = cn.(*net.TCPConn).CloseWrite()
	expectClosed(t, cn, 30*time.Second) // the broker read it all, then the end
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("a frame announcing 2 GiB with 1 MiB sent: %d KiB allocated", allocated>>10)
	// A frame's buffer grows by what has arrived, at least doubling, so
	// over its life it allocates at most 4x what arrived (1.4x is
	// typical on Linux, where the kernel says how much has arrived);
	// announced, it would be 2048x.
	const limit = 5 * sent
	if allocated > limit {
		t.Fatalf("%d bytes allocated for %d bytes sent (2 GiB announced), want at most %d", allocated, sent, limit)
	}
}
