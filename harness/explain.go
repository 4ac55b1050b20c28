package harness

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/timeline"
)

// Explanation is a finding of the checker with its cause, read from the
// cluster's journal.
type Explanation struct {
	assertions.Finding
	// Cause tells the story: for a lost write, the append that
	// acknowledged it, what kept the followers from copying it, and the
	// truncation that dropped it; "" when the journal shows no cause.
	Cause string
	// Seq is the journal event at the heart of the cause (the truncation,
	// the dropped response, the commit, the abort); 0 if none.
	Seq int64
}

// Explain explains every finding of r from the cluster's journal:
//
//   - lost-write: the truncation (dropped un-replicated tail) that
//     removed the write, the append that had acknowledged it with its
//     acks, and the fault that kept the followers from copying it
//     (replication paused, a follower paused or down, a network
//     partition, an isolated and fenced leader);
//   - inconsistent-offsets: every write that got the offset, and the
//     truncation that let it be handed out again;
//   - duplicate: the dropped response (or refused produce) between a
//     batch and its retry, which wrote it twice;
//   - poll-skip, int-poll-skip, unseen: the commit that moved the group
//     past the record, or the fetch whose position jumped over it (an
//     offset reset), or a truncation under the fetch;
//   - G1a, precommitted-read: the transaction that wrote the record, its
//     abort (or its commit after the read), and the fetch's isolation
//     level;
//   - redelivered: the group's last commit below the record and the
//     rebalance after it.
//
// The cluster's History explains its reports this way (failure messages
// show each cause); Marks draws them on the timeline.
func (c *Cluster) Explain(r assertions.Report) []Explanation {
	return explainJournal(c.Journal(), r)
}

// Marks is r's findings as marks for a timeline page, each at its
// offset with its cause.
func (c *Cluster) Marks(r assertions.Report) []timeline.Mark {
	return marks(explainJournal(c.Journal(), r))
}

// WriteTimeline writes the cluster's journal as a timeline page
// (package timeline), titled with the test's name and the seed, with r's
// anomalies marked on their partitions and explained.
func (c *Cluster) WriteTimeline(w io.Writer, r assertions.Report) error {
	evs := c.Journal()
	title := fmt.Sprintf("%s (kafkaemu seed %d)", c.tb.Name(), c.Seed())
	return timeline.Page{Title: title, Events: evs, Marks: marks(explainJournal(evs, r))}.WriteHTML(w)
}

func marks(xs []Explanation) []timeline.Mark {
	out := make([]timeline.Mark, 0, len(xs))
	for _, x := range xs {
		text := x.Detail
		if x.Cause != "" {
			text = x.Cause
		}
		out = append(out, timeline.Mark{Anomaly: string(x.Anomaly), Topic: x.Topic, Partition: x.Partition, Offset: x.Offset, Seq: x.Seq, Text: text})
	}
	return out
}

// explainJournal explains every finding of r, in report order.
func explainJournal(evs []fake.Event, r assertions.Report) []Explanation {
	x := newExplainer(evs)
	var out []Explanation
	for _, a := range assertions.Anomalies {
		for _, f := range r.Findings[a] {
			cause, seq := x.explain(f)
			out = append(out, Explanation{Finding: f, Cause: cause, Seq: seq})
		}
	}
	return out
}

// explainer answers questions about one journal.
type explainer struct {
	evs   []fake.Event
	parts map[partKey][]int // indexes of each partition's events
}

type partKey struct {
	topic string
	part  int32
}

func newExplainer(evs []fake.Event) *explainer {
	x := &explainer{evs: evs, parts: map[partKey][]int{}}
	for i, e := range evs {
		if e.Topic != "" {
			k := partKey{e.Topic, e.Partition}
			x.parts[k] = append(x.parts[k], i)
		}
	}
	return x
}

// explainFunc is an assertions.Explainer over the journal read at each
// call (the cluster goes on).
func (c *Cluster) explainFunc(f assertions.Finding) string {
	cause, _ := newExplainer(c.Journal()).explain(f)
	return cause
}

// at is an event's time since the journal's first event.
func (x *explainer) at(i int) string {
	if len(x.evs) == 0 {
		return ""
	}
	return "+" + strconv.FormatFloat(float64(x.evs[i].Time.Sub(x.evs[0].Time).Microseconds())/1000, 'f', 3, 64) + "ms"
}

