package timeline

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
)

// Geometry, in CSS pixels.
const (
	labelW   = 200  // the lane labels
	plotW    = 1400 // the time axis
	padR     = 16
	axisH    = 22
	brokerH  = 18
	partH    = 74
	groupH   = 40
	rowH     = 13 // a fault's or a producer's row
	rowsTop  = 28 // where the rows start in their lane, under its labels
	laneGap  = 4
	maxTicks = 3000  // events a lane draws one by one; beyond, per pixel column
	maxCells = 48000 // aggregated cells in a page: wider columns beyond
	maxRows  = 24    // fault and transaction rows drawn one per fault or producer
)

// tick is one drawn event: an append, a truncation, a commit, a fault hit.
type tick struct {
	t      int64 // ns since the first event
	i      int32 // index in the events
	cls    uint8 // index in the lane's classes; higher wins when aggregated
	lo, hi int64 // offsets, where the lane has an offset axis
}

// seg is a span of time in one state.
type seg struct {
	from, to int64
	cls      string
	label    string
	i        int32  // the event that began it, or -1
	note     string // hover text when no event began it
	leader   int32  // a leader segment's broker (-1: offline)
}

// track is a lane's current segment and the closed ones.
type track struct {
	open bool
	cur  seg
	segs []seg
}

func (k *track) start(t int64, cls, label string, i int32) {
	k.end(t)
	k.cur, k.open = seg{from: t, cls: cls, label: label, i: i}, true
}

func (k *track) end(t int64) {
	if k.open {
		k.cur.to = t
		k.segs = append(k.segs, k.cur)
		k.open = false
	}
}

type point struct{ t, v int64 }

type brokerLane struct {
	id                             int32
	down, fenced, paused, isolated int // how many reasons hold each state
	state                          track
}

type partLane struct {
	topic   string
	part    int32
	leader  track
	isr     track
	paused  track
	hw, leo []point
	appends []tick
	truncs  []tick
	rejects []tick
	maxOff  int64
	curLEO  int64
	maxISR  int
}

type groupLane struct {
	name    string
	gens    track
	gen     int32
	members []tick
	commits []tick
}

type txnRow struct {
	pid    int64
	client string
	spans  []tick // t: from, hi: to (ns); i: begin, lo: end (-1: open); cls: 0 open, 1 committed, 2 aborted
	open   bool
	from   int64
	begin  int32
	notes  []tick // producer-init, fenced writes
}

type faultSpan struct {
	from, to int64
	i        int32
	detail   string
	brokers  []int32 // nil: every broker
	hits     []tick
	open     bool
	isolates bool // a network partition: its brokers are isolated
}

type tpKey struct {
	topic string
	part  int32
}

// model is what the page draws, learned in one pass over the events.
type model struct {
	evs   []fake.Event
	ts    []int64 // each event's time, ns since t0
	tsMax []int64 // the latest time up to each event (times may go back in a foreign journal)
	span  int64
	t0    time.Time
	// An event's x gives up to half the width to its time and the rest to
	// its place in the journal: a burst at one instant (the virtual clock
	// stands still while the cluster works) still spreads out.
	perNS, perEvent float64
	colW            int64 // px per aggregated column
	brok            map[int32]*brokerLane
	parts           map[tpKey]*partLane
	groups          map[string]*groupLane
	txns            map[int64]*txnRow
	faults          []*faultSpan
	// summary
	appended, dropped, served int64
	count                     map[fake.EventKind]int
}

