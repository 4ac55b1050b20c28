package fake_test

import (
	"fmt"

	"github.com/seed73168108/kafkaemu/fake"
)

// A long run keeps the newest events in memory and hands every event to a
// hook (kafkaemu serve -journal writes them to a file this way).
func ExampleJournalLimit() {
	var streamed int
	c, err := fake.New(fake.Seed(1), fake.Topic("orders", 1, 3), fake.JournalLimit(3),
		fake.OnJournal(func(fake.Event) { streamed++ }))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	for range 4 {
		if _, err := c.FailLeader("orders", 0); err != nil {
			panic(err)
		}
	}
	fmt.Println("in memory:", len(c.Journal()), "dropped:", c.JournalDropped(), "streamed:", streamed)
	// Output: in memory: 3 dropped: 10 streamed: 13
}
