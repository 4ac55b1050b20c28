package fake_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzWire writes arbitrary requests (any key, any version, any body,
// each in a well-formed frame) to a live cluster's brokers. Whatever a
// request is, the process survives it: a bad one is refused and
// journaled, a valid one is answered or parked. After each request the
// broker still answers an ApiVersions on a new connection, and at the end
// a kgo client still produces and consumes (and goleak in TestMain
// checks nothing leaked).
//
//	go test -run '^$' -fuzz FuzzWire -fuzztime 3m ./fake
func FuzzWire(f *testing.F) {
	// The canary topic's name appears in no seed, so no fuzzed request
	// deletes or reassigns it on purpose.
	const canary = "kafkaemu-canary-16"
	c := harness.Start(f, fake.Seed(16), fake.Topic(canary, 1, 3))
	f.Cleanup(func() { checkServes(f, c, canary) })
	addrs := c.Addrs()

	// Seeds: every request kmsg knows, zero-valued, at its newest version,
	// and a few broken ones.
	for key := int16(0); key < 100; key++ {
		req := kmsg.RequestForKey(key)
		if req == nil {
			continue
		}
		req.SetVersion(req.MaxVersion())
		frame := encode(req, 1)
		f.Add(key, req.GetVersion(), frame[17:]) // after rawFrame's header
	}
	f.Add(int16(0), int16(9), encode(produceRequest("t", 9), 1)[17:30])
	f.Add(int16(18), int16(99), []byte{0})
	f.Add(int16(9999), int16(0), []byte{})

	var n int
	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		n++
		addr := addrs[n%len(addrs)]
		cn := dial(t, addr)
		req := rawFrame(key, version, 1, body)
		// An ApiVersions after it: kfake answers a connection's requests
		// in order, so its answer means the fuzzed one was handled.
		marker := encode(kmsg.NewPtrApiVersionsRequest(), 2)
		if _, err := cn.Write(append(req, marker...)); err != nil {
			return // closed already: refused
		}
		// A request may park (a join waiting for its group, a long
		// poll); the deadline only bounds how long we watch it.
		_ = cn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		for {
			corr, err := readCorr(cn)
			if err != nil || corr == 2 {
				break
			}
		}
		cn.Close()
		// The broker still serves a new connection.
		alive := dial(t, addr)
		if _, err := alive.Write(encode(kmsg.NewPtrApiVersionsRequest(), 3)); err != nil {
			t.Fatalf("after key %d v%d: %v", key, version, err)
		}
		readResponse(t, alive, 3, kmsg.NewPtrApiVersionsResponse())
		alive.Close()
	})
}

// readCorr reads one response frame and returns its correlation id.
func readCorr(cn net.Conn) (int32, error) {
	var size [4]byte
	if _, err := io.ReadFull(cn, size[:]); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 64<<20 {
		return 0, errors.New("bad response length")
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(cn, frame); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(frame)), nil
}
