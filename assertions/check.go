package assertions

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Anomaly names a way delivery went wrong. The names are Jepsen's Kafka
// anomalies, plus reorder-per-key and redelivered.
type Anomaly string

const (
	// LostWrite: a write was acknowledged but no one ever read it,
	// although consumers read past its offset (or the broker's log, when
	// the history has it, does not hold it). Usually acks=0/1 (or
	// unclean.leader.election) and a leader failover. A write below a log
	// start the history records (History.Deleted) was deleted, not lost,
	// unless another value was read at its offset.
	LostWrite Anomaly = "lost-write"
	// Duplicate: one value is stored at two offsets. Usually a producer
	// retry without enable.idempotence after a lost response.
	Duplicate Anomaly = "duplicate"
	// Unseen: a write was acknowledged and readable but a group that
	// should consume it never polled it. Usually commit-before-process
	// (at-most-once) with a crash, a consumer that stopped early, or
	// records deleted (retention) before the group read them.
	Unseen Anomaly = "unseen"
	// PollSkip: within one generation, a consumer's next poll of a
	// partition jumped over a record it should have seen. Usually a
	// seek or an offset reset (auto.offset.reset=latest).
	PollSkip Anomaly = "poll-skip"
	// NonmonotonicPoll: within one generation, a consumer's next poll
	// of a partition went back to an earlier offset. Usually a seek or
	// a reset to committed offsets without a rebalance.
	NonmonotonicPoll Anomaly = "nonmonotonic-poll"
	// IntPollSkip is PollSkip within a single poll.
	IntPollSkip Anomaly = "int-poll-skip"
	// IntNonmonotonicPoll is NonmonotonicPoll within a single poll.
	IntNonmonotonicPoll Anomaly = "int-nonmonotonic-poll"
	// NonmonotonicSend: one producer's later send to a partition landed
	// at a lower offset than an earlier one. Usually
	// max.in.flight.requests > 1 without idempotence, plus a retry.
	NonmonotonicSend Anomaly = "nonmonotonic-send"
	// IntSendSkip: two consecutive sends of one transaction to one
	// partition are not adjacent: another record sits between them.
	// Kafka allows other producers to interleave, so this flags
	// concurrent writers to a partition a transaction assumed it owned.
	IntSendSkip Anomaly = "int-send-skip"
	// G1a (aborted read): a consumer saw a record of an aborted
	// transaction. A read_uncommitted consumer does by design (the finding
	// says which isolation level); for read_committed it is a broken
	// guarantee, usually a client that does not filter aborted records.
	G1a Anomaly = "G1a"
	// PrecommittedRead: a read_committed consumer saw a transactional
	// record before its transaction committed.
	PrecommittedRead Anomaly = "precommitted-read"
	// InconsistentOffsets: two different values at one offset. Usually
	// a leader failover that truncated acknowledged acks=0/1 writes and
	// reused their offsets.
	InconsistentOffsets Anomaly = "inconsistent-offsets"
	// ReorderPerKey: two values of one key were stored or consumed in
	// the opposite order of their sends. Usually retries with more than
	// one request in flight and no idempotence, or keys that moved
	// partitions.
	ReorderPerKey Anomaly = "reorder-per-key"
	// Redelivered: one group polled a value more than once (across
	// members or generations). At-least-once allows it; exactly-once
	// does not. Usually commit-after-process with a crash or a
	// rebalance before the commit.
	Redelivered Anomaly = "redelivered"
)

// Anomalies lists every anomaly kind, in report order.
var Anomalies = []Anomaly{LostWrite, Unseen, Duplicate, Redelivered, InconsistentOffsets, G1a, PrecommittedRead,
	PollSkip, NonmonotonicPoll, IntPollSkip, IntNonmonotonicPoll, NonmonotonicSend, IntSendSkip, ReorderPerKey}

// Finding is one record that shows an anomaly.
type Finding struct {
	Anomaly    Anomaly
	Topic      string
	Partition  int32
	Offset     int64
	Key        string
	Value      string
	Who        string // the producer or consumer concerned
	Generation int32
	Detail     string
	Seq        int64 // the history event that shows it
}

// Report is what Check found.
type Report struct {
	Events   int
	Findings map[Anomaly][]Finding
}

