package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed73168108/kafkaemu/assertions"
	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The HTTP fault API of kafkaemu serve. Parameters come in the query
// string (or an application/x-www-form-urlencoded body) and are named as
// in the scenario YAML; an unknown or repeated parameter is refused before
// anything happens. Every answer is JSON: the result, or {"error": "..."}
// with a 4xx status.

const (
	maxQuery = 4 << 10  // bytes of query string: beyond it, 414
	maxBody  = 64 << 10 // bytes of request body: beyond it, 413

	maxPhantoms = 100 // members one join-phantom adds
)

// endpoint is one method on one path.
type endpoint struct {
	params []string // the parameters it takes
	// parse reads the parameters and returns the action; the action runs
	// only if every parameter was valid.
	parse func(p *params) func() (any, error)
}

// target is what the API acts on: the emulator (kafkaemu serve) or a real
// cluster behind the fault proxy (kafkaemu proxy), which answers the verbs
// that need the emulator's model with 501 Not Implemented.
type target interface {
	brokersView() any // GET /brokers
	Brokers() []fake.BrokerState
	Topics() []string
	Partition(topic string, partition int32) (fake.PartitionState, error)
	Groups() ([]string, error)
	Group(group string) (*kfake.GroupInfo, error)
	FailLeader(topic string, partition int32) (int32, error)
	PauseReplication(topic string, partition int32) error
	ResumeReplication(topic string, partition int32) error
	PauseFollower(broker int32) error
	ResumeFollower(broker int32) error
	KillBroker(id int32) error
	RestartBroker(id int32) error
	Rebalance(ctx context.Context, group string) error
	ExpireMember(group, memberID string) error
	JoinPhantom(group string, n int) ([]string, error)
	LeavePhantom(group string, n int) error
	MoveCoordinator(group string) (int32, error)
	InjectError(f kfake.Fault) (*fake.InjectedError, error)
	AddFault(f fake.NetFault, targets ...fake.Target) (*fake.FaultHandle, error)
	Journal() []fake.Event
	JournalDropped() int64
	WriteJournal(w io.Writer) error
	Seed() int64
	brokerHistory(ctx context.Context) (*assertions.History, error) // GET /check
}

// emulator is the API's target under kafkaemu serve.
type emulator struct{ *fake.Cluster }

func (e emulator) brokersView() any { return e.Brokers() }

func (e emulator) brokerHistory(ctx context.Context) (*assertions.History, error) {
	return harness.BrokerHistoryOf(ctx, e.Cluster)
}

type api struct {
	c         target
	endpoints map[string]map[string]*endpoint // path -> method -> endpoint

	mu     sync.Mutex
	faults map[int]*installed
	nextID int
}

// installed is a fault the API added, as GET /faults lists it.
type installed struct {
	ID    int    `json:"id"`
	Verb  string `json:"verb"`
	Fault string `json:"fault"`
	Hits  int    `json:"hits"`
	h     interface {
		Hits() int
		Remove() error
	}
}

// faultTargets are the network fault parameters that narrow a fault.
var faultTargets = []string{"broker", "client", "requests", "count"}

// newAPI is the API of kafkaemu serve.
func newAPI(c *fake.Cluster) *api { return newTargetAPI(emulator{c}) }

