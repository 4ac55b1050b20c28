package fake_test

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Killing a group's coordinator moves it to a live broker: the member that
// was talking to the dead one finds the new one and keeps consuming and
// committing, and the offsets committed before the crash survive.
func TestKillCoordinatorGroupKeepsConsuming(t *testing.T) {
	t.Parallel()
	for _, mode := range groupModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testKillCoordinator(t, mode.opts)
		})
	}
}

func testKillCoordinator(t *testing.T, modeOpts []kgo.Opt) {
	c := harness.Start(t, fake.Topic("t", 2, 3))
	ctx := ctxT(t, 20*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("t"))
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), nil)
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	consume := func(cl *kgo.Client, n int) {
		t.Helper()
		for got := 0; got < n; {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d: %v", got, n, ctx.Err())
			}
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++; got++ })
		}
	}
	committed := func() (sum int64) {
		for _, ps := range c.Kfake().GroupInfo("g").Commits {
			for _, pc := range ps {
				sum += pc.Offset
			}
		}
		return sum
	}
	member := func() *kgo.Client {
		return c.Client(t, append([]kgo.Opt{kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"), kgo.DisableAutoCommit()}, modeOpts...)...)
	}

	produce(0, 20)
	cl := member()
	consume(cl, 20)
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	old := c.Kfake().CoordinatorFor("g")
	if err := c.KillBroker(old); err != nil {
		t.Fatal(err)
	}
	now := c.Kfake().CoordinatorFor("g")
	if now == old {
		t.Fatalf("the coordinator of g stayed on the dead broker %d", old)
	}
	for _, b := range c.Brokers() {
		if b.ID == now && !b.Up {
			t.Fatalf("the coordinator of g moved to broker %d, which is down", now)
		}
	}
	if sum := committed(); sum != 20 {
		t.Errorf("committed offsets sum to %d after the coordinator died, want 20", sum)
	}
	coordinatorMoveJournaled(t, c, "g", old, now)

	// The member keeps consuming and commits through the new coordinator.
	// kgo may still pick the dead broker (it is one of the client's seeds,
	// and its metadata may predate the crash) to ask FindCoordinator, and
	// give up on that commit with a dial error; the next commit goes
	// elsewhere. Any other error fails the test.
	produce(20, 30)
	consume(cl, 10)
	var deadAddr string
	for _, b := range c.Brokers() {
		if b.ID == old {
			deadAddr = b.Addr
		}
	}
	for {
		err := cl.CommitUncommittedOffsets(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), deadAddr) || ctx.Err() != nil {
			t.Fatalf("commit after the coordinator died: %v", err)
		}
	}
	if sum := committed(); sum != 30 {
		t.Errorf("committed offsets sum to %d, want 30", sum)
	}
	down, onNew := false, false
	for _, e := range c.Journal() {
		switch {
		case e.Kind == fake.EventBrokerDown && e.Broker == old:
			down = true
		case e.Kind == fake.EventOffsetCommit && e.Group == "g" && down:
			if e.Broker == old {
				t.Errorf("offset commit served by the dead broker %d: %v", old, e)
			}
			onNew = onNew || e.Broker == now
		}
	}
	if !down || !onNew {
		t.Errorf("journal: broker %d down %v, a commit served by the new coordinator %d %v:\n%s", old, down, now, onNew, c.JournalTail(30))
	}

	// A new member resumes from the committed offsets.
	cl.Close()
	produce(30, 35)
	consume(member(), 5)
	for i := 0; i < 35; i++ {
		if n := seen[fmt.Sprint(i)]; n != 1 {
			t.Errorf("record %d consumed %d times, want once", i, n)
		}
	}
}
