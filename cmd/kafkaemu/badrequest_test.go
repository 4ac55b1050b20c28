package main

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestServeSurvivesBadFrames runs `kafkaemu serve` as its own process,
// writes it the frames that used to end it (an unknown request key first:
// kfake dereferenced a nil request), and checks it journals each one and
// still serves a kgo client.
func TestServeSurvivesBadFrames(t *testing.T) {
	brokers, api := startKafkaemu(t, buildKafkaemu(t), "serve", "-topic", "orders:1:3", "-seed", "16")

	frame := func(key, version int16, body ...byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(version))
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
		b = append(b, body...)
		binary.BigEndian.PutUint32(b, uint32(len(b)-4))
		return b
	}
	bad := [][]byte{
		frame(9999, 0),                   // unknown key
		frame(0, 99, 0),                  // Produce v99
		frame(0, 9, 0, 0, 0xff),          // a truncated Produce
		{0x7f, 0xff, 0xff, 0xff, 1, 2},   // 2 GiB announced
		{0xff, 0xff, 0xff, 0xff},         // negative length
		[]byte("GET / HTTP/1.1\r\n\r\n"), // the wrong port
	}
	for i, f := range bad {
		cn, err := net.Dial("tcp", brokers[i%len(brokers)])
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if _, err := cn.Write(f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		_ = cn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.Copy(io.Discard, cn); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("frame %d %x: the connection was not closed: %v", i, f[:min(len(f), 16)], err)
		}
		cn.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("orders"), kgo.ConsumeTopics("orders"),
		kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, kgo.StringRecord("still here")).FirstErr(); err != nil {
		t.Fatalf("producing after the bad frames: %v", err)
	}
	for got := false; !got; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consuming after the bad frames: %v", ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) { got = got || string(r.Value) == "still here" })
	}

	req, _ := http.NewRequestWithContext(ctx, "GET", api+"/journal", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs, err := fake.ReadJournal(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range evs {
		if e.Kind == fake.EventBadRequest {
			reasons = append(reasons, e.Error)
		}
	}
	if len(reasons) != len(bad) {
		t.Fatalf("%d bad-request events, want %d: %q", len(reasons), len(bad), reasons)
	}
	for i, want := range []string{"unknown request key 9999", "Produce v99 is not supported", "Produce v9 body does not decode",
		"request length 2147483647 exceeds", "negative request length -1", "request length 1195725856 exceeds"} {
		if !strings.Contains(reasons[i], want) {
			t.Errorf("bad-request %d: %q, want %q", i, reasons[i], want)
		}
	}
}