// Count is how many records show anomaly a.
func (r Report) Count(a Anomaly) int { return len(r.Findings[a]) }

// String lists each anomaly found with its first few records.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events checked", r.Events)
	any := false
	for _, a := range Anomalies {
		fs := r.Findings[a]
		if len(fs) == 0 {
			continue
		}
		any = true
		fmt.Fprintf(&b, "\n%s: %d", a, len(fs))
		for i, f := range fs {
			if i == 5 {
				fmt.Fprintf(&b, "\n  ... %d more", len(fs)-5)
				break
			}
			fmt.Fprintf(&b, "\n  %s", f)
		}
	}
	if !any {
		b.WriteString(", no anomalies")
	}
	return b.String()
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s[%d]@%d value %q", f.Topic, f.Partition, f.Offset, f.Value)
	if f.Key != "" {
		s += fmt.Sprintf(" key %q", f.Key)
	}
	if f.Who != "" {
		s += fmt.Sprintf(" by %s", f.Who)
		if f.Generation != 0 {
			s += fmt.Sprintf(" (generation %d)", f.Generation)
		}
	}
	if f.Detail != "" {
		s += ": " + f.Detail
	}
	return s
}

// Option configures Check.
type Option func(*checkConfig)

type checkConfig struct {
	consumedBy []string
	topics     []string
}

// Topics limits the check to events of these topics. A transactional
// read-process-write pipeline re-polls its input after an abort by design;
// its guarantee is judged on the output topic.
func Topics(topics ...string) Option {
	return func(c *checkConfig) { c.topics = append(c.topics, topics...) }
}

// ConsumedBy names the groups that must poll every acknowledged write; a
// write one of them never polled is Unseen. Without it, a write no
// consumer polled is Unseen.
func ConsumedBy(groups ...string) Option {
	return func(c *checkConfig) { c.consumedBy = append(c.consumedBy, groups...) }
}

type tp struct {
	topic string
	part  int32
}

type tpv struct {
	tp
	value string
}

type tpo struct {
	tp
	off int64
}

type txnState struct {
	ended     bool
	committed bool
	endSeq    int64
	endingSeq int64 // when the producer asked to end it, if recorded
}

// before reports whether seq comes before the transaction's end began.
func (st *txnState) before(seq int64) bool {
	if st.endingSeq > 0 {
		return seq < st.endingSeq
	}
	return !st.ended || seq < st.endSeq
}

// Check finds every anomaly in h.
func Check(h *History, opts ...Option) Report {
	var cfg checkConfig
	for _, o := range opts {
		o(&cfg)
	}
	evs := h.Events()
	if len(cfg.topics) > 0 {
		evs = slices.DeleteFunc(evs, func(e Event) bool {
			return e.Topic != "" && !slices.Contains(cfg.topics, e.Topic)
		})
	}
	return check(evs, cfg)
}