// ref names event i: its time and number.
func (x *explainer) ref(i int) string { return fmt.Sprintf("%s (#%d)", x.at(i), x.evs[i].Seq) }

func (x *explainer) explain(f assertions.Finding) (string, int64) {
	switch f.Anomaly {
	case assertions.LostWrite:
		return x.lost(f)
	case assertions.InconsistentOffsets:
		return x.inconsistent(f)
	case assertions.Duplicate:
		return x.duplicate(f)
	case assertions.PollSkip, assertions.IntPollSkip, assertions.Unseen:
		return x.skipped(f)
	case assertions.G1a, assertions.PrecommittedRead:
		return x.aborted(f)
	case assertions.Redelivered:
		return x.redelivered(f)
	}
	return "", 0
}

func covers(e *fake.Event, off int64) bool { return e.Offset <= off && off <= e.LastOffset }

// isAppend reports whether e is an append (not a note about one).
func isAppend(e *fake.Event) bool {
	return e.Kind == fake.EventAppend && (e.Detail == "" || e.Detail == "un-replicated")
}

// appendOf is the index of the last append of f's offset (the one that
// holds f's value, if the journal kept the records), before index
// before; -1 if none.
func (x *explainer) appendOf(f assertions.Finding, before int) int {
	idx := x.parts[partKey{f.Topic, f.Partition}]
	found := -1
	for _, i := range idx {
		if i >= before {
			break
		}
		e := &x.evs[i]
		if !isAppend(e) || !covers(e, f.Offset) {
			continue
		}
		if len(e.Records) > 0 && f.Value != "" {
			for _, r := range e.Records {
				if r.Offset == f.Offset && r.Value == f.Value {
					return i // this very write
				}
			}
		}
		found = i
	}
	return found
}

// lost: the truncation that dropped the write.
func (x *explainer) lost(f assertions.Finding) (string, int64) {
	idx := x.parts[partKey{f.Topic, f.Partition}]
	a := x.appendOf(f, len(x.evs))
	trunc := -1
	for _, i := range idx {
		e := &x.evs[i]
		if e.Kind == fake.EventTruncate && covers(e, f.Offset) && i > a {
			trunc = i
			break
		}
	}
	if trunc < 0 && a >= 0 {
		// The append may be a later write at the reused offset: the
		// truncation came before it.
		for _, i := range idx {
			if e := &x.evs[i]; e.Kind == fake.EventTruncate && covers(e, f.Offset) {
				trunc = i
				break
			}
		}
		if trunc >= 0 {
			a = x.appendOf(f, trunc)
		}
	}
	var b strings.Builder
	if a >= 0 {
		e := &x.evs[a]
		fmt.Fprintf(&b, "acknowledged with acks=%d by broker %d at %s", e.Acks, e.Broker, x.ref(a))
		if e.Detail == "un-replicated" {
			b.WriteString(", before any follower copied it")
			if why := x.notCopied(f.Topic, f.Partition, a); why != "" {
				b.WriteString(": " + why)
			}
		}
	}
	if trunc < 0 {
		if b.Len() == 0 {
			return "", 0
		}
		fmt.Fprintf(&b, "; the journal shows no truncation of offset %d", f.Offset)
		return b.String(), x.evs[a].Seq
	}
	t := &x.evs[trunc]
	if b.Len() > 0 {
		b.WriteString("; ")
	}
	fmt.Fprintf(&b, "dropped at %s with the un-replicated tail %d..%d", x.ref(trunc), t.Offset, t.LastOffset)
	if t.Detail != "" {
		fmt.Fprintf(&b, " (%s)", t.Detail)
	}
	if l := x.nextLeader(idx, trunc); l >= 0 {
		fmt.Fprintf(&b, "; broker %d leads from epoch %d", x.evs[l].Leader, x.evs[l].Epoch)
	}
	return b.String(), t.Seq
}