func newModel(evs []fake.Event) *model {
	m := &model{evs: evs, ts: make([]int64, len(evs)), brok: map[int32]*brokerLane{}, parts: map[tpKey]*partLane{},
		groups: map[string]*groupLane{}, txns: map[int64]*txnRow{}, count: map[fake.EventKind]int{}}
	var lo, hi time.Time
	for i := range evs {
		t := evs[i].Time
		if t.IsZero() {
			continue
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if hi.IsZero() || t.After(hi) {
			hi = t
		}
	}
	m.t0 = lo
	m.span = int64(hi.Sub(lo))
	m.tsMax = make([]int64, len(evs))
	var prev, top int64
	for i := range evs {
		if !evs[i].Time.IsZero() {
			prev = int64(evs[i].Time.Sub(lo))
		}
		m.ts[i] = prev
		top = max(top, prev)
		m.tsMax[i] = top
	}
	// Time counts as far as the events have times of their own: a run on
	// a virtual clock happens at a few instants, and is drawn in journal
	// order.
	distinct := 0
	for i := range m.ts {
		if i == 0 || m.ts[i] != m.ts[i-1] {
			distinct++
		}
	}
	byTime := 0.5 * min(1, float64(distinct)/(float64(len(evs))/4+1))
	if m.span == 0 {
		byTime = 0
	}
	byEvent := 1 - byTime
	if m.span > 0 {
		m.perNS = byTime * plotW / float64(m.span)
	}
	if len(evs) > 1 {
		m.perEvent = byEvent * plotW / float64(len(evs)-1)
	}
	return m
}

// x is the pixel column of event i (or of a segment's end at i): see
// perNS and perEvent.
func (m *model) x(i int64) int64 {
	if i < 0 || int(i) >= len(m.ts) {
		i = int64(len(m.ts) - 1)
	}
	return labelW + int64(float64(m.tsMax[i])*m.perNS+float64(i)*m.perEvent)
}

// xAt is the pixel column of time t: that of the first event at or after it.
func (m *model) xAt(t int64) int64 {
	i, _ := slices.BinarySearch(m.tsMax, t)
	return m.x(int64(i))
}

// rel is the time of event i since the first event, as "+12.345ms".
func (m *model) rel(i int64) string { return rel(m.ts[min(max(i, 0), int64(len(m.ts)-1))]) }

// end is the index standing for the end of the journal.
func (m *model) end() int64 { return int64(len(m.evs) - 1) }

func (m *model) broker(id int32) *brokerLane {
	b := m.brok[id]
	if b == nil {
		b = &brokerLane{id: id}
		b.state.start(0, "up", "", -1)
		m.brok[id] = b
	}
	return b
}

// setBroker changes a broker's state counters and starts a segment if
// its shown state changed.
func (m *model) setBroker(id int32, t int64, i int32, f func(b *brokerLane)) {
	b := m.broker(id)
	before := b.stateName()
	f(b)
	if now := b.stateName(); now != before {
		b.state.start(t, now, "", i)
	}
}

func (b *brokerLane) stateName() string {
	switch {
	case b.down > 0:
		return "down"
	case b.fenced > 0:
		return "fenced"
	case b.isolated > 0:
		return "isolated"
	case b.paused > 0:
		return "paused"
	}
	return "up"
}

func (m *model) part(topic string, p int32) *partLane {
	k := tpKey{topic, p}
	l := m.parts[k]
	if l == nil {
		l = &partLane{topic: topic, part: p}
		m.parts[k] = l
	}
	return l
}

func (m *model) group(name string) *groupLane {
	g := m.groups[name]
	if g == nil {
		g = &groupLane{name: name}
		m.groups[name] = g
	}
	return g
}

func (m *model) txn(pid int64, client string) *txnRow {
	r := m.txns[pid]
	if r == nil {
		r = &txnRow{pid: pid}
		m.txns[pid] = r
	}
	if r.client == "" {
		r.client = client
	}
	return r
}

// Append tick classes, least notable first.
var appendCls = []string{"aA", "aT", "a1", "a0"}

// Group member event classes.
var memberCls = []string{"gO", "gC", "gJ", "gL", "gP", "gR", "gE", "gX"}

const (
	gOther = iota
	gCoord
	gJoin
	gLeave
	gPhantom
	gRebalance
	gError
	gExpired
)

// learn reads every event once.
func (m *model) learn() {
	var lastPart *partLane
	for idx := range m.evs {
		e := &m.evs[idx]
		t, i := int64(idx), int32(idx) // times are event indexes: see x
		m.count[e.Kind]++
		var pl *partLane
		if e.Topic != "" {
			switch e.Kind {
			case fake.EventAppend, fake.EventHighWatermark, fake.EventTruncate, fake.EventLeaderChange, fake.EventISRChange,
				fake.EventProduceRejected, fake.EventReplication:
				if lastPart != nil && lastPart.topic == e.Topic && lastPart.part == e.Partition {
					pl = lastPart
				} else {
					pl = m.part(e.Topic, e.Partition)
					lastPart = pl
				}
			}
		}
		switch e.Kind {
		case fake.EventAppend, fake.EventHighWatermark, fake.EventTruncate, fake.EventLeaderChange, fake.EventISRChange:
			if pl == nil {
				continue // no partition to draw it on (a foreign journal)
			}
		}
		switch e.Kind {
		case fake.EventBrokerUp:
			m.setBroker(e.Broker, t, i, func(b *brokerLane) { b.down = 0 })
		case fake.EventBrokerDown:
			m.setBroker(e.Broker, t, i, func(b *brokerLane) { b.down = 1 })
		case fake.EventBrokerFenced:
			m.setBroker(e.Broker, t, i, func(b *brokerLane) { b.fenced = 1 })
		case fake.EventUnfence:
			m.setBroker(e.Broker, t, i, func(b *brokerLane) { b.fenced = 0 })
		case fake.EventAppend:
			if e.Detail != "" && e.Detail != "un-replicated" {
				break // a note about an append, not one
			}
			m.appended += e.LastOffset - e.Offset + 1
			c := uint8(0)
			switch {
			case e.Acks == 0:
				c = 3
			case e.Acks == 1:
				c = 2
			case e.Transactional:
				c = 1
			}
			pl.appends = append(pl.appends, tick{t: t, i: i, cls: c, lo: e.Offset, hi: e.LastOffset})
			if e.LastOffset+1 > pl.curLEO {
				pl.curLEO = e.LastOffset + 1
				pl.leo = append(pl.leo, point{t, pl.curLEO})
			}
			pl.maxOff = max(pl.maxOff, e.LastOffset+1)
			if e.Transactional {
				r := m.txn(e.ProducerID, e.Client)
				if !r.open {
					r.open, r.from, r.begin = true, t, i
				}
			}
		case fake.EventHighWatermark:
			pl.hw = append(pl.hw, point{t, e.Offset})
			pl.maxOff = max(pl.maxOff, e.Offset)
			if e.Offset > pl.curLEO {
				pl.curLEO = e.Offset
				pl.leo = append(pl.leo, point{t, e.Offset})
			}
		case fake.EventTruncate:
			m.dropped += e.LastOffset - e.Offset + 1
			pl.truncs = append(pl.truncs, tick{t: t, i: i, lo: e.Offset, hi: e.LastOffset})
			pl.curLEO = e.Offset
			pl.leo = append(pl.leo, point{t, e.Offset})
			pl.maxOff = max(pl.maxOff, e.LastOffset+1)
		case fake.EventFetch:
			m.served += e.LastOffset - e.Offset + 1
		case fake.EventLeaderChange:
			cls, label := "off", "offline"
			if e.Leader >= 0 {
				cls = "b" + strconv.Itoa(int(e.Leader)%8)
				label = fmt.Sprintf("leader %d, epoch %d", e.Leader, e.Epoch)
				m.broker(e.Leader)
			}
			pl.leader.start(t, cls, label, i)
			pl.leader.cur.leader = e.Leader
			if e.ISR != nil {
				pl.setISR(t, i, len(e.ISR))
			}
		case fake.EventISRChange:
			pl.setISR(t, i, len(e.ISR))
		case fake.EventReplication:
			paused := strings.HasSuffix(e.Detail, "paused")
			switch {
			case pl != nil && paused:
				pl.paused.start(t, "rp", "replication paused", i)
			case pl != nil:
				pl.paused.end(t)
			default: // a follower
				m.setBroker(e.Broker, t, i, func(b *brokerLane) { b.paused = map[bool]int{true: 1}[paused] })
			}
		case fake.EventProduceRejected:
			if pl != nil {
				pl.rejects = append(pl.rejects, tick{t: t, i: i})
			} else if e.ProducerID != 0 {
				r := m.txn(e.ProducerID, e.Client)
				r.notes = append(r.notes, tick{t: t, i: i, cls: 1})
			}
		case fake.EventOffsetCommit:
			if e.Group != "" {
				g := m.group(e.Group)
				g.commits = append(g.commits, tick{t: t, i: i, lo: e.Offset, hi: e.Offset})
			}
		case fake.EventGroup:
			m.groupEvent(e, t, i)
		case fake.EventCoordinatorMoved:
			if e.Group != "" {
				g := m.group(e.Group)
				g.members = append(g.members, tick{t: t, i: i, cls: gCoord})
			}
		case fake.EventProducerInit:
			r := m.txn(e.ProducerID, e.Client)
			r.notes = append(r.notes, tick{t: t, i: i})
		case fake.EventTxnBegin:
			r := m.txn(e.ProducerID, e.Client)
			if !r.open {
				r.open, r.from, r.begin = true, t, i
			}
		case fake.EventTxnEnd:
			r := m.txn(e.ProducerID, e.Client)
			c := uint8(2)
			if e.Committed {
				c = 1
			}
			from, begin := t, i
			if r.open {
				from, begin = r.from, r.begin
			}
			r.spans = append(r.spans, tick{t: from, i: begin, cls: c, lo: int64(i), hi: t})
			r.open = false
		case fake.EventFaultAdded:
			f := &faultSpan{from: t, i: i, detail: e.Detail, open: true, brokers: faultBrokers(e.Detail)}
			f.isolates = strings.HasPrefix(e.Detail, "network-partition") || strings.HasPrefix(e.Detail, "isolate")
			m.faults = append(m.faults, f)
			if f.isolates {
				for _, b := range f.brokers {
					m.setBroker(b, t, i, func(b *brokerLane) { b.isolated++ })
				}
			}
		case fake.EventFaultRemoved:
			for _, f := range m.faults {
				if f.open && (e.Detail == f.detail || strings.HasPrefix(e.Detail, f.detail+" ")) {
					f.open, f.to = false, t
					if f.isolates {
						for _, b := range f.brokers {
							m.setBroker(b, t, i, func(b *brokerLane) { b.isolated = max(b.isolated-1, 0) })
						}
					}
					break
				}
			}
		case fake.EventFaultHit:
			kind, _, _ := strings.Cut(e.Detail, " ")
			for j := len(m.faults) - 1; j >= 0; j-- {
				if f := m.faults[j]; f.open && strings.HasPrefix(f.detail, kind) {
					f.hits = append(f.hits, tick{t: t, i: i})
					break
				}
			}
		}
	}
	end := m.end()
	for _, b := range m.brok {
		b.state.end(end)
	}
	for _, p := range m.parts {
		p.leader.end(end)
		p.isr.end(end)
		p.paused.end(end)
	}
	for _, g := range m.groups {
		g.gens.end(end)
	}
	for _, r := range m.txns {
		if r.open {
			r.spans = append(r.spans, tick{t: r.from, i: r.begin, lo: -1, hi: end})
		}
	}
	for _, f := range m.faults {
		if f.open {
			f.to = end
		}
	}
}

func (p *partLane) setISR(t int64, i int32, n int) {
	p.maxISR = max(p.maxISR, n)
	if p.isr.open && p.isr.cur.label == strconv.Itoa(n) {
		return
	}
	p.isr.start(t, "isr"+strconv.Itoa(min(n, 4)), strconv.Itoa(n), i)
}

func (m *model) groupEvent(e *fake.Event, t int64, i int32) {
	if e.Group == "" {
		return
	}
	g := m.group(e.Group)
	c := uint8(gOther)
	d := e.Detail
	switch {
	case e.Error != "":
		c = gError
	case strings.HasPrefix(d, "join"):
		c = gJoin
		if e.Epoch > g.gen {
			g.gen = e.Epoch
			g.gens.start(t, "gen"+strconv.Itoa(int(e.Epoch)%2), "gen "+strconv.Itoa(int(e.Epoch)), i)
		}
	case strings.HasPrefix(d, "leave"):
		c = gLeave
	case strings.HasPrefix(d, "rebalance"):
		c = gRebalance
	case strings.HasPrefix(d, "phantoms"):
		c = gPhantom
	case strings.HasPrefix(d, "member ") && strings.HasSuffix(d, " expired"):
		c = gExpired
	case strings.HasPrefix(d, "consumer heartbeat") && e.Epoch > 0:
		c = gJoin
	}
	g.members = append(g.members, tick{t: t, i: i, cls: c})
}

// faultBrokers reads the brokers a fault names ("network-partition
// brokers [0 1]", "... on brokers [2]"); nil if it names none.
func faultBrokers(detail string) []int32 {
	_, rest, ok := strings.Cut(detail, "brokers [")
	if !ok {
		return nil
	}
	list, _, ok := strings.Cut(rest, "]")
	if !ok {
		return nil
	}
	var out []int32
	for f := range strings.FieldsSeq(list) {
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil
		}
		out = append(out, int32(n))
	}
	return out
}

