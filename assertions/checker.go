package assertions

import (
	"cmp"
	"fmt"
	"slices"
)

// checker is what Check learns in one pass over the events. Strings are
// interned once per event (topics and names through one-entry caches,
// values through one map per topic); everything else is indexed by
// int32, and offsets live in dense per-partition tables.
type checker struct {
	evs   []Event
	cfg   checkConfig
	kept  int
	found map[Anomaly][]Finding

	topics    map[string]*topicInfo
	lastTopic *topicInfo
	parts     []*partInfo

	producers, consumers, groups, keys interner

	vals     []valueInfo
	more     []valueMore       // what few values need beyond valueInfo
	storedAt map[[2]int32]bool // (partition, value) the broker's log holds
	acks     []ackRec
	polls    []pollRec
	txns     map[int64]*txnState

	// processing: groups (by id) whose polls the application reported
	// processed (Event.Processed): reports say processed, not polled.
	processing  map[int32]bool
	clientPolls bool // some polls are a client's, not processed
	// committed is each partition's (index) commits by group (id), which
	// explain an unseen record a group committed past; sorted by offset
	// once the scan is done.
	committed map[int32]map[int32][]commitRec
}

func newChecker(evs []Event, cfg checkConfig) *checker {
	n := len(evs)
	return &checker{
		evs: evs, cfg: cfg, found: map[Anomaly][]Finding{},
		topics:    map[string]*topicInfo{},
		producers: newInterner(), consumers: newInterner(), groups: newInterner(), keys: newInterner(),
		vals:     make([]valueInfo, 0, n/4),
		storedAt: map[[2]int32]bool{},
		acks:     make([]ackRec, 0, n/4),
		polls:    make([]pollRec, 0, n/4),
		txns:     map[int64]*txnState{},

		processing: map[int32]bool{},
		committed:  map[int32]map[int32][]commitRec{},
	}
}

func (c *checker) add(f Finding) { c.found[f.Anomaly] = append(c.found[f.Anomaly], f) }

// interner numbers strings from 0, remembering the last one looked up:
// consecutive events mostly share a producer or consumer, and comparing
// a string with itself is cheap.
type interner struct {
	ids  map[string]int32
	last string
	id   int32
}

func newInterner() interner { return interner{ids: map[string]int32{}, id: -1} }

func (in *interner) of(s string) int32 {
	if in.id >= 0 && s == in.last {
		return in.id
	}
	id, ok := in.ids[s]
	if !ok {
		id = int32(len(in.ids))
		in.ids[s] = id
	}
	in.last, in.id = s, id
	return id
}

// lookup is the id of s, or -1 if it was never interned.
func (in *interner) lookup(s string) int32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	return -1
}

type topicInfo struct {
	name   string
	keep   bool            // not filtered out by Topics
	parts  []int32         // partition number -> index in checker.parts, +1
	others map[int32]int32 // partition numbers outside parts' range
	vals   map[string]int32
}

// partInfo is what the check learned about one partition.
type partInfo struct {
	topic string
	part  int32
	// base is the first offset seen; dense[o-base] describes offset o,
	// sparse the offsets outside that range.
	base      int64
	dense     []offsetInfo
	sparse    map[int64]*offsetInfo
	stored    bool // the history has a broker-side view of it
	polled    bool
	maxPolled int64
	readAck   int64 // the latest acknowledgement of a write read here
	deleted   deletion
}

// offsetInfo is what the check learned about one offset. Values are
// value indexes +1: 0 is none.
type offsetInfo struct {
	first        int32 // the first value seen there
	read         int32 // the first value read there (polled or stored)
	stored       int32 // the first value the broker's log holds there
	ack          int32 // the latest ack there, index in acks +1
	inconsistent bool  // reported
}

func (p *partInfo) at(off int64) *offsetInfo {
	if p.dense == nil && p.sparse == nil && off >= 0 {
		p.base = off
	}
	i := off - p.base
	if i >= 0 && i < int64(len(p.dense)) {
		return &p.dense[i]
	}
	if i >= 0 && i < 2*int64(len(p.dense))+4096 {
		if i >= int64(cap(p.dense)) {
			d := make([]offsetInfo, i+1, max(2*cap(p.dense), int(i)+1, 64))
			copy(d, p.dense)
			p.dense = d
		}
		p.dense = p.dense[:i+1]
		return &p.dense[i]
	}
	if p.sparse == nil {
		p.sparse = map[int64]*offsetInfo{}
	}
	o := p.sparse[off]
	if o == nil {
		o = &offsetInfo{}
		p.sparse[off] = o
	}
	return o
}

