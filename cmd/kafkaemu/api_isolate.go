package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/seed73168108/kafkaemu/fake"
)

// The split-brain endpoint of the fault API: POST /isolate cuts a broker
// off from the controller and the other brokers while clients still reach
// it (fake.Isolate). It answers a fault id like the network faults, and
// DELETE /faults/ID heals it. The broker is fenced after serve's
// -broker-session-timeout.
//
//	POST /isolate?broker=1
//	POST /isolate?broker=leader-of%20orders/0   (the partition's leader now)
//	POST /isolate?broker=1&client=billing       (client billing loses it too)
func (a *api) addIsolate() {
	a.add("POST", "/isolate", []string{"broker", "client"}, func(p *params) func() (any, error) {
		b, leaderOf := p.isolatedBroker()
		var targets []fake.Target
		if c := p.str("client", false); c != "" {
			targets = append(targets, fake.OnClient(c))
		}
		return func() (any, error) {
			if leaderOf != nil {
				st, err := a.c.Partition(leaderOf.topic, leaderOf.partition)
				if err != nil {
					return nil, err
				}
				if st.Leader < 0 {
					return nil, fmt.Errorf("broker=leader-of %s/%d: the partition is offline, no broker leads it", leaderOf.topic, leaderOf.partition)
				}
				b = st.Leader
			}
			h, err := a.c.AddFault(fake.Isolate(b), targets...)
			if err != nil {
				return nil, err
			}
			out := a.install("isolate", h.String(), h)
			out["broker"] = b
			return out, nil
		}
	})
}

// isolatedBroker reads /isolate's broker: an id, or "leader-of
// topic/partition" (returned as the partition, resolved when it applies).
func (p *params) isolatedBroker() (int32, *topicPartition) {
	v := p.v.Get("broker")
	rest, ok := strings.CutPrefix(v, "leader-of ")
	if !ok {
		return p.broker("broker", true), nil
	}
	topic, part, slash := strings.Cut(strings.TrimSpace(rest), "/")
	n, err := strconv.ParseInt(part, 10, 32)
	if !slash || topic == "" || err != nil || n < 0 {
		p.fail("parameter broker=%q: want a broker id or leader-of TOPIC/PARTITION, like leader-of orders/0", v)
		return -1, nil
	}
	sub := &params{v: map[string][]string{"topic": {topic}, "partition": {part}}, c: p.c}
	parts := sub.partitions(true)
	if sub.err != nil {
		p.fail("parameter broker=%q: %v", v, sub.err)
		return -1, nil
	}
	return -1, &parts[0]
}
