package proxy_test

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzUpstreamAnswer: whatever an upstream answers the proxy's first
// ApiVersions request with, proxy.New returns (an error, unless the
// answer is a valid ApiVersions response, which then fails at Metadata)
// within its timeouts and panics on nothing.
//
//	go test -run '^$' -fuzz FuzzUpstreamAnswer -fuzztime 1m ./proxy
func FuzzUpstreamAnswer(f *testing.F) {
	ok := kmsg.NewPtrApiVersionsResponse()
	ok.Version = 3
	k := kmsg.NewApiVersionsResponseApiKey()
	k.ApiKey, k.MaxVersion = 18, 3
	ok.ApiKeys = append(ok.ApiKeys, k)
	valid := wire.EncodeResponse(4, ok) // the v3 request's correlation id
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Add([]byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x32})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 4})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, answer []byte) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			var size [4]byte
			if _, err := c.Read(size[:]); err != nil {
				return
			}
			buf := make([]byte, binary.BigEndian.Uint32(size[:]))
			_, _ = c.Read(buf)
			_, _ = c.Write(answer)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := proxy.New(ctx, []string{ln.Addr().String()}, proxy.DialTimeout(100*time.Millisecond))
		if err == nil {
			p.Close()
			t.Fatalf("proxy.New succeeded against an upstream answering %q", answer)
		}
		ln.Close()
		<-done
	})
}