// inconsistent: the writes that got the same offset, and the truncation
// between them.
func (x *explainer) inconsistent(f assertions.Finding) (string, int64) {
	idx := x.parts[partKey{f.Topic, f.Partition}]
	var writes []string
	trunc, last := -1, -1
	for _, i := range idx {
		e := &x.evs[i]
		switch {
		case isAppend(e) && covers(e, f.Offset):
			writes = append(writes, fmt.Sprintf("broker %d (acks=%d, %s) at %s", e.Broker, e.Acks, e.Client, x.ref(i)))
			last = i
		case e.Kind == fake.EventTruncate && covers(e, f.Offset) && trunc < 0:
			trunc = i
		}
	}
	if len(writes) < 2 {
		return x.lost(f)
	}
	s := fmt.Sprintf("offset %d was handed out %d times: by %s", f.Offset, len(writes), strings.Join(writes, ", then by "))
	if trunc < 0 {
		return s, x.evs[last].Seq
	}
	t := &x.evs[trunc]
	s += fmt.Sprintf("; the tail %d..%d was dropped at %s", t.Offset, t.LastOffset, x.ref(trunc))
	if t.Detail != "" {
		s += " (" + t.Detail + ")"
	}
	return s, t.Seq
}

// notCopied says what kept the followers of topic[part] from copying
// at event a: the latest fault still in force then.
func (x *explainer) notCopied(topic string, part int32, a int) string {
	pausedPart, pausedFollower, down, isolated, fenced := -1, map[int32]int{}, map[int32]int{}, map[string]int{}, map[int32]int{}
	for i := 0; i < a; i++ {
		e := &x.evs[i]
		switch e.Kind {
		case fake.EventReplication:
			switch {
			case e.Topic == topic && e.Partition == part:
				pausedPart = map[bool]int{true: i, false: -1}[strings.HasSuffix(e.Detail, "paused")]
			case e.Topic == "" && strings.HasSuffix(e.Detail, "paused"):
				pausedFollower[e.Broker] = i
			case e.Topic == "":
				delete(pausedFollower, e.Broker)
			}
		case fake.EventBrokerDown:
			down[e.Broker] = i
		case fake.EventBrokerUp:
			delete(down, e.Broker)
		case fake.EventBrokerFenced:
			fenced[e.Broker] = i
		case fake.EventUnfence:
			delete(fenced, e.Broker)
		case fake.EventFaultAdded:
			if strings.HasPrefix(e.Detail, "network-partition") || strings.HasPrefix(e.Detail, "isolate") {
				isolated[e.Detail] = i
			}
		case fake.EventFaultRemoved:
			for d := range isolated {
				if e.Detail == d || strings.HasPrefix(e.Detail, d+" ") {
					delete(isolated, d)
				}
			}
		}
	}
	var why []string
	if pausedPart >= 0 {
		why = append(why, fmt.Sprintf("replication of %s[%d] was paused at %s", topic, part, x.ref(pausedPart)))
	}
	for b, i := range pausedFollower {
		why = append(why, fmt.Sprintf("broker %d stopped copying as a follower at %s", b, x.ref(i)))
	}
	for b, i := range down {
		why = append(why, fmt.Sprintf("broker %d was down since %s", b, x.ref(i)))
	}
	for d, i := range isolated {
		why = append(why, fmt.Sprintf("fault %q was in force since %s", d, x.ref(i)))
	}
	if i, ok := fenced[x.evs[a].Broker]; ok {
		why = append(why, fmt.Sprintf("broker %d had been fenced by the controller at %s and acknowledged from its stale view, at offsets the new leader also hands out", x.evs[a].Broker, x.ref(i)))
	}
	slices.Sort(why) // map order: keep the message stable
	return strings.Join(why, "; ")
}

// nextLeader is the first leader change of the partition at or after
// event i; -1 if none.
func (x *explainer) nextLeader(idx []int, i int) int {
	for _, j := range idx {
		if j >= i && x.evs[j].Kind == fake.EventLeaderChange {
			return j
		}
	}
	return -1
}

