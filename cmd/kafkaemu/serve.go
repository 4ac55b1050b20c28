package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// serve runs the cluster and the HTTP API until ctx ends. ready, if not
// nil, gets the cluster and the API's address once both listen.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(*fake.Cluster, string)) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.Int("brokers", 3, "number of brokers")
	seed := fs.Int64("seed", 0, "cluster seed (0: random)")
	httpAddr := fs.String("http", "127.0.0.1:0", "address of the HTTP fault API (loopback only)")
	lag := fs.Duration("replica-lag-max", 200*time.Millisecond, "replica.lag.time.max")
	autoCreate := fs.Bool("auto-create-topics", true, "create unknown topics on first use")
	var topics, configs multiFlag
	fs.Var(&topics, "topic", "topic as name:partitions:replicas (repeatable)")
	fs.Var(&configs, "topic-config", "topic config as name:key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*httpAddr)
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		return fmt.Errorf("-http %q: the API listens on loopback only (127.0.0.1:PORT)", *httpAddr)
	}
	opts := []fake.Option{fake.Brokers(*brokers), fake.ReplicaLagMax(*lag)}
	if *seed != 0 {
		opts = append(opts, fake.Seed(*seed))
	}
	if *autoCreate {
		opts = append(opts, fake.AutoCreateTopics())
	}
	cfgs := map[string]map[string]string{}
	for _, c := range configs {
		name, kv, ok := strings.Cut(c, ":")
		k, v, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 || name == "" || k == "" {
			return fmt.Errorf("-topic-config %q: want name:key=value", c)
		}
		if cfgs[name] == nil {
			cfgs[name] = map[string]string{}
		}
		cfgs[name][k] = v
	}
	for _, t := range topics {
		parts := strings.Split(t, ":")
		if len(parts) != 3 {
			return fmt.Errorf("-topic %q: want name:partitions:replicas", t)
		}
		p, err1 := strconv.Atoi(parts[1])
		r, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("-topic %q: partitions and replicas must be numbers", t)
		}
		opts = append(opts, fake.Topic(parts[0], int32(p), int16(r), cfgs[parts[0]]))
	}
	c, err := fake.New(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("-http %s: %w", *httpAddr, err)
	}
	api := &api{c: c, faults: map[int]*fake.FaultHandle{}}
	srv := &http.Server{Handler: api.routes(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "kafkaemu: brokers %s (seed %d)\nkafkaemu: fault API http://%s\n", strings.Join(c.Addrs(), ","), c.Seed(), ln.Addr())
	if ready != nil {
		ready(c, ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type api struct {
	c      *fake.Cluster
	mu     sync.Mutex
	faults map[int]*fake.FaultHandle
	nextID int
}

func (a *api) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /brokers", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, a.c.Brokers()) })
	m.HandleFunc("GET /partitions", a.partitions)
	m.HandleFunc("GET /journal", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_ = a.c.WriteJournal(w)
	})
	m.HandleFunc("GET /timeline", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, fake.Timeline(a.c.Journal()))
	})
	m.HandleFunc("POST /fail-leader", a.handle(func(q query) (any, error) {
		leader, err := a.c.FailLeader(q.str("topic"), q.i32("partition"))
		return map[string]int32{"leader": leader}, err
	}))
	m.HandleFunc("POST /pause-replication", a.handle(func(q query) (any, error) {
		return nil, a.c.PauseReplication(q.str("topic"), q.i32("partition"))
	}))
	m.HandleFunc("POST /resume-replication", a.handle(func(q query) (any, error) {
		return nil, a.c.ResumeReplication(q.str("topic"), q.i32("partition"))
	}))
	m.HandleFunc("POST /kill-broker", a.handle(func(q query) (any, error) { return nil, a.c.KillBroker(q.i32("broker")) }))
	m.HandleFunc("POST /restart-broker", a.handle(func(q query) (any, error) { return nil, a.c.RestartBroker(q.i32("broker")) }))
	m.HandleFunc("POST /rebalance", a.handle(func(q query) (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return nil, a.c.Rebalance(ctx, q.str("group"))
	}))
	m.HandleFunc("POST /expire-member", a.handle(func(q query) (any, error) {
		return nil, a.c.ExpireMember(q.str("group"), q.str("member"))
	}))
	m.HandleFunc("POST /move-coordinator", a.handle(func(q query) (any, error) {
		b, err := a.c.MoveCoordinator(q.str("group"))
		return map[string]int32{"coordinator": b}, err
	}))
	m.HandleFunc("POST /latency", a.handle(func(q query) (any, error) {
		return a.addFault(fake.Latency(q.ms("ms"), q.optMs("jitter_ms")), q)
	}))
	m.HandleFunc("POST /drop-responses", a.handle(func(q query) (any, error) {
		p := 1.0
		if s := q.v.Get("probability"); s != "" {
			var err error
			if p, err = strconv.ParseFloat(s, 64); err != nil {
				q.fail("probability", s, "a number in (0, 1]")
			}
		}
		return a.addFault(fake.DropResponses(p), q)
	}))
	m.HandleFunc("POST /blackhole", a.handle(func(q query) (any, error) { return a.addFault(fake.Blackhole(), q) }))
	m.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		a.mu.Lock()
		h := a.faults[id]
		delete(a.faults, id)
		a.mu.Unlock()
		if h == nil {
			http.Error(w, fmt.Sprintf("no fault %q", r.PathValue("id")), http.StatusNotFound)
			return
		}
		if err := h.Remove(); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, map[string]int{"hits": h.Hits()})
	})
	return m
}

