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
	seeds := []int64{}
	if s := os.Getenv("KAFKAEMU_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("KAFKAEMU_SEED=%q: %v", s, err)
		}
		seeds = append(seeds, n)
	} else {
		count := 6
		if s := os.Getenv("KAFKAEMU_SEEDS"); s != "" {
			count, _ = strconv.Atoi(s)
		}
		for i := 0; i < count; i++ {
			seeds = append(seeds, int64(1000+i))
		}
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
	if len(acked) != records {
		t.Errorf("%d of %d records acknowledged", len(acked), records)
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