// rel is a time since the first event, as "+12.345ms".
func rel(t int64) string {
	return "+" + strconv.FormatFloat(float64(t)/1e6, 'f', 3, 64) + "ms"
}

// hover is the hover text of event i: its time since the first event
// and the journal's line for it.
func (m *model) hover(i int32) string {
	if i < 0 || int(i) >= len(m.evs) {
		return ""
	}
	return rel(m.ts[i]) + " " + m.evs[i].String()
}

// lane is one drawn lane.
type lane struct {
	label string
	sub   string // a second label line
	y, h  int64
	draw  func(o *out, y, h int64)
}

func render(o *out, p Page) {
	title := p.Title
	if title == "" {
		title = "kafkaemu timeline"
	}
	o.s("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
	o.esc(title)
	o.s("</title>\n<style>")
	o.s(css)
	o.s("</style></head>\n<body>\n<h1>")
	o.esc(title)
	o.s("</h1>\n")
	if p.Err != nil {
		o.s(`<p class="err" id="readerr">`)
		o.esc(fmt.Sprintf("Read %d events; %v", len(p.Events), p.Err))
		o.s("</p>\n")
	}
	if len(p.Events) == 0 {
		o.s(`<p class="empty" id="empty">The journal is empty: there are no events to draw.</p>` + "\n")
		writeMarkList(o, p.Marks)
		o.s("</body></html>\n")
		return
	}
	m := newModel(p.Events)
	m.learn()
	m.summary(o)
	o.s(legend)
	lanes := m.lanes(p.Marks)
	var y int64 = axisH
	for i := range lanes {
		lanes[i].y = y
		y += lanes[i].h + laneGap
	}
	height := y + 4
	width := int64(labelW + plotW + padR)
	o.s(`<div id="chart"><svg xmlns="http://www.w3.org/2000/svg" id="tl"`)
	o.num("width", width)
	o.num("height", height)
	o.s(` viewBox="0 0 `)
	o.i(width)
	o.s(" ")
	o.i(height)
	o.s("\">\n")
	m.axis(o, height)
	for _, l := range lanes {
		o.s(`<g class="lane"`)
		o.attr("data-lane", l.label)
		o.s(">")
		o.rect("lbg", 0, l.y, width, l.h, "")
		o.text("ll", 4, l.y+12, l.label)
		if l.sub != "" {
			o.text("ls", 4, l.y+24, l.sub)
		}
		l.draw(o, l.y, l.h)
		o.s("</g>\n")
	}
	o.s("</svg></div>\n")
	writeMarkList(o, p.Marks)
	o.s(`<div id="tip"></div><script>`)
	o.s(script)
	o.s("</script>\n</body></html>\n")
}

func (m *model) summary(o *out) {
	o.s(`<p class="sum">`)
	o.esc(fmt.Sprintf("%d events over %v: %d records appended, %d dropped by failovers, %d served by fetch; "+
		"%d leader changes, %d ISR changes, %d brokers down, %d coordinator moves; faults %d added, %d hits, %d removed",
		len(m.evs), time.Duration(m.span).Round(time.Microsecond), m.appended, m.dropped, m.served,
		m.count[fake.EventLeaderChange], m.count[fake.EventISRChange], m.count[fake.EventBrokerDown], m.count[fake.EventCoordinatorMoved],
		m.count[fake.EventFaultAdded], m.count[fake.EventFaultHit], m.count[fake.EventFaultRemoved]))
	o.s("</p>\n")
}

// axis draws the time axis and its grid lines.
func (m *model) axis(o *out, height int64) {
	o.s(`<g class="axis">`)
	step := niceStep(m.span / 10)
	last := int64(-1000)
	for k := int64(0); step > 0 && k <= m.span/step; k++ {
		t := k * step // at most span: no overflow
		x := m.xAt(t)
		if x-last < 60 {
			continue
		}
		last = x
		o.rect("grid", x, axisH-4, 1, height-axisH, "")
		o.text("tk", x+2, 12, "+"+time.Duration(t).String())
	}
	if m.span == 0 {
		o.text("tk", labelW+2, 12, "every event at one instant; in journal order")
	}
	o.s("</g>\n")
}

// niceStep is the 1, 2 or 5 times a power of ten at or above d (ns).
func niceStep(d int64) int64 {
	if d <= 0 {
		return 0
	}
	for p := int64(1); p < 1e18/10; p *= 10 {
		for _, k := range []int64{1, 2, 5} {
			if k*p >= d {
				return k * p
			}
		}
	}
	return d
}

// lanes lays out the lanes, top to bottom: faults, brokers, partitions,
// groups, transactions.
func (m *model) lanes(marks []Mark) []lane {
	var ls []lane
	// Aggregated columns: wider when many lanes aggregate.
	agg := 0
	for _, p := range m.parts {
		if len(p.appends) > maxTicks {
			agg++
		}
	}
	for _, g := range m.groups {
		if len(g.commits) > maxTicks {
			agg++
		}
		if len(g.members) > maxTicks {
			agg++
		}
	}
	spans := 0
	for _, r := range m.txns {
		spans += len(r.spans)
	}
	if spans > maxTicks {
		agg += min(len(m.txns), maxRows)
	}
	m.colW = max(1, int64(agg*plotW+maxCells-1)/maxCells)

	if len(m.faults) > 0 {
		rows := min(len(m.faults), maxRows)
		ls = append(ls, lane{label: "faults", sub: fmt.Sprintf("%d added", len(m.faults)), h: rowsTop + int64(rows)*rowH + 3, draw: m.drawFaults})
	}
	ids := slices.Sorted(mapKeys(m.brok))
	for _, id := range ids {
		b := m.brok[id]
		ls = append(ls, lane{label: "broker " + strconv.Itoa(int(id)), h: brokerH, draw: func(o *out, y, h int64) { m.drawBroker(o, b, y, h) }})
	}
	keys := slices.SortedFunc(mapKeys(m.parts), func(a, b tpKey) int { return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.part, b.part)) })
	byPart := map[tpKey][]Mark{}
	for _, mk := range marks {
		k := tpKey{mk.Topic, mk.Partition}
		byPart[k] = append(byPart[k], mk)
	}
	for _, k := range keys {
		p := m.parts[k]
		mk := byPart[k]
		sub := fmt.Sprintf("%d appends, end %d", len(p.appends), p.curLEO)
		if len(mk) > 0 {
			sub = fmt.Sprintf("%d anomalies marked", len(mk))
		}
		ls = append(ls, lane{label: fmt.Sprintf("%s[%d]", k.topic, k.part), sub: sub, h: partH, draw: func(o *out, y, h int64) { m.drawPart(o, p, mk, y, h) }})
	}
	for _, name := range slices.Sorted(mapKeys(m.groups)) {
		g := m.groups[name]
		ls = append(ls, lane{label: "group " + name, sub: fmt.Sprintf("%d commits", len(g.commits)), h: groupH, draw: func(o *out, y, h int64) { m.drawGroup(o, g, y, h) }})
	}
	if len(m.txns) > 0 {
		rows := min(len(m.txns), maxRows)
		ls = append(ls, lane{label: "transactions", sub: fmt.Sprintf("%d producer ids", len(m.txns)), h: rowsTop + int64(rows)*rowH + 3, draw: m.drawTxns})
	}
	return ls
}