func check(evs []Event, cfg checkConfig) Report {
	r := Report{Events: len(evs), Findings: map[Anomaly][]Finding{}}
	add := func(f Finding) { r.Findings[f.Anomaly] = append(r.Findings[f.Anomaly], f) }

	n := len(evs)
	offsets := make(map[tpo]offsetInfo, n/2)
	txns := map[int64]*txnState{} // transaction -> outcome
	maxPolled := map[tp]int64{}
	stored := map[tp]bool{} // partitions with a broker-side view
	storedVals := map[tpv]bool{}
	deleted := map[tp]deletion{} // partitions whose log start moved
	var acks, polls []*Event
	var ackSends []int64 // the send each ack answers, aligned with acks

	// Values are interned once per event; what we know of each lives in
	// vals, so the hot loop does one map lookup per event.
	vidx := make(map[topicValue]int32, n/2)
	var vals []valueInfo
	intern := func(e *Event) *valueInfo {
		tv := topicValue{e.Topic, e.Value}
		i, ok := vidx[tv]
		if !ok {
			i = int32(len(vals))
			vidx[tv] = i
			vals = append(vals, valueInfo{})
		}
		return &vals[i]
	}

	// note records that e shows its value at its offset; read is set for
	// polls and broker-side records, txn for transactional acks.
	note := func(e *Event, v *valueInfo, how string, read bool, txn int64) {
		k := tpo{tp{e.Topic, e.Partition}, e.Offset}
		o, ok := offsets[k]
		switch {
		case !ok:
			o.first = e.Value
		case o.first != e.Value && !o.inconsistent:
			o.inconsistent = true
			add(Finding{Anomaly: InconsistentOffsets, Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Value: e.Value, Who: who(e), Generation: e.Generation, Seq: e.Seq,
				Detail: fmt.Sprintf("%s %q here, but %q was seen at this offset before", how, e.Value, o.first)})
		}
		if read && !o.hasRead {
			o.read, o.hasRead = e.Value, true
		}
		if txn != 0 {
			o.txn = txn
		}
		offsets[k] = o
		if !v.seen {
			v.seen, v.first = true, k
		} else if v.first != k && !slices.Contains(v.also, k) {
			v.also = append(v.also, k)
		}
	}

	for i := range evs {
		e := &evs[i]
		switch e.Op {
		case OpSend:
			v := intern(e)
			if v.sendSeq == 0 {
				v.sendSeq = e.Seq
			}
			v.lastSend = e.Seq
			if e.Txn != 0 {
				v.txn = e.Txn
			}
		case OpAck:
			v := intern(e)
			if e.Txn != 0 {
				v.txn = e.Txn
			}
			v.ackSeq = e.Seq
			acks = append(acks, e)
			ackSends = append(ackSends, v.lastSend)
			if e.Offset >= 0 {
				note(e, v, "acknowledged", false, e.Txn)
			}
		case OpStored:
			stored[tp{e.Topic, e.Partition}] = true
			storedVals[tpv{tp{e.Topic, e.Partition}, e.Value}] = true
			note(e, intern(e), "stored", true, 0)
		case OpDeleted:
			k := tp{e.Topic, e.Partition}
			d := deleted[k]
			d.logStart, d.seq = max(d.logStart, e.Offset), e.Seq
			deleted[k] = d
		case OpPoll:
			k := tpo{tp{e.Topic, e.Partition}, e.Offset}
			polls = append(polls, e)
			v := intern(e)
			note(e, v, "polled", true, 0)
			if o, ok := maxPolled[k.tp]; !ok || e.Offset > o {
				maxPolled[k.tp] = e.Offset
			}
			v.polled = true
		case OpBegin:
			txns[e.Txn] = &txnState{}
		case OpEnding:
			if st := txns[e.Txn]; st != nil && st.endingSeq == 0 {
				st.endingSeq = e.Seq
			}
		case OpCommitT, OpAbort:
			st := txns[e.Txn]
			if st == nil {
				st = &txnState{}
				txns[e.Txn] = st
			}
			st.ended, st.committed, st.endSeq = true, e.Op == OpCommitT, e.Seq
		}
	}
	info := func(e *Event) *valueInfo {
		if i, ok := vidx[topicValue{e.Topic, e.Value}]; ok {
			return &vals[i]
		}
		return &valueInfo{}
	}
	sendSeq := func(e *Event) int64 { return info(e).sendSeq }
	abortedTxn := func(t int64) bool {
		st := txns[t]
		return t != 0 && st != nil && st.ended && !st.committed
	}

	// Log duplicates: one value at two offsets, not counting copies that
	// an aborted transaction wrote (read_committed readers never see them).
	for tv, i := range vidx {
		vi := &vals[i]
		if len(vi.also) == 0 {
			continue
		}
		ws := append([]tpo{vi.first}, vi.also...)
		ws = slices.DeleteFunc(ws, func(k tpo) bool { return abortedTxn(offsets[k].txn) })
		if len(ws) < 2 {
			continue
		}
		slices.SortFunc(ws, cmpTPO)
		v := tv.value
		for _, k := range ws[1:] {
			add(Finding{Anomaly: Duplicate, Topic: k.topic, Partition: k.part, Offset: k.off, Value: v,
				Detail: fmt.Sprintf("also at %s[%d]@%d", ws[0].topic, ws[0].part, ws[0].off)})
		}
	}

	abortedAt := func(k tpo) bool { return abortedTxn(offsets[k].txn) }

	// Reads of transactional records, and redeliveries: a group polling a
	// value again, not counting copies an aborted transaction wrote.
	for _, p := range polls {
		k := tpo{tp{p.Topic, p.Partition}, p.Offset}
		t := offsets[k].txn
		if t == 0 {
			t = info(p).txn
		}
		if st := txns[t]; t != 0 && st != nil && st.ended && !st.committed {
			iso := "read_uncommitted"
			if p.ReadCommitted {
				iso = "read_committed"
			}
			add(Finding{Anomaly: G1a, Topic: p.Topic, Partition: p.Partition, Offset: p.Offset, Key: p.Key, Value: p.Value, Who: p.Consumer, Generation: p.Generation, Seq: p.Seq, Detail: iso + " consumer saw an aborted record"})
			continue
		} else if p.ReadCommitted && t != 0 && (st == nil || st.before(p.Seq)) {
			add(Finding{Anomaly: PrecommittedRead, Topic: p.Topic, Partition: p.Partition, Offset: p.Offset, Key: p.Key, Value: p.Value, Who: p.Consumer, Generation: p.Generation, Seq: p.Seq, Detail: "read_committed consumer saw it before its transaction committed"})
		}
		g := p.Group
		if g == "" {
			g = p.Consumer
		}
		if info(p).poll(g) == 2 {
			add(Finding{Anomaly: Redelivered, Topic: p.Topic, Partition: p.Partition, Offset: p.Offset, Key: p.Key, Value: p.Value, Who: p.Consumer, Generation: p.Generation, Seq: p.Seq,
				Detail: fmt.Sprintf("group %s polled it again", g)})
		}
	}

	// The latest acknowledgement among the writes read in each partition:
	// a write acknowledged before it and never read was read past.
	lastReadAck := map[tp]int64{}
	for _, p := range polls {
		if s := info(p).ackSeq; s > lastReadAck[tp{p.Topic, p.Partition}] {
			lastReadAck[tp{p.Topic, p.Partition}] = s
		}
	}

	// Lost and unseen writes.
	for _, a := range acks {
		ai := info(a)
		if abortedTxn(ai.txn) {
			continue
		}
		k := tp{a.Topic, a.Partition}
		if !ai.polled {
			o, ok := maxPolled[k]
			readPast := (a.Offset >= 0 && ok && o > a.Offset) || lastReadAck[k] > a.Seq
			notStored := stored[k] && !storedVals[tpv{k, a.Value}]
			var now string
			var read bool
			if a.Offset >= 0 {
				at := offsets[tpo{k, a.Offset}]
				now, read = at.read, at.hasRead
			}
			if deleted[k].covers(a) {
				// Deleted, not lost: reading past it or a log without
				// it proves nothing. Another value read at its offset
				// still does.
				readPast, notStored = false, false
			}
			if readPast || notStored || (read && now != a.Value) {
				detail := "acknowledged, never read, and consumers read past it"
				switch {
				case read && now != a.Value:
					detail = fmt.Sprintf("acknowledged, never read; %q is at its offset", now)
				case notStored:
					detail = "acknowledged, but the broker's log does not hold it"
				}
				add(Finding{Anomaly: LostWrite, Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Key: a.Key, Value: a.Value, Who: a.Producer, Seq: a.Seq, Detail: detail})
				continue
			}
		}
		groups := cfg.consumedBy
		if len(groups) == 0 {
			if !ai.polled {
				add(Finding{Anomaly: Unseen, Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Key: a.Key, Value: a.Value, Who: a.Producer, Seq: a.Seq, Detail: "acknowledged, never polled"})
			}
			continue
		}
		for _, g := range groups {
			if ai.polls(g) == 0 {
				add(Finding{Anomaly: Unseen, Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Key: a.Key, Value: a.Value, Who: a.Producer, Seq: a.Seq, Detail: "never polled by group " + g})
			}
		}
	}

	readAt := func(k tpo) (string, bool) { o := offsets[k]; return o.read, o.hasRead }
	seenAt := func(k tpo) (string, bool) { o, ok := offsets[k]; return o.first, ok }
	checkPolls(polls, readAt, abortedAt, add)
	var committedAcks []*Event
	var committedSends []int64
	for i, a := range acks {
		if !abortedTxn(a.Txn) && a.Offset >= 0 {
			committedAcks = append(committedAcks, a)
			committedSends = append(committedSends, ackSends[i])
		}
	}
	checkSends(committedAcks, committedSends, seenAt, add)
	checkKeyOrder(acks, polls, sendSeq, add)

	for a := range r.Findings {
		slices.SortFunc(r.Findings[a], cmpFinding)
	}
	return r
}