// get is what is known of offset off (zero if nothing).
func (p *partInfo) get(off int64) offsetInfo {
	if i := off - p.base; i >= 0 && i < int64(len(p.dense)) {
		return p.dense[i]
	}
	if o := p.sparse[off]; o != nil {
		return *o
	}
	return offsetInfo{}
}

// firstBetween is the lowest offset strictly between from and to where a
// value was seen, and that value (+1; 0 if none).
func (p *partInfo) firstBetween(from, to int64) (int64, int32) {
	lo, hi := max(from+1-p.base, 0), min(to-p.base, int64(len(p.dense)))
	for i := lo; i < hi; i++ {
		if v := p.dense[i].first; v != 0 {
			return p.base + i, v
		}
	}
	best, bv := int64(0), int32(0)
	for off, o := range p.sparse {
		if off > from && off < to && o.first != 0 && (bv == 0 || off < best) {
			best, bv = off, o.first
		}
	}
	return best, bv
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

// loc is an offset of a partition (an index in checker.parts).
type loc struct {
	part int32
	off  int64
}

// valueInfo is what the check learned about one value of one topic (a
// pipeline copies values between topics without duplicating them).
type valueInfo struct {
	ev     int32 // the first event with it: its name
	first  loc   // the first offset it was seen at
	seen   bool
	polled bool
	// txn is the transaction every send and ack of it has (when
	// txnMixed is false), for reads at offsets no ack explains.
	txn      int64
	txnSeen  bool
	txnMixed bool
	send     sendInfo      // its first producer's sends
	ack      partAck       // its latest ack in the first partition it was acked in
	groups   [2]groupCount // its first two groups' polls
	more     int32         // index in checker.more +1, for the rest
}

type valueMore struct {
	also   []loc // other offsets it was seen at
	sends  []sendInfo
	acks   []partAck
	groups []groupCount
}

type sendInfo struct {
	prod        int32 // producer +1
	first, last int64 // its first and latest send by prod
	txn         int64 // the latest send's transaction
}

type partAck struct {
	part int32 // partition +1
	seq  int64
}

type groupCount struct {
	group int32 // group +1
	n     int32
}

func (c *checker) moreOf(v *valueInfo) *valueMore {
	if v.more == 0 {
		c.more = append(c.more, valueMore{})
		v.more = int32(len(c.more))
	}
	return &c.more[v.more-1]
}

// sendsBy is what producer prod sent of v (nil if nothing and !create).
func (c *checker) sendsBy(v *valueInfo, prod int32, create bool) *sendInfo {
	switch v.send.prod {
	case prod + 1:
		return &v.send
	case 0:
		if !create {
			return nil
		}
		v.send.prod = prod + 1
		return &v.send
	}
	if v.more != 0 {
		m := &c.more[v.more-1]
		for i := range m.sends {
			if m.sends[i].prod == prod+1 {
				return &m.sends[i]
			}
		}
	}
	if !create {
		return nil
	}
	m := c.moreOf(v)
	m.sends = append(m.sends, sendInfo{prod: prod + 1})
	return &m.sends[len(m.sends)-1]
}

// onlySender is v's sends when one producer sent it.
func (c *checker) onlySender(v *valueInfo) *sendInfo {
	if v.send.prod == 0 || (v.more != 0 && len(c.more[v.more-1].sends) > 0) {
		return nil
	}
	return &v.send
}

func (v *valueInfo) noteTxn(t int64) {
	switch {
	case !v.txnSeen:
		v.txn, v.txnSeen = t, true
	case v.txn != t:
		v.txnMixed = true
	}
}

// valueTxn is the transaction of v's reads at offsets no ack explains.
func (v *valueInfo) valueTxn() int64 {
	if v.txnMixed {
		return 0
	}
	return v.txn
}

func (c *checker) acked(v *valueInfo, part int32, seq int64) {
	if v.ack.part == 0 || v.ack.part == part+1 {
		v.ack = partAck{part + 1, seq}
		return
	}
	if v.more != 0 {
		m := &c.more[v.more-1]
		for i := range m.acks {
			if m.acks[i].part == part+1 {
				m.acks[i].seq = seq
				return
			}
		}
	}
	m := c.moreOf(v)
	m.acks = append(m.acks, partAck{part + 1, seq})
}

// ackSeqIn is when v was last acknowledged in part (0 if never).
func (c *checker) ackSeqIn(v *valueInfo, part int32) int64 {
	if v.ack.part == part+1 {
		return v.ack.seq
	}
	if v.more != 0 {
		for _, a := range c.more[v.more-1].acks {
			if a.part == part+1 {
				return a.seq
			}
		}
	}
	return 0
}

// countPoll counts a poll of v by group g and returns how many g made.
func (c *checker) countPoll(v *valueInfo, g int32) int32 {
	for i := range v.groups {
		if gc := &v.groups[i]; gc.group == 0 || gc.group == g+1 {
			gc.group = g + 1
			gc.n++
			return gc.n
		}
	}
	if v.more != 0 {
		m := &c.more[v.more-1]
		for i := range m.groups {
			if m.groups[i].group == g+1 {
				m.groups[i].n++
				return m.groups[i].n
			}
		}
	}
	m := c.moreOf(v)
	m.groups = append(m.groups, groupCount{g + 1, 1})
	return 1
}

func (c *checker) pollsBy(v *valueInfo, g int32) int32 {
	if g < 0 {
		return 0
	}
	for _, gc := range v.groups {
		if gc.group == g+1 {
			return gc.n
		}
	}
	if v.more != 0 {
		for _, gc := range c.more[v.more-1].groups {
			if gc.group == g+1 {
				return gc.n
			}
		}
	}
	return 0
}

func (c *checker) seenAt(v *valueInfo, l loc) {
	switch {
	case !v.seen:
		v.seen, v.first = true, l
	case v.first == l:
	case v.more != 0 && slices.Contains(c.more[v.more-1].also, l):
	default:
		m := c.moreOf(v)
		m.also = append(m.also, l)
	}
}

func (c *checker) name(v int32) string { return c.evs[c.vals[v].ev].Value }

// ackRec is one acknowledgement.
type ackRec struct {
	ev   int32
	part int32
	val  int32
	prod int32
	key  int32 // -1: no key
	send int64 // the send it answers (the producer's latest of the value)
	txn  int64 // its transaction (the send's, if the ack has none)
}

// pollRec is one polled record.
type pollRec struct {
	ev      int32
	part    int32
	val     int32
	cons    int32
	group   int32 // the group, or the consumer's own when it has none
	key     int32
	aborted bool // a read of an aborted record (G1a)
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

func (c *checker) aborted(t int64) bool {
	st := c.txns[t]
	return t != 0 && st != nil && st.ended && !st.committed
}

// abortedAt reports whether the latest ack at o was of an aborted transaction.
func (c *checker) abortedAt(o offsetInfo) bool { return o.ack != 0 && c.aborted(c.acks[o.ack-1].txn) }

func (c *checker) topic(name string) *topicInfo {
	if t := c.lastTopic; t != nil && t.name == name {
		return t
	}
	t := c.topics[name]
	if t == nil {
		t = &topicInfo{name: name, keep: name == "" || len(c.cfg.topics) == 0 || slices.Contains(c.cfg.topics, name), vals: map[string]int32{}}
		c.topics[name] = t
	}
	c.lastTopic = t
	return t
}

func (c *checker) partition(t *topicInfo, p int32) int32 {
	if p >= 0 && p < int32(len(t.parts)) && t.parts[p] != 0 {
		return t.parts[p] - 1
	}
	if i, ok := t.others[p]; ok {
		return i
	}
	i := int32(len(c.parts))
	c.parts = append(c.parts, &partInfo{topic: t.name, part: p})
	switch {
	case p >= 0 && p < 1<<16:
		if p >= int32(len(t.parts)) {
			t.parts = append(t.parts, make([]int32, int(p)+1-len(t.parts))...)
		}
		t.parts[p] = i + 1
	default:
		if t.others == nil {
			t.others = map[int32]int32{}
		}
		t.others[p] = i
	}
	return i
}

func (c *checker) value(t *topicInfo, ev int32) int32 {
	name := c.evs[ev].Value
	if i, ok := t.vals[name]; ok {
		return i
	}
	i := int32(len(c.vals))
	t.vals[name] = i
	c.vals = append(c.vals, valueInfo{ev: ev})
	return i
}

func (c *checker) key(k string) int32 {
	if k == "" {
		return -1
	}
	return c.keys.of(k)
}

// scan is the one pass over the events.
func (c *checker) scan() {
	for i := range c.evs {
		e := &c.evs[i]
		ev := int32(i)
		var t *topicInfo
		switch e.Op {
		case OpBegin, OpEnding, OpCommitT, OpAbort:
		default:
			if t = c.topic(e.Topic); !t.keep {
				continue
			}
		}
		c.kept++
		switch e.Op {
		case OpSend:
			vi := c.value(t, ev)
			v := &c.vals[vi]
			v.noteTxn(e.Txn)
			s := c.sendsBy(v, c.producers.of(e.Producer), true)
			if s.first == 0 {
				s.first = e.Seq
			}
			s.last, s.txn = e.Seq, e.Txn
		case OpAck:
			vi := c.value(t, ev)
			pi := c.partition(t, e.Partition)
			v := &c.vals[vi]
			v.noteTxn(e.Txn)
			prod := c.producers.of(e.Producer)
			a := ackRec{ev: ev, part: pi, val: vi, prod: prod, key: c.key(e.Key), txn: e.Txn}
			if s := c.sendsBy(v, prod, false); s != nil {
				a.send = s.last
				if a.txn == 0 {
					a.txn = s.txn
				}
			}
			c.acked(v, pi, e.Seq)
			c.acks = append(c.acks, a)
			if e.Offset >= 0 {
				c.note(e, pi, vi, "acknowledged", int32(len(c.acks)))
			}
		case OpStored:
			vi := c.value(t, ev)
			pi := c.partition(t, e.Partition)
			c.parts[pi].stored = true
			c.storedAt[[2]int32{pi, vi}] = true
			c.note(e, pi, vi, "stored", 0)
		case OpPoll:
			vi := c.value(t, ev)
			pi := c.partition(t, e.Partition)
			c.note(e, pi, vi, "polled", 0)
			c.vals[vi].polled = true
			// A client's read past an offset shows what the log holds; an
			// application's processing past it does not (it may have
			// dropped the record it polled).
			if p := c.parts[pi]; !e.Processed && (!p.polled || e.Offset > p.maxPolled) {
				p.polled, p.maxPolled = true, e.Offset
			}
			g := e.Group
			if g == "" {
				g = e.Consumer
			}
			gi := c.groups.of(g)
			if e.Processed {
				c.processing[gi] = true
			} else {
				c.clientPolls = true
			}
			c.polls = append(c.polls, pollRec{ev: ev, part: pi, val: vi, cons: c.consumers.of(e.Consumer), group: gi, key: c.key(e.Key)})
		case OpCommit:
			pi, gi := c.partition(t, e.Partition), c.groups.of(e.Group)
			if c.committed[pi] == nil {
				c.committed[pi] = map[int32][]commitRec{}
			}
			c.committed[pi][gi] = append(c.committed[pi][gi], commitRec{e.Offset, ev})
		case OpDeleted:
			p := c.parts[c.partition(t, e.Partition)]
			p.deleted.logStart, p.deleted.seq = max(p.deleted.logStart, e.Offset), e.Seq
		case OpBegin:
			c.txns[e.Txn] = &txnState{}
		case OpEnding:
			if st := c.txns[e.Txn]; st != nil && st.endingSeq == 0 {
				st.endingSeq = e.Seq
			}
		case OpCommitT, OpAbort:
			st := c.txns[e.Txn]
			if st == nil {
				st = &txnState{}
				c.txns[e.Txn] = st
			}
			st.ended, st.committed, st.endSeq = true, e.Op == OpCommitT, e.Seq
		}
	}
}

// note records that e shows value vi at its offset: acked (ack is its
// index in acks +1), polled or stored.
func (c *checker) note(e *Event, pi, vi int32, how string, ack int32) {
	o := c.parts[pi].at(e.Offset)
	switch {
	case o.first == 0:
		o.first = vi + 1
	case o.first != vi+1 && !o.inconsistent:
		o.inconsistent = true
		first := c.name(o.first - 1)
		c.add(Finding{Anomaly: InconsistentOffsets, Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Value: e.Value, Who: who(e), Generation: e.Generation, Seq: e.Seq, Op: e.Op,
			Detail: fmt.Sprintf("%s %q here, but %q was seen at this offset before", how, e.Value, first),
			Want:   fmt.Sprintf("one value at its offset: %q", first), Got: fmt.Sprintf("%q %s there too", e.Value, how)})
	}
	switch {
	case ack != 0:
		o.ack = ack
	case o.read == 0:
		o.read = vi + 1
	}
	if e.Op == OpStored && o.stored == 0 {
		o.stored = vi + 1
	}
	c.seenAt(&c.vals[vi], loc{pi, e.Offset})
}

func (c *checker) locString(l loc) string {
	p := c.parts[l.part]
	return at(p.topic, p.part, l.off)
}

func (c *checker) cmpLoc(a, b loc) int {
	pa, pb := c.parts[a.part], c.parts[b.part]
	return cmp.Or(cmp.Compare(pa.topic, pb.topic), cmp.Compare(pa.part, pb.part), cmp.Compare(a.off, b.off))
}

// checkDuplicates: one value at two offsets, not counting copies that
// an aborted transaction wrote (read_committed readers never see them).
func (c *checker) checkDuplicates() {
	for vi := range c.vals {
		v := &c.vals[vi]
		if v.more == 0 || len(c.more[v.more-1].also) == 0 {
			continue
		}
		ws := append([]loc{v.first}, c.more[v.more-1].also...)
		ws = slices.DeleteFunc(ws, func(l loc) bool { return c.abortedAt(c.parts[l.part].get(l.off)) })
		if len(ws) < 2 {
			continue
		}
		slices.SortFunc(ws, c.cmpLoc)
		name, first := c.name(int32(vi)), c.locString(ws[0])
		for _, l := range ws[1:] {
			p := c.parts[l.part]
			c.add(Finding{Anomaly: Duplicate, Topic: p.topic, Partition: p.part, Offset: l.off, Value: name,
				Detail: "also at " + first, Want: "stored once, at " + first, Got: "stored again, at " + c.locString(l)})
		}
	}
}

// readTxn is the transaction of the record poll p read: the one of the
// ack of its value at its offset, else the one all its sends share.
func (c *checker) readTxn(p *pollRec, e *Event) int64 {
	if o := c.parts[p.part].get(e.Offset); o.ack != 0 && c.acks[o.ack-1].val == p.val {
		return c.acks[o.ack-1].txn
	}
	return c.vals[p.val].valueTxn()
}

// checkReads finds reads of transactional records (G1a,
// precommitted-read) and redeliveries: a group polling a value again,
// not counting reads of aborted copies.
func (c *checker) checkReads() {
	var again []int32 // polls of a value some group polled twice
	for i := range c.polls {
		p := &c.polls[i]
		e := &c.evs[p.ev]
		if s := c.ackSeqIn(&c.vals[p.val], p.part); s > c.parts[p.part].readAck && !e.Processed {
			c.parts[p.part].readAck = s // what was acknowledged before it was read past
		}
		t := c.readTxn(p, e)
		st := c.txns[t]
		if c.aborted(t) {
			p.aborted = true
			c.add(Finding{Anomaly: G1a, Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Value: e.Value, Who: e.Consumer, Generation: e.Generation, Seq: e.Seq, Op: e.Op,
				Detail: iso(e) + " consumer saw an aborted record", Want: "committed records only", Got: "aborted record read at " + iso(e)})
			continue
		}
		if e.ReadCommitted && t != 0 && (st == nil || st.before(e.Seq)) {
			got := "read while its transaction was open"
			if st == nil {
				got = "read in a transaction the history never began"
			}
			c.add(Finding{Anomaly: PrecommittedRead, Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Value: e.Value, Who: e.Consumer, Generation: e.Generation, Seq: e.Seq, Op: e.Op,
				Detail: "read_committed consumer saw it before its transaction committed", Want: "read after its transaction committed", Got: got})
		}
		if c.countPoll(&c.vals[p.val], p.group) == 2 {
			again = append(again, p.val)
		}
	}
	if len(again) == 0 {
		return
	}
	twice := make(map[int32]bool, len(again))
	for _, v := range again {
		twice[v] = true
	}
	var ps []*pollRec
	for i := range c.polls {
		if p := &c.polls[i]; !p.aborted && twice[p.val] {
			ps = append(ps, p)
		}
	}
	// The delivery is each group's first poll of the value by place and
	// reader, not by event order: the report must not depend on how
	// independent consumers interleaved.
	slices.SortFunc(ps, func(x, y *pollRec) int {
		ex, ey := &c.evs[x.ev], &c.evs[y.ev]
		return cmp.Or(cmp.Compare(x.val, y.val), cmp.Compare(x.group, y.group),
			cmp.Compare(ex.Topic, ey.Topic), cmp.Compare(ex.Partition, ey.Partition), cmp.Compare(ex.Offset, ey.Offset),
			cmp.Compare(ex.Consumer, ey.Consumer), cmp.Compare(ex.Generation, ey.Generation), cmp.Compare(ex.Seq, ey.Seq))
	})
	for i := 0; i < len(ps); {
		f := &c.evs[ps[i].ev]
		j := i + 1
		for ; j < len(ps) && ps[j].val == ps[i].val && ps[j].group == ps[i].group; j++ {
			e := &c.evs[ps[j].ev]
			g := e.Group
			if g == "" {
				g = e.Consumer
			}
			c.add(Finding{Anomaly: Redelivered, Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Value: e.Value, Who: e.Consumer, Generation: e.Generation, Seq: e.Seq, Op: e.Op,
				Detail: fmt.Sprintf("group %s polled it again", g),
				Want:   fmt.Sprintf("polled once by group %s (at %s by %s gen %d)", g, at(f.Topic, f.Partition, f.Offset), f.Consumer, f.Generation),
				Got:    "polled again"})
		}
		i = j
	}
}

// checkAcks finds lost and unseen writes.
func (c *checker) checkAcks() {
	groups := make([]int32, len(c.cfg.consumedBy))
	for i, g := range c.cfg.consumedBy {
		groups[i] = c.groups.lookup(g)
	}
	for i := range c.acks {
		a := &c.acks[i]
		if c.aborted(a.txn) {
			continue
		}
		e := &c.evs[a.ev]
		v := &c.vals[a.val]
		p := c.parts[a.part]
		f := Finding{Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Value: e.Value, Who: e.Producer, Seq: e.Seq, Op: e.Op}
		if !v.polled && !c.storedAt[[2]int32{a.part, a.val}] {
			// Never read, and not in the log as far as the history knows
			// (a write the log holds is unseen, not lost).
			readPast := (e.Offset >= 0 && p.polled && p.maxPolled > e.Offset) || p.readAck > e.Seq
			notStored := p.stored
			var now int32
			if e.Offset >= 0 {
				now = p.get(e.Offset).read
			}
			if p.deleted.covers(e) {
				// Deleted, not lost: reading past it or a log without
				// it proves nothing. Another value read at its offset
				// still does.
				readPast, notStored = false, false
			}
			if readPast || notStored || (now != 0 && now != a.val+1) {
				f.Anomaly = LostWrite
				f.Detail, f.Got = "acknowledged, never read, and consumers read past it", "absent: consumers read past it"
				switch {
				case now != 0 && now != a.val+1:
					f.Detail = fmt.Sprintf("acknowledged, never read; %q is at its offset", c.name(now-1))
					f.Got = fmt.Sprintf("absent: %q is at its offset", c.name(now-1))
				case notStored:
					f.Detail, f.Got = "acknowledged, but the broker's log does not hold it", "absent: the broker's log does not hold it"
				}
				place := fmt.Sprintf("%s[%d]", e.Topic, e.Partition)
				if e.Offset >= 0 {
					place = at(e.Topic, e.Partition, e.Offset)
				}
				f.Want = fmt.Sprintf("value %q acknowledged at %s readable", e.Value, place)
				c.add(f)
				continue
			}
		}
		f.Anomaly, f.Got = Unseen, "never polled"
		if len(groups) == 0 {
			if !v.polled {
				f.Detail, f.Want = "acknowledged, never polled", "polled by a consumer"
				if len(c.processing) > 0 && !c.clientPolls {
					f.Detail, f.Want, f.Got = "acknowledged, never processed", "processed by a consumer", "never processed"
				}
				f.Got += c.committedPast(-1, a.part, e.Offset)
				c.add(f)
			}
			continue
		}
		for j, g := range groups {
			if c.pollsBy(v, g) == 0 {
				f.Detail, f.Want = "never polled by group "+c.cfg.consumedBy[j], "polled by group "+c.cfg.consumedBy[j]
				f.Got = "never polled"
				if g >= 0 && c.processing[g] {
					f.Detail, f.Want, f.Got = "never processed by group "+c.cfg.consumedBy[j], "processed by group "+c.cfg.consumedBy[j], "never processed"
				}
				if g >= 0 {
					f.Got += c.committedPast(g, a.part, e.Offset)
				}
				c.add(f)
			}
		}
	}
}

// commitRec is a commit of a partition: offset, and the event that
// committed it.
type commitRec struct {
	offset int64
	ev     int32
}

// sortCommits orders each group's commits of a partition by offset (then
// committer), so that which commit explains a record does not depend on
// how independent events interleaved.
func (c *checker) sortCommits() {
	for _, byGroup := range c.committed {
		for _, cms := range byGroup {
			slices.SortFunc(cms, func(a, b commitRec) int {
				return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(c.evs[a.ev].Consumer, c.evs[b.ev].Consumer), cmp.Compare(a.ev, b.ev))
			})
		}
	}
}

// committedPast names the lowest commit past offset off of partition part
// ("" if none): group g's, or, if g < 0, that of the first group by name
// with one.
func (c *checker) committedPast(g, part int32, off int64) string {
	if off < 0 {
		return ""
	}
	var best *commitRec
	for gi, cms := range c.committed[part] {
		if g >= 0 && gi != g {
			continue
		}
		i, _ := slices.BinarySearchFunc(cms, off+1, func(cm commitRec, o int64) int { return cmp.Compare(cm.offset, o) })
		if i < len(cms) && (best == nil || c.evs[cms[i].ev].Group < c.evs[best.ev].Group) {
			best = &cms[i]
		}
	}
	if best == nil {
		return ""
	}
	e := &c.evs[best.ev]
	switch {
	case e.Group == "":
		return fmt.Sprintf("; %s committed offset %d past it", e.Consumer, best.offset)
	case e.Consumer == "":
		return fmt.Sprintf("; group %s committed offset %d past it", e.Group, best.offset)
	}
	return fmt.Sprintf("; group %s committed offset %d past it (%s)", e.Group, best.offset, e.Consumer)
}

type pollKey struct{ cons, gen, part int32 }

// checkPolls finds consumers that jumped over or went back within a
// partition and generation. A record is in a gap when someone read it
// there, the broker's log holds it, or it was acknowledged there outside
// an aborted transaction (unless the broker's log, when the history has
// it, holds nothing there: then it was lost, not skipped). Aborted
// records only count for read_uncommitted consumers.
func (c *checker) checkPolls() {
	last := make(map[pollKey]int32, 64)
	for i := range c.polls {
		pr := &c.polls[i]
		p := &c.evs[pr.ev]
		k := pollKey{pr.cons, p.Generation, pr.part}
		j, ok := last[k]
		last[k] = pr.ev
		if !ok {
			continue
		}
		prev := &c.evs[j]
		same := p.Poll != 0 && p.Poll == prev.Poll
		f := Finding{Topic: p.Topic, Partition: p.Partition, Offset: p.Offset, Key: p.Key, Value: p.Value, Who: p.Consumer, Generation: p.Generation, Seq: p.Seq, Op: p.Op}
		switch {
		case p.Offset <= prev.Offset:
			f.Anomaly = NonmonotonicPoll
			if same {
				f.Anomaly = IntNonmonotonicPoll
			}
			f.Detail = fmt.Sprintf("went back from offset %d", prev.Offset)
			f.Want, f.Got = fmt.Sprintf("offset > %d", prev.Offset), fmt.Sprintf("offset %d", p.Offset)
			c.add(f)
		case p.Offset > prev.Offset+1:
			skipped := c.skipped(c.parts[pr.part], prev.Offset, p.Offset, p.ReadCommitted)
			if len(skipped) == 0 {
				continue // transaction markers or compacted records
			}
			f.Anomaly = PollSkip
			if same {
				f.Anomaly = IntPollSkip
			}
			f.Detail = fmt.Sprintf("jumped from offset %d over %v", prev.Offset, skipped)
			f.Want, f.Got = fmt.Sprintf("next offset %d", skipped[0]), fmt.Sprintf("offset %d", p.Offset)
			c.add(f)
		}
	}
}

// skipped lists (up to 1000) offsets strictly between from and to that
// hold a record a consumer should have read.
func (c *checker) skipped(p *partInfo, from, to int64, readCommitted bool) []int64 {
	var out []int64
	holds := func(o offsetInfo) bool {
		if o.read != 0 {
			return !(readCommitted && c.abortedAt(o))
		}
		return o.ack != 0 && !c.abortedAt(o) && !p.stored
	}
	lo, hi := max(from+1-p.base, 0), min(to-p.base, int64(len(p.dense)))
	for i := lo; i < hi && len(out) < 1000; i++ {
		if holds(p.dense[i]) {
			out = append(out, p.base+i)
		}
	}
	if len(p.sparse) > 0 {
		for off, o := range p.sparse {
			if off > from && off < to && holds(*o) {
				out = append(out, off)
			}
		}
		slices.Sort(out)
		out = out[:min(len(out), 1000)]
	}
	return out
}

// checkSends finds a producer's sends to a partition stored out of send
// order, and a transaction's sends that are not adjacent.
func (c *checker) checkSends() {
	byProducer := map[[2]int32][]int32{}
	for i := range c.acks {
		a := &c.acks[i]
		if !c.aborted(a.txn) && c.evs[a.ev].Offset >= 0 {
			k := [2]int32{a.prod, a.part}
			byProducer[k] = append(byProducer[k], int32(i))
		}
	}
	for _, is := range byProducer {
		// In send order; acks mostly arrive in it already.
		if !slices.IsSortedFunc(is, func(x, y int32) int { return cmp.Compare(c.acks[x].send, c.acks[y].send) }) {
			slices.SortStableFunc(is, func(x, y int32) int { return cmp.Compare(c.acks[x].send, c.acks[y].send) })
		}
		for i := 1; i < len(is); i++ {
			prev, a := &c.evs[c.acks[is[i-1]].ev], &c.evs[c.acks[is[i]].ev]
			f := Finding{Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Key: a.Key, Value: a.Value, Who: a.Producer, Seq: a.Seq, Op: a.Op}
			switch {
			case a.Offset < prev.Offset:
				f.Anomaly = NonmonotonicSend
				f.Detail = fmt.Sprintf("sent after %q but stored before it (offset %d)", prev.Value, prev.Offset)
				f.Want, f.Got = fmt.Sprintf("offset > %d (sent after %q)", prev.Offset, prev.Value), fmt.Sprintf("offset %d", a.Offset)
				c.add(f)
			case a.Txn != 0 && a.Txn == prev.Txn && a.Offset > prev.Offset+1:
				if o, v := c.parts[c.acks[is[i]].part].firstBetween(prev.Offset, a.Offset); v != 0 {
					f.Anomaly = IntSendSkip
					f.Detail = fmt.Sprintf("%q at offset %d sits between this and the transaction's previous send at %d", c.name(v-1), o, prev.Offset)
					f.Want = fmt.Sprintf("next to the transaction's previous send at %d", prev.Offset)
					f.Got = fmt.Sprintf("%q at offset %d between them", c.name(v-1), o)
					c.add(f)
				}
			}
		}
	}
}

type keyKey struct{ who, gen, key, part, prod int32 }

// checkKeyOrder finds a producer's values of one key stored, or consumed
// within a generation, out of send order.
func (c *checker) checkKeyOrder() {
	// Stored order: one producer's sends of a key, by offset, follow
	// send order.
	stored := map[keyKey][]int32{}
	for i := range c.acks {
		if a := &c.acks[i]; a.key >= 0 && a.send != 0 && c.evs[a.ev].Offset >= 0 {
			k := keyKey{a.prod, 0, a.key, a.part, 0}
			stored[k] = append(stored[k], int32(i))
		}
	}
	for _, is := range stored {
		slices.SortStableFunc(is, func(x, y int32) int { return cmp.Compare(c.evs[c.acks[x].ev].Offset, c.evs[c.acks[y].ev].Offset) })
		for i := 1; i < len(is); i++ {
			if c.acks[is[i]].send < c.acks[is[i-1]].send {
				a, prev := &c.evs[c.acks[is[i]].ev], &c.evs[c.acks[is[i-1]].ev]
				c.add(Finding{Anomaly: ReorderPerKey, Topic: a.Topic, Partition: a.Partition, Offset: a.Offset, Key: a.Key, Value: a.Value, Who: a.Producer, Seq: a.Seq, Op: a.Op,
					Detail: fmt.Sprintf("sent before %q but stored after it", prev.Value),
					Want:   fmt.Sprintf("stored before %q (sent after it)", prev.Value), Got: fmt.Sprintf("stored after it (offset %d > %d)", a.Offset, prev.Offset)})
			}
		}
	}
	// Consumed order: within one consumer generation, one producer's
	// values of a key arrive in send order.
	type polled struct {
		send, off int64
		ev        int32
	}
	last := map[keyKey]polled{}
	for i := range c.polls {
		pr := &c.polls[i]
		if pr.key < 0 {
			continue
		}
		p := &c.evs[pr.ev]
		var prod int32
		var send int64
		if o := c.parts[pr.part].get(p.Offset); o.ack != 0 && c.acks[o.ack-1].val == pr.val && c.acks[o.ack-1].send != 0 {
			prod, send = c.acks[o.ack-1].prod, c.acks[o.ack-1].send
		} else if s := c.onlySender(&c.vals[pr.val]); s != nil {
			prod, send = s.prod-1, s.first
		} else {
			continue
		}
		k := keyKey{pr.cons, p.Generation, pr.key, pr.part, prod}
		prev, ok := last[k]
		if ok && send < prev.send && p.Offset > prev.off {
			pv := c.evs[prev.ev].Value
			c.add(Finding{Anomaly: ReorderPerKey, Topic: p.Topic, Partition: p.Partition, Offset: p.Offset, Key: p.Key, Value: p.Value, Who: p.Consumer, Generation: p.Generation, Seq: p.Seq, Op: p.Op,
				Detail: fmt.Sprintf("polled after %q, which was sent after it", pv),
				Want:   fmt.Sprintf("polled before %q (sent after it)", pv), Got: fmt.Sprintf("polled after it (offset %d > %d)", p.Offset, prev.off)})
		}
		if !ok || send > prev.send {
			last[k] = polled{send, p.Offset, pr.ev}
		}
	}
}

func who(e *Event) string {
	if e.Consumer != "" {
		return e.Consumer
	}
	return e.Producer
}