func mapKeys[K comparable, V any](mp map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range mp {
			if !yield(k) {
				return
			}
		}
	}
}

// drawSegs draws segments as rects between y and y+h, labelled when wide
// enough.
func (m *model) drawSegs(o *out, segs []seg, y, h int64, extra string) {
	for _, s := range segs {
		x0, x1 := m.x(s.from), m.x(s.to)
		if x1 <= x0 {
			x1 = x0 + 1
		}
		t := m.hover(s.i)
		if t == "" {
			t = s.note
		}
		if s.label != "" && !strings.Contains(t, s.label) {
			t = s.label + "\n" + t
		}
		if extra != "" {
			t = extra + s.label + " from " + m.rel(s.from) + " to " + m.rel(s.to) + "\n" + t
		}
		o.rect(s.cls, x0, y, x1-x0, h, t)
		if s.label != "" && x1-x0 > int64(len(s.label))*6+6 && h >= 10 {
			o.text("sl", x0+3, y+h-2, s.label)
		}
	}
}

func (m *model) drawBroker(o *out, b *brokerLane, y, h int64) {
	for _, s := range b.state.segs {
		x0, x1 := m.x(s.from), m.x(s.to)
		t := fmt.Sprintf("broker %d %s from %s to %s", b.id, s.cls, m.rel(s.from), m.rel(s.to))
		if s.i >= 0 {
			t += "\n" + m.hover(s.i)
		}
		o.rect("st "+s.cls, x0, y+2, max(x1-x0, 1), h-4, t)
		if s.cls != "up" && x1-x0 > 50 {
			o.text("sl", x0+3, y+h-5, s.cls)
		}
	}
	m.drawBands(o, y, h, func(f *faultSpan) bool { return f.brokers == nil || slices.Contains(f.brokers, b.id) })
	o.rect("sw b"+strconv.Itoa(int(b.id)%8), labelW-14, y+4, 10, h-8, "")
}