// duplicate: the dropped response between a batch and its retry.
func (x *explainer) duplicate(f assertions.Finding) (string, int64) {
	second := x.appendOf(f, len(x.evs))
	if second < 0 {
		return "", 0
	}
	e2 := &x.evs[second]
	other := int64(-1)
	if _, o, ok := strings.Cut(f.Detail, "@"); ok {
		other, _ = strconv.ParseInt(o, 10, 64)
	}
	first := -1
	for i := second - 1; i >= 0; i-- {
		e := &x.evs[i]
		if isAppend(e) && e.Topic == e2.Topic && e.Partition == e2.Partition && e.Client == e2.Client &&
			(covers(e, other) || other < 0 && e.LastOffset-e.Offset == e2.LastOffset-e2.Offset) {
			first = i
			break
		}
	}
	if first < 0 {
		return fmt.Sprintf("written again at %d by %s at %s; the journal shows no earlier write of that batch", f.Offset, e2.Client, x.ref(second)), e2.Seq
	}
	e1 := &x.evs[first]
	// A dropped response is journaled when its request arrives, before
	// the write: look from the client's write before.
	lo := 0
	for i := first - 1; i >= 0; i-- {
		if e := &x.evs[i]; isAppend(e) && e.Client == e1.Client {
			lo = i + 1
			break
		}
	}
	for i := lo; i < second; i++ {
		e := &x.evs[i]
		if e.Kind == fake.EventFaultHit && (e.Client == "" || e.Client == e1.Client) && strings.Contains(e.Detail, "Produce") {
			return fmt.Sprintf("fault %q took the answer to %s's write of %d..%d at %s (written at %s), and its retry wrote the batch again at %d..%d at %s (no enable.idempotence to deduplicate it)",
				e.Detail, e1.Client, e1.Offset, e1.LastOffset, x.ref(i), x.ref(first), e2.Offset, e2.LastOffset, x.ref(second)), e.Seq
		}
		if e.Kind == fake.EventProduceRejected && i > first && e.Client == e1.Client && e.Topic == e1.Topic && e.Partition == e1.Partition {
			return fmt.Sprintf("%s wrote the batch at %d..%d at %s; the broker refused it at %s (%s) and the retry wrote it again at %d..%d at %s",
				e1.Client, e1.Offset, e1.LastOffset, x.ref(first), x.ref(i), e.Error, e2.Offset, e2.LastOffset, x.ref(second)), e.Seq
		}
	}
	return fmt.Sprintf("%s wrote the batch at %d..%d at %s and again at %d..%d at %s: a retry after an answer that never arrived (no enable.idempotence to deduplicate it)",
		e1.Client, e1.Offset, e1.LastOffset, x.ref(first), e2.Offset, e2.LastOffset, x.ref(second)), e2.Seq
}

// skipped: what moved a consumer or group past the record.
func (x *explainer) skipped(f assertions.Finding) (string, int64) {
	from := f.Offset // unseen: the record itself
	if n, ok := strings.CutPrefix(f.Want, "next offset "); ok {
		from, _ = strconv.ParseInt(n, 10, 64)
	}
	idx := x.parts[partKey{f.Topic, f.Partition}]
	for _, i := range idx {
		e := &x.evs[i]
		if e.Kind == fake.EventTruncate && e.Offset <= from && from <= e.LastOffset && f.Anomaly != assertions.Unseen {
			return fmt.Sprintf("the log changed under the fetch: offsets %d..%d were dropped at %s (%s)", e.Offset, e.LastOffset, x.ref(i), e.Detail), e.Seq
		}
	}
	for _, i := range idx {
		e := &x.evs[i]
		if e.Kind == fake.EventOffsetCommit && e.Error == "" && e.Offset > from && (f.Anomaly == assertions.Unseen || e.Offset <= f.Offset) {
			return fmt.Sprintf("group %s committed offset %d at %s (client %s), past offset %d that it had not processed; its next owner started from the commit",
				e.Group, e.Offset, x.ref(i), e.Client, from), e.Seq
		}
	}
	for _, i := range idx {
		e := &x.evs[i]
		if e.Kind == fake.EventFetch && e.Offset > from && e.Offset <= f.Offset && (f.Who == "" || e.Client == f.Who) {
			return fmt.Sprintf("%s fetched from offset %d at %s while offset %d was next: its position was reset (auto.offset.reset or a seek)",
				e.Client, e.Offset, x.ref(i), from), e.Seq
		}
	}
	return "", 0
}

