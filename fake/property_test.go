package fake_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestPropertyAcksAllIdempotentNeverLoses runs random fault schedules, each
// from a seed, against an idempotent acks=all producer on a topic with
// min.insync.replicas=2: whatever the faults, every acknowledged record is
// stored exactly once. KAFKAEMU_SEED=n replays one seed;
// KAFKAEMU_SEEDS=n runs n seeds (default 6).
func TestPropertyAcksAllIdempotentNeverLoses(t *testing.T) {
	t.Parallel()
	seeds, err := propertySeeds()
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			runSchedule(t, seed)
			if t.Failed() {
				t.Logf("replay: KAFKAEMU_SEED=%d go test -race -run 'TestPropertyAcksAllIdempotentNeverLoses' ./fake", seed)
			}
		})
	}
}

// propertySeeds is the seeds the property test runs: KAFKAEMU_SEED alone,
// or KAFKAEMU_SEEDS (default 6) seeds from 1000.
func propertySeeds() ([]int64, error) {
	if s := os.Getenv("KAFKAEMU_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("KAFKAEMU_SEED=%q: want a whole number", s)
		}
		return []int64{n}, nil
	}
	count := 6
	if s := os.Getenv("KAFKAEMU_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("KAFKAEMU_SEEDS=%q: want a number of seeds >= 1", s)
		}
		count = n
	}
	seeds := make([]int64, count)
	for i := range seeds {
		seeds[i] = int64(1000 + i)
	}
	return seeds, nil
}

// A seed variable that is not a count of seeds is an error, not a run of
// zero seeds that passes.
func TestPropertySeedsEnv(t *testing.T) {
	for _, bad := range []string{"abc", "0", "-2", "1.5"} {
		t.Setenv("KAFKAEMU_SEEDS", bad)
		if seeds, err := propertySeeds(); err == nil {
			t.Errorf("KAFKAEMU_SEEDS=%s: seeds %v, want an error", bad, seeds)
		}
	}
	t.Setenv("KAFKAEMU_SEEDS", "3")
	if seeds, err := propertySeeds(); err != nil || len(seeds) != 3 {
		t.Errorf("KAFKAEMU_SEEDS=3: seeds %v, %v", seeds, err)
	}
	t.Setenv("KAFKAEMU_SEED", "x")
	if _, err := propertySeeds(); err == nil {
		t.Error("KAFKAEMU_SEED=x: want an error")
	}
}