func newTargetAPI(c target) *api {
	a := &api{c: c, faults: map[int]*installed{}, endpoints: map[string]map[string]*endpoint{}}
	get := func(path string, names []string, fn func(p *params) (any, error)) {
		a.add("GET", path, names, func(p *params) func() (any, error) { return func() (any, error) { return fn(p) } })
	}
	get("/brokers", nil, func(*params) (any, error) { return a.c.brokersView(), nil })
	get("/topics", nil, func(*params) (any, error) { return a.topics(), nil })
	a.add("GET", "/check", []string{"topic", "consumed-by"}, a.check)
	a.add("GET", "/partitions", []string{"topic", "partition"}, a.partitions)
	a.add("GET", "/journal", nil, nil)  // written by ServeHTTP
	a.add("GET", "/timeline", nil, nil) // written by ServeHTTP
	get("/faults", nil, func(*params) (any, error) { return a.listFaults(), nil })
	a.add("GET", "/timeline.html", nil, nil) // written by timelineHTML (api_html.go)
	a.add("GET", "/groups", nil, func(*params) func() (any, error) { return a.groups })
	a.add("GET", "/groups/{group}", nil, func(p *params) func() (any, error) {
		g := p.path
		return func() (any, error) {
			gi, err := a.c.Group(g)
			if err != nil {
				return nil, notFound(err.Error())
			}
			return groupJSON(gi), nil
		}
	})

	// Replication and topology.
	a.add("POST", "/fail-leader", []string{"topic", "partition"}, func(p *params) func() (any, error) {
		parts := p.partitions(true)
		return func() (any, error) {
			leaders := map[string]int32{}
			for _, tp := range parts {
				l, err := a.c.FailLeader(tp.topic, tp.partition)
				if err != nil {
					return nil, err
				}
				leaders[strconv.Itoa(int(tp.partition))] = l
			}
			if len(parts) == 1 {
				return map[string]any{"ok": true, "topic": parts[0].topic, "partition": parts[0].partition, "leader": leaders[strconv.Itoa(int(parts[0].partition))]}, nil
			}
			return map[string]any{"ok": true, "topic": parts[0].topic, "leaders": leaders}, nil
		}
	})
	for _, verb := range []string{"pause-replication", "resume-replication"} {
		pause := verb == "pause-replication"
		a.add("POST", "/"+verb, []string{"topic", "partition", "broker"}, func(p *params) func() (any, error) {
			if p.has("broker") {
				if p.has("topic") || p.has("partition") {
					p.fail("give either broker or topic (and partition), not both")
				}
				b := p.broker("broker", true)
				return func() (any, error) {
					if pause {
						return ok(), a.c.PauseFollower(b)
					}
					return ok(), a.c.ResumeFollower(b)
				}
			}
			parts := p.partitions(true)
			return func() (any, error) {
				for _, tp := range parts {
					var err error
					if pause {
						err = a.c.PauseReplication(tp.topic, tp.partition)
					} else {
						err = a.c.ResumeReplication(tp.topic, tp.partition)
					}
					if err != nil {
						return nil, err
					}
				}
				return ok(), nil
			}
		})
	}
	a.add("POST", "/kill-broker", []string{"broker"}, func(p *params) func() (any, error) {
		b := p.broker("broker", true)
		return func() (any, error) { return ok(), a.c.KillBroker(b) }
	})
	a.add("POST", "/restart-broker", []string{"broker"}, func(p *params) func() (any, error) {
		b := p.broker("broker", true)
		return func() (any, error) { return ok(), a.c.RestartBroker(b) }
	})

	// Groups.
	a.add("POST", "/rebalance", []string{"group"}, func(p *params) func() (any, error) {
		g := p.str("group", true)
		return func() (any, error) {
			ctx, cancel := contextTimeout(30 * time.Second)
			defer cancel()
			return ok(), a.c.Rebalance(ctx, g)
		}
	})
	a.add("POST", "/expire-member", []string{"member", "group"}, func(p *params) func() (any, error) {
		m, g := p.str("member", true), p.str("group", false)
		return func() (any, error) {
			if g == "" {
				var err error
				if g, err = a.groupOf(m); err != nil {
					return nil, err
				}
			}
			return map[string]any{"ok": true, "group": g}, a.c.ExpireMember(g, m)
		}
	})
	a.add("POST", "/join-phantom", []string{"group", "count"}, func(p *params) func() (any, error) {
		g := p.str("group", true)
		n, _ := p.int("count", false, 1, maxPhantoms, fmt.Sprintf("a whole number from 1 to %d", maxPhantoms))
		return func() (any, error) {
			ids, err := a.c.JoinPhantom(g, max(int(n), 1))
			return map[string]any{"ok": err == nil, "members": ids}, err
		}
	})
	a.add("POST", "/leave-phantom", []string{"group", "count"}, func(p *params) func() (any, error) {
		g, n := p.str("group", true), p.count()
		return func() (any, error) { return ok(), a.c.LeavePhantom(g, max(n, 1)) }
	})
	a.add("POST", "/move-coordinator", []string{"group"}, func(p *params) func() (any, error) {
		g := p.str("group", true)
		return func() (any, error) {
			b, err := a.c.MoveCoordinator(g)
			return map[string]any{"ok": err == nil, "coordinator": b}, err
		}
	})

	// Network faults.
	a.add("POST", "/latency", append([]string{"delay", "jitter"}, faultTargets...), func(p *params) func() (any, error) {
		d, j := p.duration("delay", true), p.duration("jitter", false)
		return a.netFault("latency", p, fake.Latency(d, j))
	})
	a.add("POST", "/drop-responses", append([]string{"probability"}, faultTargets...), func(p *params) func() (any, error) {
		return a.netFault("drop-responses", p, fake.DropResponses(p.probability()))
	})
	a.add("POST", "/close-connections", faultTargets, func(p *params) func() (any, error) {
		return a.netFault("close-connections", p, fake.CloseConnections())
	})
	a.add("POST", "/blackhole", faultTargets, func(p *params) func() (any, error) {
		return a.netFault("blackhole", p, fake.Blackhole())
	})
	a.add("POST", "/network-partition", []string{"brokers"}, func(p *params) func() (any, error) {
		bs := p.brokerList("brokers")
		return a.netFault("network-partition", p, fake.Partition(bs...))
	})
	a.addIsolate() // POST /isolate: api_isolate.go

	// Errors.
	a.add("POST", "/inject-error", []string{"error", "requests", "broker", "topic", "partition", "group", "count"}, func(p *params) func() (any, error) {
		f := kfake.Fault{Err: p.kafkaError("error"), Keys: p.requests(true), Group: p.str("group", false), Count: -1}
		if p.has("broker") {
			f.Nodes = []int32{p.broker("broker", true)}
		}
		if p.has("topic") || p.has("partition") {
			parts := p.partitions(false)
			if len(parts) > 0 {
				f.Topic = parts[0].topic
			}
			if p.has("partition") && len(parts) == 1 {
				f.Partitions = []int32{parts[0].partition}
			}
		}
		if n := p.count(); n > 0 {
			f.Count = n
		}
		return func() (any, error) {
			h, err := a.c.InjectError(f)
			if err != nil {
				return nil, err
			}
			return a.install("inject-error", h.String(), h), nil
		}
	})
	return a
}

