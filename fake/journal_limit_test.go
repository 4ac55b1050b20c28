package fake_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seed73168108/kafkaemu/fake"
)

// JournalLimit keeps the newest events in memory and counts the rest;
// OnJournal sees every event, in order, dropped or not.
func TestJournalLimit(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		hooked []fake.Event
	)
	c, err := fake.New(fake.Topic("t", 1, 3), fake.JournalLimit(5), fake.OnJournal(func(e fake.Event) {
		mu.Lock()
		hooked = append(hooked, e)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 10 { // each a leader-change event, at least
		if _, err := c.FailLeader("t", 0); err != nil {
			t.Fatal(err)
		}
	}
	kept, dropped := c.Journal(), c.JournalDropped()
	mu.Lock()
	seen := slices.Clone(hooked)
	mu.Unlock()
	if len(kept) != 5 {
		t.Fatalf("%d events in memory, want the limit, 5", len(kept))
	}
	last := kept[len(kept)-1].Seq
	if dropped != last-5 {
		t.Errorf("JournalDropped = %d, want %d (the newest event is #%d, 5 kept)", dropped, last-5, last)
	}
	// The hook saw every event, numbered 1.. without a gap, and the kept
	// ones are its last five.
	if int64(len(seen)) != last {
		t.Fatalf("the hook saw %d events, want %d", len(seen), last)
	}
	for i, e := range seen {
		if e.Seq != int64(i+1) || e.Time.IsZero() {
			t.Fatalf("hook event %d is #%d at %v", i, e.Seq, e.Time)
		}
	}
	if !slices.EqualFunc(kept, seen[len(seen)-5:], func(a, b fake.Event) bool { return a.Seq == b.Seq && a.Kind == b.Kind }) {
		t.Errorf("kept %v, want the hook's last five", kept)
	}
	// JournalSince numbers by Seq across the drop: a reader that fell
	// behind gets what is left.
	if got := c.JournalSince(last - 2); len(got) != 2 || got[0].Seq != last-1 {
		t.Errorf("JournalSince(%d) = %v, want events #%d and #%d", last-2, got, last-1, last)
	}
	if got := c.JournalSince(1); len(got) != 5 || got[0].Seq != dropped+1 {
		t.Errorf("JournalSince(1) after %d dropped = %v, want the 5 kept", dropped, got)
	}
	if n := strings.Count(c.JournalTail(100), "\n"); n != 5 {
		t.Errorf("JournalTail(100) has %d lines, want 5", n)
	}
}

func TestJournalLimitBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opt  fake.Option
		want string
	}{
		{fake.JournalLimit(0), "fake.JournalLimit(0): want at least 1 event"},
		{fake.JournalLimit(-3), "fake.JournalLimit(-3): want at least 1 event"},
		{fake.OnJournal(nil), "fake.OnJournal(nil): want a function"},
	} {
		c, err := fake.New(tc.opt)
		if err == nil {
			c.Close()
			t.Errorf("New accepted it, want %q", tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("error %q, want %q", err, tc.want)
		}
	}
}