func (m *model) drawFaults(o *out, y, h int64) {
	for n, f := range m.faults {
		row := int64(min(n, maxRows-1))
		ry := y + rowsTop + row*rowH
		x0, x1 := m.x(f.from), m.x(f.to)
		t := fmt.Sprintf("fault %s from %s to %s, %d hits\n%s", f.detail, m.rel(f.from), m.rel(f.to), len(f.hits), m.hover(f.i))
		o.rect("fb", x0, ry, max(x1-x0, 2), rowH-2, t)
		if x1-x0 > 40 {
			o.text("sl", x0+3, ry+rowH-4, f.detail)
		}
		m.drawTicks(o, f.hits, []string{"fh"}, "fault hits", ry+rowH-5, 4, nil)
	}
}

// leaderAt is the partition's leader at time t (-1 if unknown).
func (p *partLane) leaderAt(t int64) int32 {
	for _, s := range p.leader.segs {
		if s.from <= t && t < s.to {
			return s.leader
		}
	}
	return -1
}

// drawBands draws the bands of the faults that hit a lane.
func (m *model) drawBands(o *out, y, h int64, hits func(f *faultSpan) bool) {
	for _, f := range m.faults {
		if hits(f) {
			o.rect("band", m.x(f.from), y, max(m.x(f.to)-m.x(f.from), 2), h, "")
		}
	}
}

