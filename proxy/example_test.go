package proxy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/proxy"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A proxy in front of a three-broker cluster (here kfake; in real life
// your staging Kafka): the client sees only the proxy's addresses, and
// the journal has the append at the offset the upstream gave it.
func Example() {
	upstream, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "orders"))
	if err != nil {
		panic(err)
	}
	defer upstream.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := proxy.New(ctx, upstream.ListenAddrs()[:1]) // one broker named: all three fronted
	if err != nil {
		panic(err)
	}
	defer p.Close()
	fmt.Println("brokers fronted:", len(p.Brokers()))

	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Addrs()...))
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	for _, v := range []string{"a", "b"} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte(v)}).FirstErr(); err != nil {
			panic(err)
		}
	}
	for _, e := range p.Journal() {
		if e.Kind == journal.EventAppend {
			fmt.Printf("append %s[%d] offsets %d..%d\n", e.Topic, e.Partition, e.Offset, e.LastOffset)
		}
	}
	// Output:
	// brokers fronted: 3
	// append orders[0] offsets 0..0
	// append orders[0] offsets 1..1
}

// A client in the proxy's own process (a Go test) reaches it through
// memory: only the proxy's hop to the cluster is a socket.
func ExampleProxy_DialContext() {
	upstream, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders"))
	if err != nil {
		panic(err)
	}
	defer upstream.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := proxy.New(ctx, upstream.ListenAddrs())
	if err != nil {
		panic(err)
	}
	defer p.Close()

	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Addrs()...), kgo.Dialer(p.DialContext))
	if err != nil {
		panic(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("a")}).FirstErr(); err != nil {
		panic(err)
	}
	for _, e := range p.Journal() {
		if e.Kind == journal.EventAppend {
			fmt.Printf("append %s[%d] offset %d\n", e.Topic, e.Partition, e.Offset)
		}
	}
	// Output:
	// append orders[0] offset 0
}