type pollKey struct {
	consumer string
	gen      int32
	tp
}

func checkPolls(polls []*Event, readAt func(tpo) (string, bool), abortedAt func(tpo) bool, add func(Finding)) {
	last := make(map[pollKey]*Event, len(polls)/8)
	for _, p := range polls {
		k := pollKey{p.Consumer, p.Generation, tp{p.Topic, p.Partition}}
		prev, ok := last[k]
		last[k] = p
		if !ok {
			continue
		}
		same := p.Poll != 0 && p.Poll == prev.Poll
		switch {
		case p.Offset <= prev.Offset:
			a := NonmonotonicPoll
			if same {
				a = IntNonmonotonicPoll
			}
			add(Finding{Anomaly: a, Topic: p.Topic, Partition: p.Partition, Offset: p.Offset, Key: p.Key, Value: p.Value, Who: p.Consumer, Generation: p.Generation, Seq: p.Seq,
				Detail: fmt.Sprintf("went back from offset %d", prev.Offset)})
		case p.Offset > prev.Offset+1:
			var skipped []int64
			for o := prev.Offset + 1; o < p.Offset && len(skipped) < 1000; o++ {
				if _, ok := readAt(tpo{k.tp, o}); ok && !(p.ReadCommitted && abortedAt(tpo{k.tp, o})) {
					skipped = append(skipped, o)
				}
			}
			if len(skipped) == 0 {
				continue // transaction markers or compacted records
			}
			a := PollSkip
			if same {
				a = IntPollSkip
			}
			add(Finding{Anomaly: a, Topic: p.Topic, Partition: p.Partition, Offset: p.Offset, Key: p.Key, Value: p.Value, Who: p.Consumer, Generation: p.Generation, Seq: p.Seq,
				Detail: fmt.Sprintf("jumped from offset %d over %v", prev.Offset, skipped)})
		}
	}
}

