package assertions

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingT captures assertion failures.
type recordingT struct{ msgs []string }

func (r *recordingT) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

var _ assert.TestingT = (*recordingT)(nil)

// goldenHistory: k's x, y, z at t[0]@0-2, y never read (c jumped from 0
// to 2 in generation 0), and w0..w5 at t[1]@0-5 of which only w6 at 6
// was read.
func goldenHistory() *History {
	h := NewHistory()
	for i, v := range []string{"x", "y", "z"} {
		h.Send("p", "t", "k", v)
		h.Ack("p", "t", 0, int64(i), "k", v)
	}
	for i := range 7 {
		v := fmt.Sprint("w", i)
		h.Send("p", "t", "", v)
		h.Ack("p", "t", 1, int64(i), "", v)
	}
	h.Poll("c", "g", 0, false, []Record{{"t", 0, 0, "k", "x"}})
	h.Poll("c", "g", 0, false, []Record{{"t", 0, 2, "k", "z"}, {"t", 1, 6, "", "w6"}})
	return h
}

// The failure message format, pinned: each anomaly with its count, the
// first five records as -want +got rows (every field shown, zeros too),
// how many more, and the hint.
func TestFailureMessage(t *testing.T) {
	const want = "at-least-once violated in 23 history events:\n" +
		"lost-write: 7 record(s) (first 5; -want +got):\n" +
		"  []assertions.row{\n" +
		"  	{\n" +
		"  		Record: `t[0]@1 key=\"k\" value=\"y\" acked by p`,\n" +
		"- 		Is:     `value \"y\" acknowledged at t[0]@1 readable`,\n" +
		"+ 		Is:     \"absent: consumers read past it\",\n" +
		"  	},\n" +
		"  	{\n" +
		"  		Record: `t[1]@0 key=\"\" value=\"w0\" acked by p`,\n" +
		"- 		Is:     `value \"w0\" acknowledged at t[1]@0 readable`,\n" +
		"+ 		Is:     \"absent: consumers read past it\",\n" +
		"  	},\n" +
		"  	{\n" +
		"  		Record: `t[1]@1 key=\"\" value=\"w1\" acked by p`,\n" +
		"- 		Is:     `value \"w1\" acknowledged at t[1]@1 readable`,\n" +
		"+ 		Is:     \"absent: consumers read past it\",\n" +
		"  	},\n" +
		"  	{\n" +
		"  		Record: `t[1]@2 key=\"\" value=\"w2\" acked by p`,\n" +
		"- 		Is:     `value \"w2\" acknowledged at t[1]@2 readable`,\n" +
		"+ 		Is:     \"absent: consumers read past it\",\n" +
		"  	},\n" +
		"  	{\n" +
		"  		Record: `t[1]@3 key=\"\" value=\"w3\" acked by p`,\n" +
		"- 		Is:     `value \"w3\" acknowledged at t[1]@3 readable`,\n" +
		"+ 		Is:     \"absent: consumers read past it\",\n" +
		"  	},\n" +
		"  }\n" +
		"... and 2 more\n" +
		"hint: " + "acknowledged writes are not in the log: acks=0/1 (or unclean.leader.election.enable=true) lose what followers had not copied when the leader failed; use acks=all with min.insync.replicas>=2\n" +
		"poll-skip: 1 record(s) (first 1; -want +got):\n" +
		"  []assertions.row{\n" +
		"  	{\n" +
		"  		Record: `t[0]@2 key=\"k\" value=\"z\" polled by c gen 0`,\n" +
		"- 		Is:     \"next offset 1\",\n" +
		"+ 		Is:     \"offset 2\",\n" +
		"  	},\n" +
		"  }\n" +
		"hint: " + "a consumer jumped over records within a generation: a seek in the application, or auto.offset.reset after OFFSET_OUT_OF_RANGE (retention deleted its position)\n"

	got := message("at-least-once", Check(goldenHistory()), AtLeastOnceForbids)
	// go-cmp randomly indents with non-breaking spaces so that no one
	// depends on its exact output; this test does, on purpose.
	got = strings.ReplaceAll(got, "\u00a0", " ")
	assert.Equal(t, want, got)
}

func TestAssertions(t *testing.T) {
	h := goldenHistory()
	rt := &recordingT{}
	require.False(t, NoLostWrites(rt, h, "checking %s", "orders"))
	msg := strings.Join(rt.msgs, "\n")
	for _, want := range []string{"no lost writes violated", "lost-write: 7 record(s)", "checking orders"} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "poll-skip", "NoLostWrites reports only lost writes")

	assert.True(t, AtMostOnce(t, h), "no duplicates in the history")
	assert.False(t, AtLeastOnce(rt, h))
	assert.False(t, ExactlyOnce(rt, h))
	assert.False(t, ConsumedAll(rt, h))
	for name, ok := range map[string]func(assert.TestingT, Subject, ...any) bool{
		"NoDuplicates": NoDuplicates, "OrderedPerPartition": OrderedPerPartition, "OrderedPerKey": OrderedPerKey,
		"ConsumedAll": ConsumedAll, "ExactlyOnce": ExactlyOnce, "AtLeastOnce": AtLeastOnce, "AtMostOnce": AtMostOnce,
	} {
		assert.True(t, ok(t, clean()), "%s failed on a clean history", name)
	}
}

// Every anomaly has a one-line hint naming what to change.
func TestHints(t *testing.T) {
	for _, a := range Anomalies {
		h := hints[a]
		assert.NotEmpty(t, h, "%s has no hint", a)
		assert.NotContains(t, h, "\n", "%s: one line", a)
		assert.Contains(t, h, ": ", "%s: the hint says what happened, then the cause", a)
	}
	assert.Len(t, hints, len(Anomalies))
}

// A History's explainer gives each finding a failure message shows its
// cause, under the diff; Report.Explain sets one on any report; without
// one, the message has no causes.
func TestFailureMessageCauses(t *testing.T) {
	explain := func(f Finding) string {
		if f.Anomaly != LostWrite {
			return ""
		}
		return fmt.Sprintf("dropped from %s with its tail", f.Value)
	}
	h := goldenHistory()
	if msg := message("at-least-once", h.report(), AtLeastOnceForbids); strings.Contains(msg, "cause:") {
		t.Fatalf("without an explainer:\n%s", msg)
	}
	h.SetExplainer(explain)
	msg := message("at-least-once", h.report(), AtLeastOnceForbids)
	want := "... and 2 more\ncause:\n  t[0]@1: dropped from y with its tail\n  t[1]@0: dropped from w0 with its tail\n" +
		"  t[1]@1: dropped from w1 with its tail\n  t[1]@2: dropped from w2 with its tail\n  t[1]@3: dropped from w3 with its tail\nhint: "
	if !strings.Contains(msg, want) {
		t.Fatalf("with an explainer, want %q in:\n%s", want, msg)
	}
	// Only the anomalies it explains get a cause.
	if strings.Count(msg, "cause:") != 1 {
		t.Errorf("%d cause sections:\n%s", strings.Count(msg, "cause:"), msg)
	}
	r := Check(goldenHistory()).Explain(explain)
	f := r.Findings[LostWrite][0]
	if got := r.Cause(f); got != "dropped from y with its tail" {
		t.Errorf("Report.Cause = %q", got)
	}
	if got := (Report{}).Cause(f); got != "" {
		t.Errorf("Cause without an explainer = %q", got)
	}
}