func (m *model) drawPart(o *out, p *partLane, marks []Mark, y, h int64) {
	top, bottom := y+4, y+h-15
	span := max(p.maxOff, 1)
	yOf := func(off int64) int64 { return bottom - off*(bottom-top)/span }
	m.drawBands(o, top, bottom-top, func(f *faultSpan) bool { return f.brokers == nil || slices.Contains(f.brokers, p.leaderAt(f.from)) })
	m.drawSegs(o, p.paused.segs, top, bottom-top, "")
	m.drawSegs(o, p.leader.segs, y+h-13, 7, "")
	m.drawSegs(o, p.isr.segs, y+h-5, 4, "ISR size ")
	m.steps(o, "hw", p.hw, yOf)
	m.steps(o, "leo", p.leo, yOf)
	m.drawTicks(o, p.appends, appendCls, "appends", 0, 0, yOf)
	for _, k := range p.truncs {
		x := m.x(k.t)
		o.rect("tr", x-1, yOf(k.hi+1), 3, max(yOf(k.lo)-yOf(k.hi+1), 2), m.hover(k.i))
	}
	for _, k := range p.rejects {
		o.rect("rj", m.x(k.t), bottom-5, 2, 5, m.hover(k.i))
	}
	o.text("ls", labelW-4-6*int64(len(strconv.FormatInt(span, 10))), top+8, strconv.FormatInt(span, 10))
	m.drawMarks(o, p, marks, yOf)
}

// steps draws a step line of (time, offset) points, keeping each pixel
// column's last value.
func (m *model) steps(o *out, cls string, pts []point, yOf func(int64) int64) {
	if len(pts) == 0 {
		return
	}
	o.s(`<path class="`)
	o.s(cls)
	o.s(`" d="M`)
	x, y := m.x(pts[0].t), yOf(pts[0].v)
	o.i(x)
	o.s(" ")
	o.i(y)
	pend := y
	for _, pt := range pts[1:] {
		if px := m.x(pt.t); px != x {
			if pend != y {
				o.s("V")
				o.i(pend)
				y = pend
			}
			o.s("H")
			o.i(px)
			x = px
			o.spill()
		}
		pend = yOf(pt.v)
	}
	if pend != y {
		o.s("V")
		o.i(pend)
	}
	o.s("H")
	o.i(m.x(m.end()))
	o.s(`"/>`)
}