type sendKey struct {
	producer string
	tp
}

func checkSends(acks []*Event, sends []int64, seenAt func(tpo) (string, bool), add func(Finding)) {
	byProducer := map[sendKey][]int{}
	for i, a := range acks {
		k := sendKey{a.Producer, tp{a.Topic, a.Partition}}
		byProducer[k] = append(byProducer[k], i)
	}
	for k, is := range byProducer {
		// In send order; acks mostly arrive in it already.
		as := make([]*Event, len(is))
		seqs := make([]int64, len(is))
		for j, i := range is {
			as[j], seqs[j] = acks[i], sends[i]
		}
		if !slices.IsSorted(seqs) {
			idx := make([]int, len(as))
			for i := range idx {
				idx[i] = i
			}
			slices.SortStableFunc(idx, func(x, y int) int { return cmp.Compare(seqs[x], seqs[y]) })
			sorted := make([]*Event, len(as))
			for i, j := range idx {
				sorted[i] = as[j]
			}
			as = sorted
		}
		for i := 1; i < len(as); i++ {
			prev, a := as[i-1], as[i]
			switch {
			case a.Offset < prev.Offset:
				add(Finding{Anomaly: NonmonotonicSend, Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Key: a.Key, Value: a.Value, Who: k.producer, Seq: a.Seq,
					Detail: fmt.Sprintf("sent after %q but stored before it (offset %d)", prev.Value, prev.Offset)})
			case a.Txn != 0 && a.Txn == prev.Txn && a.Offset > prev.Offset+1:
				for o := prev.Offset + 1; o < a.Offset; o++ {
					if v, ok := seenAt(tpo{k.tp, o}); ok {
						add(Finding{Anomaly: IntSendSkip, Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Key: a.Key, Value: a.Value, Who: k.producer, Seq: a.Seq,
							Detail: fmt.Sprintf("%q at offset %d sits between this and the transaction's previous send at %d", v, o, prev.Offset)})
						break
					}
				}
			}
		}
	}
}

type keyKey struct {
	who string
	gen int32
	key string
	tp
}

