package wire_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/seed73168108/kafkaemu/journal"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A listener whose router answers ApiVersions itself: a client's valid
// request is answered, and a request the backend does not serve closes
// the connection and is journaled.
func Example() {
	var log journal.Log
	served := map[int16][2]int16{int16(kmsg.ApiVersions): {0, 3}}
	l, err := wire.NewListener(wire.Config{
		Node:     0,
		Versions: func() map[int16][2]int16 { return served },
		Journal:  &log,
		Route: func(cn *wire.Conn, h wire.Header, frame, body []byte) bool {
			resp := kmsg.NewPtrApiVersionsResponse()
			resp.Version = h.Version
			k := kmsg.NewApiVersionsResponseApiKey()
			k.ApiKey, k.MinVersion, k.MaxVersion = int16(kmsg.ApiVersions), 0, 3
			resp.ApiKeys = append(resp.ApiKeys, k)
			return cn.Answer(h, resp)
		},
	}, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	// The backend accepts every connection; this one never reads from
	// them, as the router answers everything itself.
	go func() {
		for {
			if _, err := l.Accept(); err != nil {
				return
			}
		}
	}()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("example"))
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "example", "1"
	if _, err := c.Write(f.AppendRequest(nil, req, 1)); err != nil {
		panic(err)
	}
	frame := readFrame(c)
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 3
	if err := wire.DecodeResponse(frame, resp); err != nil {
		panic(err)
	}
	fmt.Println("ApiVersions answered:", len(resp.ApiKeys), "key, error", resp.ErrorCode)

	// Metadata is not served here: the connection closes.
	if _, err := c.Write(f.AppendRequest(nil, kmsg.NewPtrMetadataRequest(), 2)); err != nil {
		panic(err)
	}
	_, err = c.Read(make([]byte, 1))
	fmt.Println("Metadata:", err)
	for _, e := range log.Events() {
		fmt.Println(e.Kind, e.Error)
	}
	// Output:
	// ApiVersions answered: 1 key, error 0
	// Metadata: EOF
	// bad-request request key 3 (Metadata) is not served by this cluster
}

func readFrame(c net.Conn) []byte {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		panic(err)
	}
	frame := make([]byte, 4+binary.BigEndian.Uint32(size[:]))
	copy(frame, size[:])
	if _, err := io.ReadFull(c, frame[4:]); err != nil {
		panic(err)
	}
	return frame
}