func (a *api) add(method, path string, params []string, parse func(p *params) func() (any, error)) {
	if a.endpoints[path] == nil {
		a.endpoints[path] = map[string]*endpoint{}
	}
	a.endpoints[path][method] = &endpoint{params: params, parse: parse}
}

func ok() map[string]any { return map[string]any{"ok": true} }

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// apiError is an error with its HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func notFound(msg string) error { return &apiError{http.StatusNotFound, msg} }

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("kafkaemu: internal error: %v", p))
		}
	}()
	if len(r.URL.RawQuery) > maxQuery {
		writeError(w, http.StatusRequestURITooLong, fmt.Sprintf("the query string has %d bytes; at most %d are accepted", len(r.URL.RawQuery), maxQuery))
		return
	}
	if r.ContentLength > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body has %d bytes; at most %d are accepted", r.ContentLength, maxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	path, arg := r.URL.Path, ""
	if rest, ok := strings.CutPrefix(path, "/faults/"); ok && rest != "" {
		path, arg = "/faults/{id}", rest
	}
	if rest, ok := strings.CutPrefix(path, "/groups/"); ok && rest != "" {
		path, arg = "/groups/{group}", rest
	}
	methods := a.endpoints[path]
	if path == "/faults/{id}" {
		methods = map[string]*endpoint{"DELETE": nil}
	}
	if methods == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s; endpoints: %s", r.URL.Path, strings.Join(a.paths(), ", ")))
		return
	}
	if _, known := methods[r.Method]; !known {
		allowed := slices.Sorted(mapKeys(methods))
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: this endpoint takes %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
		return
	}
	if u, ok := a.c.(interface{ unsupported(path string) string }); ok {
		if why := u.unsupported(path); why != "" {
			writeError(w, http.StatusNotImplemented, why)
			return
		}
	}
	values, err := a.form(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if path == "/faults/{id}" {
		a.removeFault(w, values, arg)
		return
	}
	ep := methods[r.Method]
	p := &params{v: values, c: a.c, path: arg, endpoint: r.Method + " " + r.URL.Path}
	p.checkNames(ep.params)
	if p.err != nil {
		writeError(w, http.StatusBadRequest, p.err.Error())
		return
	}
	switch path {
	case "/journal":
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set(droppedHeader, strconv.FormatInt(a.c.JournalDropped(), 10))
		_ = a.c.WriteJournal(w)
		return
	case "/timeline":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		evs, dropped := a.c.Journal(), a.c.JournalDropped()
		w.Header().Set(droppedHeader, strconv.FormatInt(dropped, 10))
		if dropped > 0 {
			fmt.Fprintf(w, "(the %d oldest events were dropped from memory by -journal-max; the -journal file keeps every event)\n", dropped)
		}
		_, _ = io.WriteString(w, fake.Timeline(evs))
		return
	case "/timeline.html":
		a.timelineHTML(w)
		return
	}
	action := ep.parse(p)
	if p.err != nil {
		writeError(w, http.StatusBadRequest, p.err.Error())
		return
	}
	out, err := action()
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			writeError(w, ae.status, ae.msg)
			return
		}
		writeError(w, http.StatusConflict, userTerms(r.URL.Path, err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// form is the request's parameters: the query string and a form body.
func (a *api) form(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("malformed query string: %v", err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		ct := r.Header.Get("Content-Type")
		if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return nil, fmt.Errorf("the body is %q; parameters go in the query string or an application/x-www-form-urlencoded body", ct)
		}
		b, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("malformed form body: %v", err)
		}
		for k, vs := range b {
			q[k] = append(q[k], vs...)
		}
	}
	return q, nil
}

