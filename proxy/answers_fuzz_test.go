package proxy

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/internal/observe"
	"github.com/seed73168108/kafkaemu/internal/wire"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzAnswers: whatever an upstream answers a produce or an ApiVersions
// request with, the proxy panics on nothing, and what reaches the client
// names no broker but the proxy's listeners (a produce answer's leader
// hints) and offers no Fetch above v15.
//
//	go test -run '^$' -fuzz FuzzAnswers -fuzztime 1m ./proxy
func FuzzAnswers(f *testing.F) {
	up, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		f.Fatal(err)
	}
	defer up.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := New(ctx, up.ListenAddrs())
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()

	produce := kmsg.NewPtrProduceResponse()
	produce.Version = 10
	pt := kmsg.NewProduceResponseTopic()
	pt.Topic = "t"
	pp := kmsg.NewProduceResponseTopicPartition()
	pp.ErrorCode = 6 // NOT_LEADER_FOR_PARTITION
	pt.Partitions = append(pt.Partitions, pp)
	produce.Topics = append(produce.Topics, pt)
	hint := kmsg.NewProduceResponseBroker()
	hint.NodeID, hint.Host, hint.Port = 7, "10.0.0.7", 9092
	produce.Brokers = append(produce.Brokers, hint)
	f.Add(false, int16(10), wire.EncodeResponse(1, produce))
	versions := kmsg.NewPtrApiVersionsResponse()
	versions.Version = 3
	for _, k := range []int16{0, 1, 3, 18, 78} {
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey, ak.MaxVersion = k, 17
		versions.ApiKeys = append(versions.ApiKeys, ak)
	}
	f.Add(true, int16(3), wire.EncodeResponse(1, versions))
	f.Add(true, int16(0), []byte{0, 0, 0, 6, 0, 0, 0, 1, 0, 35})
	f.Add(false, int16(3), []byte{0, 0, 0, 4, 0, 0, 0, 1})
	// A header tag count of 246 million with nothing after it: 5 s of CPU
	// in kmsg v1.15.0's SkipTags, found by this fuzzer.
	f.Add(false, int16(10), []byte("00\x02u\x9b\xc6L\xa7\xcd\x9c\xdcu"))

	req := kmsg.NewPtrProduceRequest()
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = make([]byte, observe.BatchHeaderSize)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)

	f.Fuzz(func(t *testing.T, isVersions bool, version int16, frame []byte) {
		if isVersions {
			version = min(max(version, 0), 4)
			out := versionsAnswer(wire.Header{Key: int16(kmsg.ApiVersions), Version: version, Corr: 1}, frame)
			resp := kmsg.NewPtrApiVersionsResponse()
			resp.Version = version
			if wire.DecodeResponse(out, resp) == nil && resp.ErrorCode == 0 {
				for _, k := range resp.ApiKeys {
					if k.ApiKey == int16(kmsg.Fetch) && k.MaxVersion > maxFetchVersion {
						t.Errorf("Fetch offered up to v%d", k.MaxVersion)
					}
				}
			}
			return
		}
		version = min(max(version, 3), 12)
		req.Version = version
		h := wire.Header{Key: int16(kmsg.Produce), Version: version, Corr: 1}
		out, ok := p.produceAnswer(observe.Source{}, req, h, frame)
		if !ok {
			return
		}
		resp := kmsg.NewPtrProduceResponse()
		resp.Version = version
		if wire.DecodeResponse(out, resp) != nil {
			return
		}
		for _, b := range resp.Brokers {
			if a := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))); !slices.Contains(p.Addrs(), a) {
				t.Errorf("a produce answer names %s, not a listener of the proxy", a)
			}
		}
	})
}
