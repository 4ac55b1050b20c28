package assertions

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// A generated history is made of lanes, one per partition of topic t:
// the partition's producer (sometimes transactional), one consumer of
// each of two groups (g1 read_committed, g2 read_uncommitted), and the
// broker-side records of the partition. Lanes are independent: any
// interleaving of them that keeps each lane's own order (so each
// producer's and each consumer's) must give the same report. Values of
// non-transactional sends come from one pool shared by every lane, so a
// value can be in several partitions and twice in one; a transaction's
// values are its producer's own.
const lanes = 3

// step is one generated operation of a lane.
type step struct {
	lane int
	do   func(h *History)
}

type logEntry struct {
	key, value string
	txn        int // the lane's transaction number, 0 for none
}

type laneState struct {
	producer string
	next     int64 // log end
	log      map[int64]logEntry
	txn      int          // the open transaction, 0 if none
	txns     int          // transactions begun
	aborted  map[int]bool // transactions aborted
	open     map[int]bool // transactions not yet ended
	last     logEntry     // the latest write, for retries
	cons     [2]consState
}

type consState struct {
	name string
	gen  int32
	pos  int64
}

// decodeSteps turns fuzz bytes into steps, three bytes each.
func decodeSteps(data []byte) []step {
	var ls [lanes]*laneState
	for l := range ls {
		ls[l] = &laneState{producer: fmt.Sprint("p", l), log: map[int64]logEntry{}, aborted: map[int]bool{}, open: map[int]bool{}}
		for g := range ls[l].cons {
			ls[l].cons[g] = consState{name: fmt.Sprintf("g%d-c%d", g+1, l), gen: 1}
		}
	}
	var steps []step
	for i := 0; i+2 < len(data) && len(steps) < 400; i += 3 {
		lane, kind, a, b := int(data[i])%lanes, int(data[i])/lanes%8, data[i+1], data[i+2]
		st := ls[lane]
		part := int32(lane)
		emit := func(do func(h *History)) { steps = append(steps, step{lane, do}) }
		switch kind {
		case 0, 1: // a send: acknowledged, acks=0, unknown or failed
			e := logEntry{key: fmt.Sprint("k", b%3), value: fmt.Sprint("v", a%6), txn: st.txn}
			if b%4 == 3 {
				e.key = ""
			}
			if st.txn != 0 {
				e.value = fmt.Sprintf("x%d-%d", lane, a%8)
			}
			p, off := st.producer, st.next
			emit(func(h *History) { h.Send(p, "t", e.key, e.value) })
			switch {
			case b&0x30 == 0x10 && st.txn == 0:
				emit(func(h *History) { h.Ack(p, "t", part, -1, e.key, e.value) }) // acks=0
			case b&0x30 == 0x20:
				emit(func(h *History) { h.Unknown(p, "t", e.key, e.value, nil) }) // written, the ack lost
			case b&0xc0 == 0xc0:
				emit(func(h *History) { h.Fail(p, "t", e.key, e.value, nil) })
				continue
			default:
				emit(func(h *History) { h.Ack(p, "t", part, off, e.key, e.value) })
			}
			if b&0xc0 == 0x40 && off > 0 {
				off-- // a failover reused the offset
				steps[len(steps)-1] = step{lane, func(h *History) { h.Ack(p, "t", part, off, e.key, e.value) }}
			}
			st.log[off], st.last = e, e
			st.next = max(st.next, off+1)
		case 2: // begin, or end, a transaction
			p := st.producer
			if st.txn == 0 {
				st.txns++
				st.txn = st.txns
				st.open[st.txn] = true
				emit(func(h *History) { h.BeginTxn(p) })
				continue
			}
			commit := a&1 == 0
			if a&2 != 0 {
				emit(func(h *History) { h.EndingTxn(p) })
			}
			emit(func(h *History) { h.EndTxn(p, commit) })
			st.aborted[st.txn] = !commit
			delete(st.open, st.txn)
			st.txn = 0
			st.next++ // the marker
		case 3, 4: // a poll of up to three records by one group's consumer
			g := int(a) % 2
			cs := &st.cons[g]
			if b&2 != 0 {
				cs.pos = max(cs.pos-2, 0) // went back
			}
			var recs []Record
			skipped := b&1 == 0
			for off := cs.pos; off < st.next && len(recs) < 1+int(a/2)%3; off++ {
				e, ok := st.log[off]
				if !ok {
					continue // a marker
				}
				if g == 0 && e.txn != 0 && (st.aborted[e.txn] || st.open[e.txn]) {
					if st.open[e.txn] && b&4 == 0 {
						break // the last stable offset
					}
					if st.open[e.txn] {
						recs = append(recs, Record{"t", part, off, e.key, e.value}) // read before the commit
					}
					continue
				}
				if !skipped && b&8 != 0 {
					skipped = true
					continue
				}
				recs = append(recs, Record{"t", part, off, e.key, e.value})
			}
			if len(recs) == 0 {
				continue
			}
			cs.pos = recs[len(recs)-1].Offset + 1
			if b&16 != 0 && b&32 != 0 {
				slices.Reverse(recs) // out of offset order within the poll
			}
			c, gen, rc := cs.name, cs.gen, g == 0
			emit(func(h *History) { h.Poll(c, fmt.Sprint("g", g+1), gen, rc, recs) })
		case 5: // the broker's log, sometimes with another value
			off := int64(a) % (st.next + 1)
			e, ok := st.log[off]
			if b&1 != 0 {
				e, ok = logEntry{key: "k0", value: fmt.Sprint("v", b%6)}, true
			}
			if ok {
				emit(func(h *History) { h.Stored("t", part, off, e.key, e.value) })
			}
		case 6: // a rebalance: a new generation from another offset
			g := int(a) % 2
			cs := &st.cons[g]
			cs.gen++
			cs.pos = int64(b) % (st.next + 1)
			c, gen, pos := cs.name, cs.gen, cs.pos
			emit(func(h *History) { h.Commit(fmt.Sprint("g", g+1), c, gen, "t", part, pos) })
		case 7: // chaos: a retry duplicate, a stray read, a deletion, or two sends stored swapped
			switch b % 4 {
			case 0:
				if st.last.value == "" {
					continue
				}
				e, p, off := st.last, st.producer, st.next
				e.txn = st.txn
				st.log[off], st.next = e, off+1
				emit(func(h *History) { h.Ack(p, "t", part, off, e.key, e.value) })
			case 1:
				c, v := st.cons[a%2].name, fmt.Sprint("v", a%6)
				gen, rc := st.cons[a%2].gen, a%2 == 0
				emit(func(h *History) {
					h.Poll(c, fmt.Sprint("g", a%2+1), gen, rc, []Record{{"t", part, int64(a % 16), "k1", v}})
				})
			case 2:
				start := int64(a) % (st.next + 1)
				emit(func(h *History) { h.Deleted("t", part, start) })
			case 3:
				p, off, k := st.producer, st.next, fmt.Sprint("k", a%3)
				first, second := logEntry{k, fmt.Sprint("v", a%6), st.txn}, logEntry{k, fmt.Sprint("v", (a+1)%6), st.txn}
				if st.txn != 0 {
					first.value, second.value = fmt.Sprintf("x%d-%d", lane, a%8), fmt.Sprintf("x%d-%d", lane, (a+1)%8)
				}
				emit(func(h *History) {
					h.Send(p, "t", first.key, first.value)
					h.Send(p, "t", second.key, second.value)
					h.Ack(p, "t", part, off, second.key, second.value) // the first batch was retried
					h.Ack(p, "t", part, off+1, first.key, first.value)
				})
				st.log[off], st.log[off+1], st.last = second, first, first
				st.next = off + 2
			}
		}
	}
	return steps
}

