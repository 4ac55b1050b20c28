// Package journaltest makes journals for tests and benchmarks that need
// more events than a test can afford to run, shared by the packages of
// this module and the conformance module.
package journaltest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seed73168108/kafkaemu/journal"
)

// Synthetic is a journal of n events shaped like a long chaos run's:
// two topics of three partitions over three brokers, batches appended
// (acks=all, acks=1 and transactional) with their high watermarks,
// fetches, a group's commits and rebalances, transactions committed and
// aborted, and every n/8 events a fault: replication paused, the leader
// failed with its un-replicated tail dropped, a broker killed and
// restarted, responses dropped. Events are 10 µs apart. The same n and
// seed give the same journal.
func Synthetic(n int, seed uint64) []journal.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]journal.Event, 0, n)
	add := func(e journal.Event) {
		if len(evs) < n {
			e.Seq = int64(len(evs) + 1)
			e.Time = t0.Add(time.Duration(len(evs)) * 10 * time.Microsecond)
			evs = append(evs, e)
		}
	}
	type part struct {
		topic         string
		p             int32
		leader, epoch int32
		leo           int64
		paused        bool
	}
	var parts []*part
	for b := int32(0); b < 3; b++ {
		add(journal.Event{Kind: journal.EventBrokerUp, Broker: b, Detail: fmt.Sprintf("127.0.0.1:%d", 9092+b)})
	}
	for _, topic := range []string{"orders", "payments"} {
		for p := int32(0); p < 3; p++ {
			pt := &part{topic: topic, p: p, leader: p % 3}
			parts = append(parts, pt)
			add(journal.Event{Kind: journal.EventLeaderChange, Topic: topic, Partition: p, Leader: pt.leader, ISR: []int32{0, 1, 2}, Detail: "replicas [0 1 2]"})
		}
		add(journal.Event{Kind: journal.EventTopicCreated, Topic: topic, Detail: "3 partitions"})
	}
	gen := int32(1)
	pid := int64(1000)
	for step := 0; len(evs) < n; step++ {
		pt := parts[rng.IntN(len(parts))]
		switch r := rng.IntN(100); {
		case r < 40: // a batch
			k := int64(1 + rng.IntN(20))
			acks := []int16{-1, 1, -1}[rng.IntN(3)]
			e := journal.Event{Kind: journal.EventAppend, Broker: pt.leader, Topic: pt.topic, Partition: pt.p, Offset: pt.leo, LastOffset: pt.leo + k - 1, Acks: acks, ProducerID: -1, Client: "producer"}
			if pt.paused {
				e.Detail = "un-replicated"
			}
			add(e)
			pt.leo += k
			if !pt.paused {
				add(journal.Event{Kind: journal.EventHighWatermark, Broker: pt.leader, Topic: pt.topic, Partition: pt.p, Offset: pt.leo})
			}
		case r < 75:
			from := max(pt.leo-int64(rng.IntN(50)), 0)
			add(journal.Event{Kind: journal.EventFetch, Broker: pt.leader, Topic: pt.topic, Partition: pt.p, Offset: from, LastOffset: pt.leo - 1, Client: "consumer-1", Conn: "127.0.0.1:50000"})
		case r < 90:
			add(journal.Event{Kind: journal.EventOffsetCommit, Broker: 0, Group: "billing", Topic: pt.topic, Partition: pt.p, Offset: pt.leo, Client: "consumer-1"})
		case r < 96: // a transaction
			pid++
			k := int64(1 + rng.IntN(5))
			add(journal.Event{Kind: journal.EventTxnBegin, Broker: pt.leader, ProducerID: pid, Client: "pipeline"})
			add(journal.Event{Kind: journal.EventAppend, Broker: pt.leader, Topic: pt.topic, Partition: pt.p, Offset: pt.leo, LastOffset: pt.leo + k - 1, Acks: -1, ProducerID: pid, Transactional: true, Client: "pipeline"})
			pt.leo += k
			add(journal.Event{Kind: journal.EventHighWatermark, Broker: pt.leader, Topic: pt.topic, Partition: pt.p, Offset: pt.leo})
			add(journal.Event{Kind: journal.EventTxnEnd, Broker: 1, ProducerID: pid, Committed: rng.IntN(5) > 0, Client: "pipeline", Detail: "transactional.id=pipeline"})
		default:
			add(journal.Event{Kind: journal.EventGroup, Broker: 0, Group: "billing", Client: "consumer-1", Epoch: gen, Detail: fmt.Sprintf("join: member m-1 generation %d leader m-1 protocol cooperative-sticky", gen)})
		}
		if step%(max(n/8, 50)) == n/16 { // a fault
			switch (step / max(n/8, 50)) % 4 {
			case 0, 2:
				add(journal.Event{Kind: journal.EventReplication, Topic: pt.topic, Partition: pt.p, Detail: "paused"})
				pt.paused = true
				for i := 0; i < 5; i++ {
					add(journal.Event{Kind: journal.EventAppend, Broker: pt.leader, Topic: pt.topic, Partition: pt.p, Offset: pt.leo, LastOffset: pt.leo + 9, Acks: 1, ProducerID: -1, Client: "producer", Detail: "un-replicated"})
					pt.leo += 10
				}
				next := (pt.leader + 1) % 3
				add(journal.Event{Kind: journal.EventTruncate, Leader: next, Topic: pt.topic, Partition: pt.p, Offset: pt.leo - 50, LastOffset: pt.leo - 1, Detail: fmt.Sprintf("leader %d failed", pt.leader)})
				pt.leo -= 50
				pt.leader, pt.epoch = next, pt.epoch+1
				add(journal.Event{Kind: journal.EventLeaderChange, Topic: pt.topic, Partition: pt.p, Leader: pt.leader, Epoch: pt.epoch, ISR: []int32{0, 1, 2}, Detail: "leader failed"})
				add(journal.Event{Kind: journal.EventReplication, Topic: pt.topic, Partition: pt.p, Detail: "resumed"})
				pt.paused = false
			case 1:
				add(journal.Event{Kind: journal.EventBrokerDown, Broker: 2, Detail: "127.0.0.1:9094"})
				gen++
				add(journal.Event{Kind: journal.EventGroup, Group: "billing", Detail: "member m-2 expired"})
				add(journal.Event{Kind: journal.EventBrokerUp, Broker: 2, Detail: "127.0.0.1:9094"})
			case 3:
				add(journal.Event{Kind: journal.EventFaultAdded, Detail: "drop-responses p=0.1 on brokers [1]"})
				for i := 0; i < 20; i++ {
					add(journal.Event{Kind: journal.EventFaultHit, Broker: 1, Client: "producer", Detail: "drop-responses p=0.1 on Produce"})
				}
				add(journal.Event{Kind: journal.EventFaultRemoved, Detail: "drop-responses p=0.1 on brokers [1]"})
			}
		}
	}
	return evs
}