func runSchedule(t *testing.T, seed int64) {
	const records = 400
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	lag := []time.Duration{20 * time.Millisecond, 300 * time.Millisecond}[rng.IntN(2)]
	c := harness.Start(t, fake.Seed(seed), fake.ReplicaLagMax(lag),
		fake.Topic("p", 3, 3, map[string]string{"min.insync.replicas": "2"}))
	ctx := ctxT(t, 60*time.Second)
	p := c.Client(t, kgo.DefaultProduceTopic("p"), kgo.RecordDeliveryTimeout(45*time.Second))

	var mu sync.Mutex
	acked := map[string]int{}
	var wg sync.WaitGroup
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			wg.Add(1)
			p.Produce(ctx, kgo.StringRecord(fmt.Sprint("v", i)), func(r *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					t.Errorf("acks=all idempotent produce of %s failed: %v", r.Value, err)
					return
				}
				mu.Lock()
				acked[string(r.Value)]++
				mu.Unlock()
			})
		}
	}

	var log []string
	var faults []*fake.FaultHandle
	down := map[int32]bool{}
	paused := map[int32]bool{}
	step := records / 16
	for i := 0; i < records; i += step {
		before := len(c.Journal())
		produce(i, i+step)
		// Pace the schedule by progress: let the chunk reach the brokers
		// (or be refused) before the next fault, within a bound.
		waitUpTo(100*time.Millisecond, func() bool { return len(c.Journal()) >= before+4 })
		part := int32(rng.IntN(3))
		for p := range paused {
			part = p // failures hit paused partitions, where tails are
		}
		switch rng.IntN(7) {
		case 0:
			part = int32(rng.IntN(3))
			log = append(log, fmt.Sprint("pause p", part), errString(c.PauseReplication("p", part)))
			paused[part] = true
		case 1:
			log = append(log, fmt.Sprint("resume p", part), errString(c.ResumeReplication("p", part)))
			delete(paused, part)
		case 2:
			l, err := c.FailLeader("p", part)
			log = append(log, fmt.Sprint("fail-leader p", part, " -> ", l), errString(err))
		case 3:
			b := int32(rng.IntN(3))
			if len(down) == 0 {
				log = append(log, fmt.Sprint("kill ", b), errString(c.KillBroker(b)))
				down[b] = true
			} else {
				for d := range down {
					log = append(log, fmt.Sprint("restart ", d), errString(c.RestartBroker(d)))
					delete(down, d)
				}
			}
		case 4:
			h, err := c.AddFault(fake.DropResponses(0.5), fake.OnKeys(kmsg.Produce), fake.Times(3))
			log = append(log, "drop-responses", errString(err))
			if err == nil {
				faults = append(faults, h)
			}
		case 5:
			h, err := c.AddFault(fake.Latency(5*time.Millisecond, 5*time.Millisecond), fake.OnBrokers(int32(rng.IntN(3))))
			log = append(log, "latency", errString(err))
			if err == nil {
				faults = append(faults, h)
			}
		case 6:
			b := int32(rng.IntN(3))
			log = append(log, fmt.Sprint("pause follower ", b), errString(c.PauseFollower(b)))
			defer c.ResumeFollower(b)
		}
	}
	// Heal everything; the producer must then get every record through.
	for _, h := range faults {
		_ = h.Remove()
	}
	for d := range down {
		_ = c.RestartBroker(d)
	}
	for part := int32(0); part < 3; part++ {
		_ = c.ResumeReplication("p", part)
	}
	for b := int32(0); b < 3; b++ {
		_ = c.ResumeFollower(b)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v (schedule %v)", err, log)
	}
	wg.Wait()
	// Then make sure of what the property is about: a leader fails while
	// acks=all writes wait in its un-replicated tail (the random schedule
	// may not have done it), and those writes get through too.
	sent := records
	for attempt := 1; ; attempt++ {
		if attempt > 5 {
			t.Fatalf("no failover dropped an un-replicated acks=all tail in 5 attempts (schedule %v)", log)
		}
		// Every partition back to a full ISR first: a follower that left
		// the ISR in the attempt before (replica lag) and has not caught
		// up yet would leave fewer than min.insync.replicas, and acks=all
		// writes would be refused instead of waiting in a tail.
		for part := int32(0); part < 3; part++ {
			if _, err := c.WaitPartition(ctx, "p", part, func(st fake.PartitionState) bool { return len(st.ISR) == 3 }); err != nil {
				t.Fatalf("p[%d] never got its ISR back: %v (schedule %v)", part, err, log)
			}
		}
		before := int64(len(c.Journal()))
		for part := int32(0); part < 3; part++ {
			if err := c.PauseReplication("p", part); err != nil {
				t.Fatal(err)
			}
		}
		produce(sent, sent+10)
		sent += 10
		var tail *fake.Event
		waitUpTo(10*time.Second, func() bool {
			for _, e := range c.Journal()[before:] {
				if e.Kind == fake.EventAppend && e.Acks == -1 && e.Detail == "un-replicated" {
					tail = &e
					return true
				}
			}
			return false
		})
		if tail == nil {
			t.Fatalf("no acks=all write reached a paused partition's tail (schedule %v)", log)
		}
		l, err := c.FailLeader("p", tail.Partition)
		log = append(log, fmt.Sprint("tail failover p", tail.Partition, " -> ", l), errString(err))
		for part := int32(0); part < 3; part++ {
			_ = c.ResumeReplication("p", part)
		}
		dropped := false
		for _, e := range c.Journal()[before:] {
			dropped = dropped || e.Kind == fake.EventTruncate && e.Partition == tail.Partition
		}
		if dropped {
			break
		}
		// The followers left the ISR first (replica lag) and the tail
		// was committed instead: try again.
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v (schedule %v)", err, log)
	}
	wg.Wait()

	var total int64
	for part := int32(0); part < 3; part++ {
		total += partition(t, c, "p", part).HighWatermark
	}
	stored := map[string]int{}
	for _, r := range consumeAll(t, ctx, c, "p", int(total)) {
		stored[string(r.Value)]++
	}
	for v := range acked {
		if stored[v] == 0 {
			t.Errorf("lost-write: %s acknowledged but not stored", v)
		}
	}
	for v, n := range stored {
		if n > 1 {
			t.Errorf("duplicate: %s stored %d times", v, n)
		}
	}
	if len(acked) != sent {
		t.Errorf("%d of %d records acknowledged", len(acked), sent)
	}
	truncated := 0
	for _, e := range c.Journal() {
		if e.Kind == fake.EventTruncate {
			truncated++
		}
	}
	t.Logf("replica lag %v, schedule %v; %d tails dropped by failovers", lag, log, truncated)
}

// waitUpTo polls cond until it holds or d has passed.
func waitUpTo(d time.Duration, cond func() bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

func errString(err error) string {
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return ""
}