func (a *api) paths() []string {
	var out []string
	for p, ms := range a.endpoints {
		for m := range ms {
			out = append(out, m+" "+p)
		}
	}
	out = append(out, "DELETE /faults/{id}")
	slices.Sort(out)
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// goPrefix is a fake verb's name and arguments leading its error.
var goPrefix = regexp.MustCompile(`^(fake\.)?[A-Z][A-Za-z]*\([^)]*\): `)

// userTerms is a fake error without the Go call it came from, led by the
// endpoint's verb.
func userTerms(path string, err error) string {
	return strings.TrimPrefix(path, "/") + ": " + goPrefix.ReplaceAllString(err.Error(), "")
}

// checkView is GET /check's answer: the anomaly checker's verdict on the
// history built from the broker's side (harness.BrokerHistoryOf).
type checkView struct {
	OK             bool                       `json:"ok"` // no anomaly found
	Counts         map[assertions.Anomaly]int `json:"counts"`
	Findings       []findingView              `json:"findings"`
	Report         string                     `json:"report"`
	JournalDropped int64                      `json:"journal_dropped"` // events -journal-max dropped: not judged
}

type findingView struct {
	Anomaly   assertions.Anomaly `json:"anomaly"`
	Topic     string             `json:"topic"`
	Partition int32              `json:"partition"`
	Offset    int64              `json:"offset"`
	Key       string             `json:"key,omitempty"`
	Value     string             `json:"value"`
	Who       string             `json:"who,omitempty"`
	Detail    string             `json:"detail,omitempty"`
}

// check judges the cluster's broker-side history; topic narrows it to
// topics, consumed-by names the groups that should read every write
// (assertions.ConsumedBy; commas between names).
func (a *api) check(p *params) func() (any, error) {
	var opts []assertions.Option
	if t := p.str("topic", false); t != "" {
		opts = append(opts, assertions.Topics(strings.Split(t, ",")...))
	}
	if g := p.str("consumed-by", false); g != "" {
		opts = append(opts, assertions.ConsumedBy(strings.Split(g, ",")...))
	}
	return func() (any, error) {
		ctx, cancel := contextTimeout(30 * time.Second)
		defer cancel()
		h, err := a.c.brokerHistory(ctx)
		if err != nil {
			return nil, err
		}
		r := assertions.Check(h, opts...)
		v := checkView{OK: true, Counts: map[assertions.Anomaly]int{}, Findings: []findingView{}, Report: r.String(), JournalDropped: a.c.JournalDropped()}
		for _, an := range assertions.Anomalies {
			for _, f := range r.Findings[an] {
				v.OK = false
				v.Counts[an]++
				v.Findings = append(v.Findings, findingView{an, f.Topic, f.Partition, f.Offset, f.Key, f.Value, f.Who, f.Detail})
			}
		}
		return v, nil
	}
}

// droppedHeader on GET /journal and /timeline is how many of the oldest
// events -journal-max dropped from memory (Event.Seq goes on counting).
const droppedHeader = "Kafkaemu-Journal-Dropped"

// topicView is a topic as GET /topics shows it.
type topicView struct {
	Topic      string `json:"topic"`
	Partitions int    `json:"partitions"`
	Replicas   int    `json:"replicas"` // the replication factor
}

func (a *api) topics() []topicView {
	out := []topicView{}
	for _, t := range a.c.Topics() {
		v := topicView{Topic: t}
		for i := int32(0); ; i++ {
			st, err := a.c.Partition(t, i)
			if err != nil {
				break
			}
			v.Partitions++
			v.Replicas = max(v.Replicas, len(st.Replicas))
		}
		out = append(out, v)
	}
	return out
}

func (a *api) partitions(p *params) func() (any, error) {
	if !p.has("topic") {
		if p.has("partition") {
			p.fail("partition needs topic beside it")
		}
		return func() (any, error) {
			out := []fake.PartitionState{}
			for _, t := range a.c.Topics() {
				for i := int32(0); ; i++ {
					st, err := a.c.Partition(t, i)
					if err != nil {
						break
					}
					out = append(out, st)
				}
			}
			return out, nil
		}
	}
	parts := p.partitions(true)
	return func() (any, error) {
		out := []fake.PartitionState{}
		for _, tp := range parts {
			st, err := a.c.Partition(tp.topic, tp.partition)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
		return out, nil
	}
}

// groupView is a group as GET /groups shows it.
type groupView struct {
	Group   string                      `json:"group"`
	State   string                      `json:"state"`
	Epoch   int32                       `json:"epoch"`
	Members []memberView                `json:"members"`
	Commits map[string]map[string]int64 `json:"commits"`
}

type memberView struct {
	Member     string             `json:"member"`
	InstanceID string             `json:"instance_id,omitempty"`
	Client     string             `json:"client"`
	Host       string             `json:"host"`
	Assignment map[string][]int32 `json:"assignment"`
}

func groupJSON(gi *kfake.GroupInfo) groupView {
	v := groupView{Group: gi.Group, State: gi.State, Epoch: gi.Epoch, Members: []memberView{}, Commits: map[string]map[string]int64{}}
	for _, m := range gi.Members {
		mv := memberView{Member: m.MemberID, Client: m.ClientID, Host: m.ClientHost, Assignment: m.Assignment}
		if m.InstanceID != nil {
			mv.InstanceID = *m.InstanceID
		}
		if mv.Assignment == nil {
			mv.Assignment = map[string][]int32{}
		}
		v.Members = append(v.Members, mv)
	}
	for t, ps := range gi.Commits {
		v.Commits[t] = map[string]int64{}
		for p, c := range ps {
			v.Commits[t][strconv.Itoa(int(p))] = c.Offset
		}
	}
	return v
}

func (a *api) groups() (any, error) {
	names, err := a.c.Groups()
	if err != nil {
		return nil, err
	}
	out := []groupView{}
	for _, n := range names {
		if gi, err := a.c.Group(n); err == nil {
			out = append(out, groupJSON(gi))
		}
	}
	return out, nil
}

// groupOf is the group member belongs to.
func (a *api) groupOf(member string) (string, error) {
	names, err := a.c.Groups()
	if err != nil {
		return "", err
	}
	for _, n := range names {
		gi, err := a.c.Group(n)
		if err != nil {
			continue
		}
		for _, m := range gi.Members {
			if m.MemberID == member {
				return n, nil
			}
		}
	}
	return "", notFound(fmt.Sprintf("no group has member %q (GET /groups lists them)", member))
}

// netFault installs f narrowed by the broker, client, requests and count
// parameters.
func (a *api) netFault(verb string, p *params, f fake.NetFault) func() (any, error) {
	var targets []fake.Target
	if p.has("broker") {
		targets = append(targets, fake.OnBrokers(p.broker("broker", true)))
	}
	if c := p.str("client", false); c != "" {
		targets = append(targets, fake.OnClient(c))
	}
	if p.has("requests") {
		targets = append(targets, fake.OnKeys(p.requests(true)...))
	}
	if n := p.count(); n > 0 {
		targets = append(targets, fake.Times(n))
	}
	return func() (any, error) {
		h, err := a.c.AddFault(f, targets...)
		if err != nil {
			return nil, err
		}
		return a.install(verb, h.String(), h), nil
	}
}

func (a *api) install(verb, desc string, h interface {
	Hits() int
	Remove() error
}) map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	a.faults[a.nextID] = &installed{ID: a.nextID, Verb: verb, Fault: desc, h: h}
	return map[string]any{"ok": true, "id": a.nextID, "fault": desc}
}

func (a *api) listFaults() []installed {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []installed{}
	for _, f := range a.faults {
		g := *f
		g.Hits = f.h.Hits()
		out = append(out, g)
	}
	slices.SortFunc(out, func(x, y installed) int { return x.ID - y.ID })
	return out
}

func (a *api) removeFault(w http.ResponseWriter, values url.Values, arg string) {
	if len(values) > 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("DELETE /faults/%s takes no parameters; got %s", arg, strings.Join(slices.Sorted(mapKeys(values)), ", ")))
		return
	}
	id, err := strconv.Atoi(arg)
	a.mu.Lock()
	f := a.faults[id]
	delete(a.faults, id)
	a.mu.Unlock()
	if err != nil || f == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no fault %q (GET /faults lists them)", arg))
		return
	}
	if err := f.h.Remove(); err != nil {
		writeError(w, http.StatusConflict, userTerms("faults/"+arg, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "id": id, "hits": f.h.Hits()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// params reads an endpoint's parameters. The first problem is kept in
// err; the getters then return zero values and the action does not run.
type params struct {
	v        url.Values
	c        target
	path     string // the {group} of /groups/{group}
	endpoint string
	err      error
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

func (p *params) has(name string) bool { return p.v.Has(name) }

// renamed are the parameters earlier versions named otherwise.
var renamed = map[string]string{"ms": "delay", "jitter_ms": "jitter", "key": "requests"}

// checkNames refuses unknown and repeated parameters.
func (p *params) checkNames(allowed []string) {
	names := slices.Sorted(mapKeys(p.v))
	for _, n := range names {
		if !slices.Contains(allowed, n) {
			takes := "no parameters"
			if len(allowed) > 0 {
				takes = "parameters " + strings.Join(allowed, ", ")
			}
			hint := ""
			if now, ok := renamed[n]; ok && slices.Contains(allowed, now) {
				hint = fmt.Sprintf("; it is now %q", now)
			} else if best, ok := closestName(n, allowed); ok {
				hint = fmt.Sprintf("; did you mean %q?", best)
			}
			p.fail("unknown parameter %q%s (%s takes %s)", truncate(n), hint, p.endpoint, takes)
			return
		}
		if len(p.v[n]) > 1 {
			p.fail("parameter %q is given %d times; give it once", n, len(p.v[n]))
			return
		}
	}
}

func (p *params) get(name string, required bool, want string) (string, bool) {
	s := p.v.Get(name)
	if s == "" {
		if required {
			p.fail("missing parameter %q: want %s", name, want)
		} else if p.v.Has(name) {
			p.fail("parameter %q is empty: want %s", name, want)
		}
		return "", false
	}
	return s, true
}

func (p *params) bad(name, value, want string) {
	p.fail("parameter %s=%q: want %s", name, truncate(value), want)
}

func (p *params) str(name string, required bool) string {
	s, _ := p.get(name, required, "a name")
	return s
}

func (p *params) int(name string, required bool, lo, hi int64, want string) (int64, bool) {
	s, ok := p.get(name, required, want)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		p.bad(name, s, want)
		return 0, false
	}
	return n, true
}

// broker is a broker id of the cluster.
func (p *params) broker(name string, required bool) int32 {
	n, ok := p.int(name, required, 0, 1<<31-1, "a broker id")
	if !ok {
		return -1
	}
	var ids []string
	for _, b := range p.c.Brokers() {
		if int64(b.ID) == n {
			return b.ID
		}
		ids = append(ids, strconv.Itoa(int(b.ID)))
	}
	p.fail("parameter %s=%d: the cluster has brokers %s", name, n, strings.Join(ids, ", "))
	return -1
}

func (p *params) brokerList(name string) []int32 {
	s, ok := p.get(name, true, "broker ids separated by commas, like 0,1")
	if !ok {
		return nil
	}
	var out []int32
	for _, f := range strings.Split(s, ",") {
		sub := &params{v: url.Values{name: {strings.TrimSpace(f)}}, c: p.c}
		b := sub.broker(name, true)
		if sub.err != nil {
			p.fail("%v", sub.err)
			return nil
		}
		if slices.Contains(out, b) {
			p.fail("parameter %s=%q lists broker %d twice", name, truncate(s), b)
			return nil
		}
		out = append(out, b)
	}
	return out
}

// count is the optional count parameter (0 when absent).
func (p *params) count() int {
	n, _ := p.int("count", false, 1, 1<<31-1, "a whole number >= 1")
	return int(n)
}

func (p *params) duration(name string, required bool) time.Duration {
	want := `a duration like "10ms" or "1.5s"`
	s, ok := p.get(name, required, want)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > time.Hour {
		p.bad(name, s, want+", from 0 to 1h")
		return 0
	}
	return d
}

func (p *params) probability() float64 {
	s, ok := p.get("probability", false, "a number in (0, 1]")
	if !ok {
		return 1
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f <= 1) {
		p.bad("probability", s, "a number in (0, 1]")
		return 1
	}
	return f
}

func (p *params) requests(required bool) []kmsg.Key {
	want := "request names separated by commas, like produce,fetch"
	s, ok := p.get("requests", required, want)
	if !ok {
		return nil
	}
	var out []kmsg.Key
	for _, n := range strings.Split(s, ",") {
		k, known := requestKey(strings.TrimSpace(n))
		if !known {
			p.bad("requests", n, want)
			return nil
		}
		out = append(out, k)
	}
	return out
}

// kafkaErrors maps Kafka error names to franz-go's errors.
var kafkaErrors = func() map[string]*kerr.Error {
	m := map[string]*kerr.Error{}
	for code := int16(-1); code < 1000; code++ {
		if e := kerr.TypedErrorForCode(code); e != nil && e.Code == code {
			m[e.Message] = e
		}
	}
	m["NOT_LEADER_OR_FOLLOWER"] = kerr.NotLeaderForPartition
	return m
}()

func (p *params) kafkaError(name string) *kerr.Error {
	want := "a Kafka error name like NOT_ENOUGH_REPLICAS"
	s, ok := p.get(name, true, want)
	if !ok {
		return nil
	}
	e := kafkaErrors[strings.ToUpper(strings.ReplaceAll(s, "-", "_"))]
	if e == nil {
		p.bad(name, s, want)
	}
	return e
}

type topicPartition struct {
	topic     string
	partition int32
}

// partitions is the topic parameter's partitions, or only the partition
// parameter's when given.
func (p *params) partitions(required bool) []topicPartition {
	t, ok := p.get("topic", required || p.has("partition"), "a topic name")
	if !ok {
		return nil
	}
	var all []topicPartition
	for i := int32(0); ; i++ {
		if _, err := p.c.Partition(t, i); err != nil {
			break
		}
		all = append(all, topicPartition{t, i})
	}
	if len(all) == 0 {
		p.fail("parameter topic=%q: no such topic; topics: %s", truncate(t), strings.Join(p.c.Topics(), ", "))
		return nil
	}
	if !p.has("partition") {
		return all
	}
	n, ok := p.int("partition", true, 0, 1<<31-1, "a partition number")
	if !ok {
		return nil
	}
	if n >= int64(len(all)) {
		p.fail("parameter partition=%d: topic %q has partitions 0 to %d", n, t, len(all)-1)
		return nil
	}
	return []topicPartition{{t, int32(n)}}
}

func requestKey(name string) (kmsg.Key, bool) {
	norm := func(s string) string { return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s)) }
	for k := kmsg.Key(0); k <= kmsg.MaxKey; k++ {
		if n := k.Name(); n != "" && norm(n) == norm(name) {
			return k, true
		}
	}
	return 0, false
}

// truncate keeps echoed input short.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// closestName is the allowed name within two edits of got.
func closestName(got string, allowed []string) (string, bool) {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := editDistance(got, a); d < bestD {
			best, bestD = a, d
		}
	}
	return best, best != ""
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
