package wire

import (
	"encoding/binary"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkCheckRequest: what validating one request costs, for the
// requests a producing and consuming client sends most: a Produce of
// three 1 MiB batches (the records are not parsed: kmsg keeps them as
// bytes) and a Fetch of three partitions.
func BenchmarkCheckRequest(b *testing.B) {
	c := &Config{Versions: kmsgVersions}
	produce := kmsg.NewPtrProduceRequest()
	produce.Version, produce.Acks, produce.TimeoutMillis = 12, -1, 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "bench"
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version, fetch.MaxWaitMillis, fetch.MaxBytes = 16, 50, 50<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "bench"
	for i := int32(0); i < 3; i++ {
		pp := kmsg.NewProduceRequestTopicPartition()
		pp.Partition, pp.Records = i, make([]byte, 1<<20)
		pt.Partitions = append(pt.Partitions, pp)
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.PartitionMaxBytes = i, 1<<20
		ft.Partitions = append(ft.Partitions, fp)
	}
	produce.Topics = append(produce.Topics, pt)
	fetch.Topics = append(fetch.Topics, ft)
	for _, req := range []kmsg.Request{produce, fetch} {
		frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("bench")).AppendRequest(nil, req, 1)
		b.Run(kmsg.NameForKey(req.Key()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, bad := c.checkRequest(frame); bad != nil {
					b.Fatal(bad.reason)
				}
			}
		})
	}
}

// BenchmarkReadFrame: reading request frames of a few sizes from a
// loopback socket, validated (memory taken as bytes arrive) and as the
// wire layer read them before (one buffer of the announced length).
func BenchmarkReadFrame(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		for _, checked := range []bool{false, true} {
			name := fmt.Sprintf("%dKiB/unchecked", size>>10)
			if checked {
				name = fmt.Sprintf("%dKiB/checked", size>>10)
			}
			b.Run(name, func(b *testing.B) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				defer ln.Close()
				client, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer client.Close()
				server, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				defer server.Close()
				cn := &Conn{l: &Listener{}, tcp: server, fwd: make(chan *Slot), out: make(chan *Slot)}
				frame := make([]byte, 4+size)
				binary.BigEndian.PutUint32(frame, uint32(size))
				binary.BigEndian.PutUint32(frame[4:], 1) // Produce v1 header start
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						if _, err := client.Write(frame); err != nil {
							return
						}
					}
				}()
				b.SetBytes(int64(len(frame)))
				b.ReportAllocs()
				cpu0 := processCPU()
				for b.Loop() {
					if checked {
						if _, bad, err := cn.readFrame(); bad != nil || err != nil {
							b.Fatal(bad, err)
						}
					} else if _, _, _, ok := cn.readUnchecked(); !ok && size >= 8 {
						// readUnchecked also parses the header, which
						// this frame does not have in full; its read
						// is what is measured.
					}
				}
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
				b.StopTimer()
				client.Close()
				server.Close()
				<-done
			})
		}
	}
}

// processCPU is the CPU time (user and system) the process has used, in
// nanoseconds: on a shared machine it swings less than wall time.
func processCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// kmsgVersions advertises every request kmsg knows, at every version it
// knows: a backend that serves everything.
func kmsgVersions() map[int16][2]int16 {
	vs := map[int16][2]int16{}
	for key := int16(0); key < 100; key++ {
		if req := kmsg.RequestForKey(key); req != nil {
			vs[key] = [2]int16{0, req.MaxVersion()}
		}
	}
	return vs
}