// drawTicks draws ticks one by one, or aggregated per column beyond
// maxTicks. With yOf, a tick spans its offsets; else y..y+h.
func (m *model) drawTicks(o *out, ks []tick, classes []string, what string, y, h int64, yOf func(int64) int64) {
	if len(ks) <= maxTicks {
		for _, k := range ks {
			ty, th := y, h
			if yOf != nil {
				ty = yOf(k.hi + 1)
				th = max(yOf(k.lo)-ty, 1)
			}
			o.rect(classes[k.cls], m.x(k.t), ty, 2, th, m.hover(k.i))
		}
		return
	}
	type cell struct {
		n      int
		i0, i1 int32
		lo, hi int64
		cls    uint8
	}
	cols := make([]cell, plotW/m.colW+2)
	for _, k := range ks {
		c := &cols[min((m.x(k.t)-labelW)/m.colW, int64(len(cols)-1))]
		if c.n == 0 {
			*c = cell{n: 1, i0: k.i, i1: k.i, lo: k.lo, hi: k.hi, cls: k.cls}
			continue
		}
		c.n++
		c.i0, c.i1 = min(c.i0, k.i), max(c.i1, k.i)
		c.lo, c.hi = min(c.lo, k.lo), max(c.hi, k.hi)
		c.cls = max(c.cls, k.cls)
	}
	var b strings.Builder
	for n, c := range cols {
		if c.n == 0 {
			continue
		}
		ty, th := y, h
		if yOf != nil {
			ty = yOf(c.hi + 1)
			th = max(yOf(c.lo)-ty, 1)
		}
		b.Reset()
		fmt.Fprintf(&b, "%d %s (aggregated) from %s to %s, #%d..#%d", c.n, what, rel(m.ts[c.i0]), rel(m.ts[c.i1]), m.evs[c.i0].Seq, m.evs[c.i1].Seq)
		if yOf != nil {
			fmt.Fprintf(&b, ", offsets %d..%d", c.lo, c.hi)
		}
		o.rect(classes[c.cls]+" ag", labelW+int64(n)*m.colW, ty, m.colW, th, b.String())
	}
}

func (m *model) drawGroup(o *out, g *groupLane, y, h int64) {
	m.drawSegs(o, g.gens.segs, y+2, 12, "")
	m.drawTicks(o, g.members, memberCls, "member events", y+15, 12, nil)
	m.drawTicks(o, g.commits, []string{"cm"}, "commits", y+29, 8, nil)
}

func (m *model) drawTxns(o *out, y, h int64) {
	pids := slices.Sorted(mapKeys(m.txns))
	rows := make([][]tick, min(len(pids), maxRows))
	notes := make([][]tick, len(rows))
	total := 0
	for n, pid := range pids {
		r := m.txns[pid]
		row := min(n, maxRows-1)
		rows[row] = append(rows[row], r.spans...)
		notes[row] = append(notes[row], r.notes...)
		total += len(r.spans)
		if n < maxRows {
			label := "pid " + strconv.FormatInt(pid, 10)
			if r.client != "" {
				label = r.client + " " + label
			}
			if n == maxRows-1 && len(pids) > maxRows {
				label = fmt.Sprintf("%d more producer ids", len(pids)-n)
			}
			o.text("rl", 8, y+rowsTop+int64(row)*rowH+rowH-3, label)
		}
	}
	states := [...]string{"open", "committed", "aborted"}
	classes := []string{"tO", "tC", "tA"}
	for row, spans := range rows {
		ry := y + rowsTop + int64(row)*rowH
		if total > maxTicks {
			m.drawTicks(o, spans, classes, "transactions", ry, rowH-3, nil)
		} else {
			for _, s := range spans {
				x0, x1 := m.x(s.t), m.x(s.hi)
				t := fmt.Sprintf("transaction of pid %d %s, from %s to %s\n%s", m.evs[s.i].ProducerID, states[s.cls], m.rel(s.t), m.rel(s.hi), m.hover(s.i))
				if s.lo >= 0 {
					t += "\n" + m.hover(int32(s.lo))
				}
				o.rect(classes[s.cls], x0, ry, max(x1-x0, 2), rowH-3, t)
			}
		}
		m.drawTicks(o, notes[row], []string{"tI", "tF"}, "producer events", ry-1, rowH-1, nil)
	}
}

// drawMarks draws the anomalies of one partition lane, each just after
// its cause (so that the cause stays in view), at its offset.
func (m *model) drawMarks(o *out, p *partLane, marks []Mark, yOf func(int64) int64) {
	for _, mk := range marks {
		t, ok := m.seqIndex(mk.Seq)
		if !ok {
			t = m.end()
			for j := len(p.appends) - 1; j >= 0; j-- {
				if a := p.appends[j]; a.lo <= mk.Offset && mk.Offset <= a.hi {
					t = a.t
					break
				}
			}
		}
		o.s(`<circle class="mk"`)
		o.num("cx", m.x(t)+7)
		o.num("cy", (yOf(mk.Offset)+yOf(mk.Offset+1))/2)
		if len(marks) > 10 {
			o.s(` r="3"`)
		} else {
			o.s(` r="5"`)
		}
		o.attr("data-anomaly", mk.Anomaly)
		o.attr("data-topic", mk.Topic)
		o.num("data-partition", int64(mk.Partition))
		o.num("data-offset", mk.Offset)
		o.num("data-seq", mk.Seq)
		o.attr("data-t", markText(mk))
		o.s("/>")
		o.spill()
	}
}

// seqIndex is the index of the event numbered seq.
func (m *model) seqIndex(seq int64) (int64, bool) {
	if seq <= 0 {
		return 0, false
	}
	// Journals number events from 1, in order: look there first.
	if i := seq - 1; i < int64(len(m.evs)) && m.evs[i].Seq == seq {
		return i, true
	}
	for i := range m.evs {
		if m.evs[i].Seq == seq {
			return int64(i), true
		}
	}
	return 0, false
}

