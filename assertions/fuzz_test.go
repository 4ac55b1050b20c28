package assertions

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzOp is one generated operation, bound to one partition so that ops
// of different partitions are independent.
type fuzzOp struct {
	part int32
	kind byte
	off  int64
	val  string
}

func decodeOps(data []byte) []fuzzOp {
	var ops []fuzzOp
	for i := 0; i+2 < len(data) && len(ops) < 500; i += 3 {
		ops = append(ops, fuzzOp{part: int32(data[i] % 2), kind: data[i+1] % 4, off: int64(data[i+2] % 16), val: fmt.Sprint("v", data[i+2]%8)})
	}
	return ops
}

func historyOf(ops []fuzzOp) *History {
	h := NewHistory()
	for _, o := range ops {
		// Each partition has its own producer and consumer.
		p, c := fmt.Sprint("p", o.part), fmt.Sprint("c", o.part)
		switch o.kind {
		case 0:
			h.Send(p, "t", "k", o.val+p)
		case 1:
			h.Ack(p, "t", o.part, o.off, "k", o.val+p)
		case 2:
			h.Poll(c, "g", 1, true, []Record{{"t", o.part, o.off, "k", o.val + p}})
		case 3:
			h.Stored("t", o.part, o.off, "k", o.val+p)
		}
	}
	return h
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

func FuzzCheck(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 1, 1, 1, 2, 1, 0, 1, 3, 1, 2, 3})
	f.Add([]byte{0, 1, 2, 0, 2, 3, 1, 1, 2, 1, 2, 2, 0, 3, 7})
	f.Fuzz(func(t *testing.T, data []byte) {
		ops := decodeOps(data)
		r := Check(historyOf(ops))
		_ = r.String()
		// The same ops with the partitions' events regrouped: independent
		// events reordered, same report.
		regrouped := slices.Clone(ops)
		slices.SortStableFunc(regrouped, func(a, b fuzzOp) int { return int(a.part - b.part) })
		r2 := Check(historyOf(regrouped))
		if d := cmp.Diff(withoutSeq(r), withoutSeq(r2)); d != "" {
			t.Fatalf("report changed when independent events were reordered (-interleaved +regrouped):\n%s", d)
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	const n = 1_000_000
	h := NewHistory()
	for i := 0; len(h.events) < n; i++ {
		part := int32(i % 8)
		v := fmt.Sprint("v", i)
		h.Send("p", "t", "", v)
		h.Ack("p", "t", part, int64(i/8), "", v)
		h.Poll("c", "g", 1, true, []Record{{"t", part, int64(i / 8), "", v}})
	}
	evs := h.Events()
	b.ResetTimer()
	for b.Loop() {
		r := check(evs, checkConfig{})
		if len(r.Findings) != 0 {
			b.Fatalf("unexpected findings: %v", r)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
