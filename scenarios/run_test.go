package scenarios

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// The same seed replays the same run: the faults apply in the same order,
// the emulator makes the same random choices, and every expectation comes
// out the same way, the failing one included.
func TestSameSeedSameRun(t *testing.T) {
	const file = "testdata/run/every-other-verb.yaml"
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// expect is the file's last section: add an expectation that fails.
	s, err := Parse(file, append(text, "  - {acked: 0, producer: p1}\n"...))
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		applied  []string // faults applied, in order (undoing is timed, not triggered)
		replicas [][]int32
		held     []bool
		failed   string
	}
	var runs [2]outcome
	t.Run("runs", func(t *testing.T) {
		for i := range runs {
			t.Run("", func(t *testing.T) {
				t.Parallel()
				r := newRun(t, s, 77, false, "") // not the file's seed
				o := outcome{failed: r.execute(), held: r.held}
				for _, a := range r.applies {
					if !strings.HasPrefix(a, "undo ") {
						o.applied = append(o.applied, a)
					}
				}
				for p := int32(0); p < s.Topics[0].Partitions; p++ {
					st, err := r.c.Partition(s.Topics[0].Name, p)
					if err != nil {
						t.Fatal(err)
					}
					o.replicas = append(o.replicas, st.Replicas)
				}
				runs[i] = o
			})
		}
	})
	a, b := runs[0], runs[1]
	if len(a.applied) != len(s.Faults) || !slices.Equal(a.applied, b.applied) {
		t.Errorf("faults applied:\n%q\n%q\nwant each of the %d once, in the same order", a.applied, b.applied, len(s.Faults))
	}
	if !slices.EqualFunc(a.replicas, b.replicas, slices.Equal) {
		t.Errorf("replica placement %v, then %v", a.replicas, b.replicas)
	}
	want := make([]bool, len(s.Expect))
	for i := range want {
		want[i] = i < len(want)-1 // all but the added one
	}
	if !slices.Equal(a.held, want) || !slices.Equal(b.held, want) {
		t.Errorf("expectations held %v, then %v; want %v\nfirst run: %s\nsecond run: %s", a.held, b.held, want, a.failed, b.failed)
	}
	if !strings.Contains(a.failed, "expected acked == 0 (producer p1): got 400") || !strings.Contains(b.failed, "expected acked == 0 (producer p1): got 400") {
		t.Errorf("verdicts:\n%s\n%s", a.failed, b.failed)
	}
}

// TestMayCrash: the members a scenario may crash (crash_after, a
// crash-consumer fault) are the ones that join a real cluster with their
// file's session as it is (sessionOpts); the others keep a live session.
func TestMayCrash(t *testing.T) {
	s, err := Parse("lesson.yaml", []byte(`name: x
cluster: {brokers: 1}
topics: [{name: orders, partitions: 2, replicas: 1}, {name: out, partitions: 1, replicas: 1}]
workload:
  producers: [{name: p, topic: orders, records: 10}]
  consumers:
    - {name: c1, group: g, topics: [orders], crash_after: 5, session_timeout: 300ms}
    - {name: c2, group: g, topics: [orders], session_timeout: 300ms}
    - {name: c3, group: h, topics: [orders], session_timeout: 300ms}
    - {name: c4, group: k, topics: [orders]}
  pipelines:
    - {name: w1, group: w, input: orders, output: out, crash_after: 3}
    - {name: w2, group: w, input: orders, output: out}
    - {name: w3, group: w, input: orders, output: out}
faults:
  - {after: 1s, do: crash-consumer, consumer: c3}
  - {after: 2s, do: crash-consumer, pipeline: w2}
  - {after: 3s, do: restart-consumer, consumer: c4}
expect:
  - {lost-write: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(t, s, 1, false, "")
	want := map[string]bool{"c1": true, "c2": false, "c3": true, "c4": false, "w1": true, "w2": true, "w3": false}
	for name, crash := range want {
		if got := r.mayCrash(name); got != crash {
			t.Errorf("mayCrash(%s) = %v, want %v", name, got, crash)
		}
	}
}