func (a *api) partitions(w http.ResponseWriter, r *http.Request) {
	topic := r.URL.Query().Get("topic")
	var out []fake.PartitionState
	for p := int32(0); ; p++ {
		st, err := a.c.Partition(topic, p)
		if err != nil {
			if p == 0 {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			break
		}
		out = append(out, st)
	}
	writeJSON(w, out)
}

// addFault installs a network fault narrowed by the query's broker, client
// and key parameters, and returns its id.
func (a *api) addFault(f fake.NetFault, q query) (any, error) {
	var targets []fake.Target
	if q.v.Has("broker") {
		targets = append(targets, fake.OnBrokers(q.i32("broker")))
	}
	if cid := q.v.Get("client"); cid != "" {
		targets = append(targets, fake.OnClient(cid))
	}
	if key := q.v.Get("key"); key != "" {
		k, ok := requestKey(key)
		if !ok {
			q.fail("key", key, "a request name such as produce, fetch, heartbeat")
		}
		targets = append(targets, fake.OnKeys(k))
	}
	h, err := a.c.AddFault(f, targets...)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextID++
	a.faults[a.nextID] = h
	return map[string]int{"id": a.nextID}, nil
}

func requestKey(name string) (kmsg.Key, bool) {
	for k := kmsg.Key(0); k <= kmsg.MaxKey; k++ {
		n := strings.ToLower(k.Name())
		if n != "" && (n == strings.ToLower(name) || strings.ReplaceAll(n, "_", "") == strings.ReplaceAll(strings.ToLower(name), "-", "")) {
			return k, true
		}
	}
	return 0, false
}

// query reads typed parameters; a bad one ends the request with 400.
// A bad parameter panics with badParam, which handle turns into a 400
// before any fault verb runs.
type query struct{ v url.Values }

type badParam struct{ msg string }

func (q query) fail(name, value, want string) {
	if value == "" {
		panic(badParam{fmt.Sprintf("missing parameter %q: want %s", name, want)})
	}
	panic(badParam{fmt.Sprintf("parameter %s=%q: want %s", name, value, want)})
}

func (q query) str(name string) string {
	s := q.v.Get(name)
	if s == "" {
		q.fail(name, s, "a name")
	}
	return s
}

func (q query) i32(name string) int32 {
	s := q.v.Get(name)
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		q.fail(name, s, "a whole number")
	}
	return int32(n)
}

func (q query) ms(name string) time.Duration {
	s := q.v.Get(name)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		q.fail(name, s, "milliseconds, a whole number >= 0")
	}
	return time.Duration(n) * time.Millisecond
}

func (q query) optMs(name string) time.Duration {
	if q.v.Get(name) == "" {
		return 0
	}
	return q.ms(name)
}

func (a *api) handle(fn func(query) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				bp, ok := p.(badParam)
				if !ok {
					panic(p)
				}
				http.Error(w, bp.msg, http.StatusBadRequest)
			}
		}()
		out, err := fn(query{r.URL.Query()})
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		if out == nil {
			out = map[string]string{"ok": "true"}
		}
		writeJSON(w, out)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