func checkKeyOrder(acks, polls []*Event, sendSeq func(*Event) int64, add func(Finding)) {
	// Stored order: one producer's sends of a key, by offset, must follow
	// send order.
	stored := map[keyKey][]*Event{}
	for _, a := range acks {
		if a.Key == "" {
			continue
		}
		k := keyKey{a.Producer, 0, a.Key, tp{a.Topic, a.Partition}}
		stored[k] = append(stored[k], a)
	}
	for _, as := range stored {
		slices.SortStableFunc(as, func(x, y *Event) int { return cmp.Compare(x.Offset, y.Offset) })
		for i := 1; i < len(as); i++ {
			if sendSeq(as[i]) < sendSeq(as[i-1]) {
				a := as[i]
				add(Finding{Anomaly: ReorderPerKey, Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Key: a.Key, Value: a.Value, Who: a.Producer, Seq: a.Seq,
					Detail: fmt.Sprintf("sent before %q but stored after it", as[i-1].Value)})
			}
		}
	}
	// Consumed order: within one consumer generation, a key's values
	// arrive in send order.
	lastSent := map[keyKey]*Event{}
	for _, p := range polls {
		s := sendSeq(p)
		if p.Key == "" || s == 0 {
			continue
		}
		k := keyKey{p.Consumer, p.Generation, p.Key, tp{p.Topic, p.Partition}}
		if prev, ok := lastSent[k]; ok && s < sendSeq(prev) && p.Offset > prev.Offset {
			add(Finding{Anomaly: ReorderPerKey, Topic: p.Topic, Partition: p.Partition, Offset: p.Offset, Key: p.Key, Value: p.Value, Who: p.Consumer, Generation: p.Generation, Seq: p.Seq,
				Detail: fmt.Sprintf("polled after %q, which was sent after it", prev.Value)})
		}
		if prev, ok := lastSent[k]; !ok || s > sendSeq(prev) {
			lastSent[k] = p
		}
	}
}

// deletion is where a partition's log starts after its records were
// deleted, and when the history last learned it.
type deletion struct {
	logStart int64
	seq      int64
}

// covers reports whether the acknowledged write a may have been deleted:
// its offset is below the log start or, unknown (acks=0), it was
// acknowledged before a deletion.
func (d deletion) covers(a *Event) bool {
	if d.seq == 0 {
		return false
	}
	if a.Offset >= 0 {
		return a.Offset < d.logStart
	}
	return a.Seq < d.seq
}

// topicValue is a value's identity, scoped by topic: a pipeline copies
// values from one topic to another without duplicating them.
type topicValue struct{ topic, value string }

// offsetInfo is what the check learned about one offset.
type offsetInfo struct {
	first        string // the first value seen there
	read         string // the first value read there (polled or stored)
	hasRead      bool
	inconsistent bool  // reported
	txn          int64 // the transaction that wrote it, if known
}

// valueInfo is what the check learned about one value.
type valueInfo struct {
	seen            bool
	first           tpo   // the first offset it was seen at
	also            []tpo // other offsets it was seen at
	sendSeq, ackSeq int64 // when it was first sent and acknowledged
	lastSend        int64 // when it was last sent
	txn             int64 // its transaction
	polled          bool
	group0          groupPolls   // the first group that polled it
	groups          []groupPolls // any other groups
}

type groupPolls struct {
	group string
	n     int
}

// poll counts a poll by group g and returns how many g has made.
func (v *valueInfo) poll(g string) int {
	if v.group0.n == 0 || v.group0.group == g {
		v.group0.group = g
		v.group0.n++
		return v.group0.n
	}
	for i := range v.groups {
		if v.groups[i].group == g {
			v.groups[i].n++
			return v.groups[i].n
		}
	}
	v.groups = append(v.groups, groupPolls{g, 1})
	return 1
}

func (v *valueInfo) polls(g string) int {
	if v.group0.group == g {
		return v.group0.n
	}
	for _, gp := range v.groups {
		if gp.group == g {
			return gp.n
		}
	}
	return 0
}

func who(e *Event) string {
	if e.Consumer != "" {
		return e.Consumer
	}
	return e.Producer
}

func cmpTPO(a, b tpo) int {
	return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.part, b.part), cmp.Compare(a.off, b.off))
}

func cmpFinding(a, b Finding) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset),
		cmp.Compare(a.Value, b.Value), cmp.Compare(a.Who, b.Who), cmp.Compare(a.Generation, b.Generation), cmp.Compare(a.Detail, b.Detail))
}
