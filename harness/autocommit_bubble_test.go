package harness_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// longRebalance is the path a user writes: group consumers with the
// harness's autocommit, in a bubble, and a long rebalance. A member stops
// heartbeating, a new member joins, and the rebalance waits for the
// silent member's 45 s session while the others sit in JoinGroup (kgo
// holds its commit lock for writing meanwhile). extra goes to every
// member.
func longRebalance(t *testing.T, extra ...kgo.Opt) {
	c := harness.Start(t, fake.VirtualNetwork(), fake.Topic("orders", 3, 1))
	// Round robin puts records in every partition, so a has some to poll
	// whichever partitions it was given (keyless records from one
	// ProduceSync would all land in one partition, perhaps stuck's).
	p := c.Client(t, kgo.DefaultProduceTopic("orders"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	group := append([]kgo.Opt{kgo.ConsumerGroup("g"), kgo.ConsumeTopics("orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(45 * time.Second), kgo.RebalanceTimeout(45 * time.Second)}, extra...)
	a := c.Client(t, append(group, kgo.ClientID("a"))...)
	c.Client(t, append(group, kgo.ClientID("stuck"))...)
	ctx := t.Context()
	if _, err := c.WaitGroup(ctx, "g", fake.GroupSettled(2, 3)); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	pctx, pcancel := context.WithTimeout(ctx, time.Minute)
	defer pcancel()
	for polled := 0; polled == 0; { // a has something to commit
		fs := a.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("a polled nothing in a minute of virtual time: %v", fs.Err0())
		}
		polled = fs.NumRecords()
	}
	a.AllowRebalance()
	start := time.Now()
	if _, err := c.AddFault(fake.Blackhole(), fake.OnClient("stuck")); err != nil {
		t.Fatal(err)
	}
	c.Client(t, append(group, kgo.ClientID("late"))...)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if _, err := c.WaitGroup(wctx, "g", func(gi *kfake.GroupInfo) bool {
		return fake.GroupSettled(2, 3)(gi) && !slices.ContainsFunc(gi.Members, func(m kfake.GroupMember) bool { return m.ClientID == "stuck" })
	}); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 40*time.Second {
		t.Fatalf("the rebalance ended after %v, before the silent member's 45 s session ran out", waited)
	}
	t.Logf("rebalanced after %v of virtual time", time.Since(start))
}

func TestAutocommitDuringLongRebalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { longRebalance(t) })
}

// TestKgoAutocommitTrap reproduces why the harness turns periodic
// autocommit off on the virtual network: with kgo's own 5 s autocommit
// and kgo built without -tags synctests, the long rebalance above never
// ends (the bubble's clock stops). It runs the case in a child process
// with a time limit, so a hang cannot hang the suite; it costs that
// limit, so it runs only with KAFKAEMU_TRAP=1.
func TestKgoAutocommitTrap(t *testing.T) {
	if os.Getenv("KAFKAEMU_TRAP_CHILD") != "" {
		synctest.Test(t, func(t *testing.T) { longRebalance(t, kgo.AutoCommitInterval(5*time.Second)) })
		return
	}
	if os.Getenv("KAFKAEMU_TRAP") == "" {
		t.Skip("reproduces a hang in a child process, costs 30 s; run with KAFKAEMU_TRAP=1")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKgoAutocommitTrap$", "-test.v")
	cmd.Env = append(os.Environ(), "KAFKAEMU_TRAP_CHILD=1")
	out, err := cmd.CombinedOutput()
	hung := ctx.Err() != nil
	t.Logf("child: err %v, hung %v\n%s", err, hung, out)
	if want := !harness.KgoBubbleLocks(); hung != want {
		t.Fatalf("kgo's 5 s autocommit in a long rebalance: hung = %v, want %v (kgo built with -tags synctests: %v)", hung, want, !want)
	}
	if !hung && (err != nil || !strings.Contains(string(out), "PASS")) {
		t.Fatalf("the child failed: %v", err)
	}
}
