package netfault_test

import (
	"fmt"

	"github.com/seed73168108/kafkaemu/journal"
	"github.com/seed73168108/kafkaemu/netfault"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A fault that drops the answer to the next produce request: the wire
// layer asks the Layer about each request before routing it.
func Example() {
	var log journal.Log
	faults := netfault.NewLayer(netfault.Config{Seed: 1, Journal: &log})
	h, err := faults.Add(netfault.DropResponses(1), netfault.OnKeys(kmsg.Produce), netfault.Times(1))
	if err != nil {
		panic(err)
	}
	for _, key := range []kmsg.Key{kmsg.Fetch, kmsg.Produce, kmsg.Produce} {
		act, ok := faults.BeforeRoute(netfault.Request{Broker: 0, ClientID: "writer", Key: int16(key)}, nil)
		fmt.Printf("%s: forward %v, drop the answer %v\n", key.Name(), ok, act.Drop)
	}
	fmt.Println("hits:", h.Hits())
	for _, e := range log.Events() {
		fmt.Println(e.Describe())
	}
	// Output:
	// Fetch: forward true, drop the answer false
	// Produce: forward true, drop the answer true
	// Produce: forward true, drop the answer false
	// hits: 1
	// fault-added (drop-responses p=1 requests Produce 1 times)
	// fault-hit client=writer (drop-responses p=1 requests Produce 1 times on Produce)
	// fault-removed (drop-responses p=1 requests Produce 1 times after 1 hits)
}