// aborted: the transaction that wrote the record and how it ended.
func (x *explainer) aborted(f assertions.Finding) (string, int64) {
	a := x.appendOf(f, len(x.evs))
	if a < 0 || !x.evs[a].Transactional {
		return "", 0
	}
	e := &x.evs[a]
	var b strings.Builder
	fmt.Fprintf(&b, "written by transactional producer %d/%d (%s) at %s", e.ProducerID, e.ProducerEpoch, e.Client, x.ref(a))
	end := -1
	for i := a + 1; i < len(x.evs); i++ {
		if t := &x.evs[i]; t.Kind == fake.EventTxnEnd && t.ProducerID == e.ProducerID {
			end = i
			break
		}
	}
	iso := "read_uncommitted"
	if strings.HasPrefix(f.Detail, "read_committed") {
		iso = "read_committed"
	}
	for _, i := range x.parts[partKey{f.Topic, f.Partition}] {
		if fe := &x.evs[i]; i > a && fe.Kind == fake.EventFetch && covers(fe, f.Offset) && (f.Who == "" || fe.Client == f.Who) {
			iso = map[bool]string{true: "read_committed", false: "read_uncommitted"}[fe.ReadCommitted]
			fmt.Fprintf(&b, "; fetched by %s at %s", fe.Client, x.ref(i))
			break
		}
	}
	switch {
	case end < 0:
		b.WriteString("; the transaction never ended")
	case !x.evs[end].Committed:
		t := &x.evs[end]
		fmt.Fprintf(&b, "; the transaction aborted at %s (%s)", x.ref(end), t.Detail)
	default:
		fmt.Fprintf(&b, "; the transaction committed only at %s", x.ref(end))
	}
	fmt.Fprintf(&b, "; the consumer reads at %s", iso)
	if iso == "read_uncommitted" {
		b.WriteString(", which shows aborted records")
	}
	if end >= 0 {
		return b.String(), x.evs[end].Seq
	}
	return b.String(), e.Seq
}

// redelivered: the last commit below the record and the rebalance after.
func (x *explainer) redelivered(f assertions.Finding) (string, int64) {
	commit := -1
	for _, i := range x.parts[partKey{f.Topic, f.Partition}] {
		if e := &x.evs[i]; e.Kind == fake.EventOffsetCommit && e.Error == "" && e.Offset <= f.Offset {
			commit = i
		}
	}
	join := -1
	for i := max(commit, 0); i < len(x.evs); i++ {
		if e := &x.evs[i]; e.Kind == fake.EventGroup && strings.HasPrefix(e.Detail, "join") && e.Error == "" && (commit < 0 || e.Group == x.evs[commit].Group) {
			join = i
			break
		}
	}
	switch {
	case commit >= 0 && join >= 0:
		c := &x.evs[commit]
		return fmt.Sprintf("group %s had committed only offset %d at %s when it rebalanced to generation %d at %s: the new owner read from the commit again",
			c.Group, c.Offset, x.ref(commit), x.evs[join].Epoch, x.ref(join)), x.evs[join].Seq
	case join >= 0:
		return fmt.Sprintf("no commit covered it when group %s rebalanced to generation %d at %s", x.evs[join].Group, x.evs[join].Epoch, x.ref(join)), x.evs[join].Seq
	}
	return "", 0
}

// WriteTimelineFile writes the timeline page (WriteTimeline) to path.
// A failed test then names this page in its log instead of writing one
// of its own.
func (c *Cluster) WriteTimelineFile(path string, r assertions.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := c.WriteTimeline(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	c.mu.Lock()
	c.page = path
	c.mu.Unlock()
	return nil
}

// failurePage writes the timeline page of a failed test to its artifact
// directory, with the anomalies of the cluster's History, and returns
// its path (or why there is none).
func (c *Cluster) failurePage(tb testing.TB) string {
	c.mu.Lock()
	page := c.page
	c.mu.Unlock()
	if page != "" {
		return page
	}
	dir := tb.ArtifactDir()
	if dir == "" {
		return "none (no artifact directory)"
	}
	path := filepath.Join(dir, "timeline.html")
	if err := c.WriteTimelineFile(path, assertions.Check(c.History())); err != nil {
		return fmt.Sprintf("none (%v)", err)
	}
	return path
}