// historyOf replays steps in order.
func historyOf(steps []step) *History {
	h := NewHistory()
	for _, s := range steps {
		s.do(h)
	}
	return h
}

// interleaved is steps with the lanes interleaved at random, each lane's
// own order kept.
func interleaved(steps []step, rng *rand.Rand) []step {
	var byLane [lanes][]step
	for _, s := range steps {
		byLane[s.lane] = append(byLane[s.lane], s)
	}
	out := make([]step, 0, len(steps))
	for len(out) < len(steps) {
		l := rng.IntN(lanes)
		if len(byLane[l]) > 0 {
			out = append(out, byLane[l][0])
			byLane[l] = byLane[l][1:]
		}
	}
	return out
}

func withoutSeq(r Report) map[Anomaly][]Finding {
	out := map[Anomaly][]Finding{}
	for a, fs := range r.Findings {
		for _, f := range fs {
			f.Seq = 0
			out[a] = append(out[a], f)
		}
	}
	return out
}

// fuzzSeed is a history with transactions, skips, rebalances, stray reads
// and values in several partitions.
func fuzzSeed() []byte {
	var b []byte
	for i := range 120 {
		b = append(b, byte(i*7+i/3), byte(i*13+5), byte(i*29+i/5))
	}
	return b
}

func FuzzCheck(f *testing.F) {
	f.Add(fuzzSeed())
	f.Add([]byte{0, 0, 1, 3, 0, 1, 9, 1, 2, 12, 0, 9, 6, 0, 2, 9, 2, 3, 12, 1, 2})
	f.Add([]byte{6, 0, 0, 0, 1, 2, 3, 3, 3, 9, 0, 8, 21, 0, 3, 15, 1, 2, 18, 0, 5, 6, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		steps := decodeSteps(data)
		h := historyOf(steps)
		opts := []Option{ConsumedBy("g1", "g2")}
		r := Check(h, opts...)
		_ = r.String()
		_ = message("exactly-once", r, Anomalies)
		require.Equal(t, r, Check(h, opts...), "a second Check of one history differs")

		hash := fnv.New64a()
		hash.Write(data)
		rng := rand.New(rand.NewPCG(hash.Sum64(), 1))
		for range 3 {
			r2 := Check(historyOf(interleaved(steps, rng)), opts...)
			require.Equal(t, r.Events, r2.Events)
			if d := cmp.Diff(withoutSeq(r), withoutSeq(r2)); d != "" {
				t.Fatalf("report changed when independent events were interleaved differently (-generated +interleaved):\n%s", d)
			}
		}
	})
}