func markText(mk Mark) string {
	s := fmt.Sprintf("%s %s[%d]@%d", mk.Anomaly, mk.Topic, mk.Partition, mk.Offset)
	if mk.Text != "" {
		s += ": " + mk.Text
	}
	return s
}

// writeMarkList lists the marks under the chart.
func writeMarkList(o *out, marks []Mark) {
	if len(marks) == 0 {
		return
	}
	o.s(`<h2>Anomalies and their causes</h2><ol id="marks">`)
	for n, mk := range marks {
		if n == 500 {
			o.s("<li>")
			o.esc(fmt.Sprintf("... and %d more", len(marks)-n))
			o.s("</li>")
			break
		}
		o.s("<li>")
		o.esc(markText(mk))
		o.s("</li>\n")
	}
	o.s("</ol>\n")
}

const css = `body{font:13px/1.35 system-ui,sans-serif;margin:12px;color:#222}
h1{font-size:18px;margin:0 0 6px}h2{font-size:15px}
.sum{margin:4px 0}.err{background:#fde2e2;border:1px solid #d33;padding:6px}.empty{font-size:15px}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
#chart{overflow-x:auto}svg text{font:11px system-ui,sans-serif;fill:#222}
.lbg{fill:#fafafa}.rl{font-size:10px!important;fill:#555!important}.ll{font-weight:600}.ls{fill:#666!important}.tk{fill:#666!important}.sl{fill:#222;pointer-events:none;font-size:10px!important}
.grid{fill:#e4e4e4}
.up{fill:#cdebc6}.down{fill:#444}.fenced{fill:#8b1a1a}.paused{fill:#f2cf6b}.isolated{fill:#e59a9a}
.b0{fill:#4e79a7}.b1{fill:#f28e2b}.b2{fill:#59a14f}.b3{fill:#b07aa1}.b4{fill:#76b7b2}.b5{fill:#edc948}.b6{fill:#9c755f}.b7{fill:#ff9da7}.off{fill:#222}
.isr0{fill:#d33}.isr1{fill:#f4a6a6}.isr2{fill:#b9c9dd}.isr3{fill:#7f9cc0}.isr4{fill:#4e6f99}
.rp{fill:#f2cf6b;opacity:.35}.band{fill:#f2a33a;opacity:.18;pointer-events:none}
.hw{fill:none;stroke:#2b6cb0;stroke-width:1.5}.leo{fill:none;stroke:#888;stroke-dasharray:3 2}
.aA{fill:#2b4c7e}.aT{fill:#8e44ad}.a1{fill:#e67e22}.a0{fill:#c0392b}.ag{opacity:.75}
.tr{fill:#e00}.rj{fill:#e00;opacity:.6}
.mk{fill:#fff200;stroke:#d00;stroke-width:1.5}
.gen0{fill:#e8eef7}.gen1{fill:#d3deef}.gJ{fill:#2e8b57}.gL{fill:#888}.gX{fill:#d00}.gE{fill:#e74c3c}.gR{fill:#f39c12}.gP{fill:#8e44ad}.gC{fill:#16a085}.gO{fill:#bbb}.cm{fill:#2b6cb0}
.fb{fill:#f7c98b}.fh{fill:#a0522d}
.tO{fill:#ccc}.tC{fill:#59a14f}.tA{fill:#e15759}.tI{fill:#333}.tF{fill:#d00}
[data-t]:hover{stroke:#000;stroke-width:1}
#tip{position:absolute;display:none;background:#fffbe6;border:1px solid #999;padding:4px 6px;max-width:720px;white-space:pre-wrap;font:12px ui-monospace,monospace;pointer-events:none;z-index:2}
#marks li{margin:2px 0}`

const legend = `<p class="legend"><span><i class="aA" style="background:#2b4c7e"></i>append acks=all</span><span><i style="background:#e67e22"></i>acks=1</span><span><i style="background:#c0392b"></i>acks=0</span><span><i style="background:#8e44ad"></i>transactional</span><span><i style="background:#e00"></i>dropped tail</span><span><i style="background:#2b6cb0;height:2px"></i>high watermark</span><span><i style="border-top:1px dashed #888;height:0"></i>log end</span><span><i style="background:#fff200;border:2px solid #d00;border-radius:6px;width:8px;height:8px"></i>anomaly</span><span><i style="background:#cdebc6"></i>broker up</span><span><i style="background:#444"></i>down</span><span><i style="background:#f2cf6b"></i>paused</span><span><i style="background:#e59a9a"></i>isolated</span><span><i style="background:#8b1a1a"></i>fenced</span><span><i style="background:#f7c98b"></i>fault</span><span><i style="background:#59a14f"></i>txn committed</span><span><i style="background:#e15759"></i>aborted</span></p>
`

const script = `(function(){var tip=document.getElementById('tip');
document.addEventListener('mousemove',function(e){var el=e.target&&e.target.closest?e.target.closest('[data-t]'):null;
if(!el){tip.style.display='none';return}
tip.textContent=el.getAttribute('data-t');tip.style.display='block';
var x=e.pageX+14,w=tip.offsetWidth;if(x+w>window.scrollX+document.documentElement.clientWidth)x=Math.max(0,e.pageX-w-14);
tip.style.left=x+'px';tip.style.top=(e.pageY+14)+'px'});})();`
