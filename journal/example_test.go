package journal_test

import (
	"bytes"
	"fmt"

	"github.com/seed73168108/kafkaemu/journal"
)

// A Log numbers what it is given; a transactional append opens a
// transaction for its producer (txn-begin) until the txn-end. The JSON
// lines it writes read back as the same events.
func Example() {
	var log journal.Log
	log.Add(journal.Event{Kind: journal.EventAppend, Topic: "orders", Partition: 0, Offset: 0, LastOffset: 2, Acks: -1, ProducerID: 7, Transactional: true})
	log.Add(journal.Event{Kind: journal.EventTxnEnd, ProducerID: 7, Committed: true})
	log.Add(journal.Event{Kind: journal.EventFetch, Topic: "orders", Partition: 0, Offset: 0, LastOffset: 2, Client: "reader"})

	var buf bytes.Buffer
	if err := log.WriteJSON(&buf); err != nil {
		panic(err)
	}
	events, err := journal.Read(&buf)
	if err != nil {
		panic(err)
	}
	for _, e := range events {
		fmt.Printf("#%d %s\n", e.Seq, e.Describe())
	}
	// Output:
	// #1 txn-begin pid=7/0
	// #2 append orders[0] offsets 0..2 acks=-1 pid=7/0 seq=0 txn
	// #3 txn-end pid=7/0 commit
	// #4 fetch orders[0] offsets 0..2 client=reader
}