// mixedHistory builds about n events of a realistic mix: three keyed
// producers on eight partitions, one of them transactional (every fourth
// transaction aborts), and two groups reading every record in polls of
// up to eight records, one read_committed and one read_uncommitted.
func mixedHistory(n int) *History {
	const parts = 8
	h := NewHistory()
	var next [parts]int64 // each partition's log end
	type pending struct {
		rec     Record
		aborted bool
	}
	var unread []pending
	keys := [...]string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"}
	flush := func() {
		for g, group := range [...]string{"committed", "uncommitted"} {
			consumer := fmt.Sprint(group, "-", 1)
			for i := 0; i < len(unread); i += 8 {
				batch := make([]Record, 0, 8)
				for _, u := range unread[i:min(i+8, len(unread))] {
					if g == 1 || !u.aborted {
						batch = append(batch, u.rec)
					}
				}
				h.Poll(consumer, group, 1, g == 0, batch)
			}
		}
		unread = unread[:0]
	}
	for i := 0; h.Len() < n; i++ {
		producer := fmt.Sprint("p", i%3)
		txn := i%3 == 2
		if txn {
			h.BeginTxn(producer)
		}
		for j := range 4 {
			part := int32((i*4 + j) % parts)
			v := fmt.Sprint(producer, "-", i, "-", j)
			k := keys[(i+j)%len(keys)]
			h.Send(producer, "t", k, v)
			h.Ack(producer, "t", part, next[part], k, v)
			unread = append(unread, pending{rec: Record{"t", part, next[part], k, v}})
			next[part]++
		}
		if txn {
			commit := i%4 != 2
			h.EndingTxn(producer)
			h.EndTxn(producer, commit)
			for j := len(unread) - 4; j < len(unread); j++ {
				unread[j].aborted = !commit
			}
			for p := range next {
				next[p]++ // the transaction marker
			}
		}
		if len(unread) >= 64 {
			flush()
		}
	}
	flush()
	return h
}

// BenchmarkCheck measures Check on mixed histories of two sizes: events/s
// is the throughput, B/event shows memory is linear in the history.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{250_000, 1_000_000} {
		b.Run(fmt.Sprint(n/1000, "k"), func(b *testing.B) {
			h := mixedHistory(n)
			events := h.Len()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				r := Check(h, ConsumedBy("committed", "uncommitted"))
				if r.Events != events {
					b.Fatalf("checked %d events, want %d", r.Events, events)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(events)/float64(b.N), "B/event")
		})
	}
}
