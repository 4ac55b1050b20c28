package scenarios

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func mustLoad(t *testing.T, path string) *Scenario {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func TestMinimalTakesDefaults(t *testing.T) {
	const file = "testdata/good/minimal.yaml"
	got := mustLoad(t, file)
	want := &Scenario{
		Pos:     Pos{file, 2, 1},
		Name:    "minimal",
		Clock:   ClockVirtual,
		Cluster: Cluster{Pos: Pos{file, 3, 10}, Brokers: 1},
		Topics:  []Topic{{Pos: Pos{file, 5, 5}, Name: "t", Partitions: 1, Replicas: 1, Configs: map[string]string{}}},
		Workload: Workload{
			Pos:       Pos{file, 7, 3},
			Producers: []Producer{{Pos: Pos{file, 8, 7}, Name: "p", Topic: "t", Records: 10, Acks: AcksAll, Idempotent: true}},
			Consumers: []Consumer{{
				Pos: Pos{file, 10, 7}, Name: "c", Group: "g", Topics: []string{"t"},
				Commit: CommitAfterProcess, Isolation: ReadUncommitted, Protocol: ProtocolClassic,
				Balancer: "cooperative-sticky", OffsetReset: ResetEarliest,
			}},
		},
		Expect: []Expectation{{Pos: Pos{file, 12, 5}, Kind: ExpectAnomaly, Anomaly: "lost-write", Count: Comparison{Eq, 0}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(%s) mismatch (-want +got):\n%s", file, diff)
	}
}

func TestEveryVerbDecodes(t *testing.T) {
	s := mustLoad(t, "testdata/good/full.yaml")
	at := func(d time.Duration) Trigger { return Trigger{Kind: AtTime, Elapsed: d} }
	want := []Fault{
		{Verb: PauseReplication, After: Trigger{Kind: OnAcked, Count: 100}, For: 300 * time.Millisecond, Topic: "orders", Partition: ptr[int32](0)},
		{Verb: ResumeReplication, After: Trigger{Kind: OnAcked, Count: 120, Producer: "p1"}, Topic: "orders"},
		{Verb: PauseReplication, After: Trigger{Kind: OnConsumed, Count: 10, Consumer: "c1"}, Broker: ptr[int32](1)},
		{Verb: ResumeReplication, After: Trigger{Kind: OnCommitted, Count: 10, Group: "billing"}, Broker: ptr[int32](1)},
		{Verb: FailLeader, After: Trigger{Kind: OnAcked, Count: 150}, Topic: "orders", Partition: ptr[int32](0)},
		{Verb: KillBroker, After: at(100 * time.Millisecond), For: 200 * time.Millisecond, Broker: ptr[int32](2)},
		{Verb: KillBroker, After: at(400 * time.Millisecond), Broker: ptr[int32](1)},
		{Verb: RestartBroker, After: at(500 * time.Millisecond), Broker: ptr[int32](1)},
		{Verb: DeleteRecords, After: at(600 * time.Millisecond), Topic: "orders", Partition: ptr[int32](1), Offset: ptr[int64](10)},
		{Verb: Latency, After: at(time.Second), For: 500 * time.Millisecond, Broker: ptr[int32](2), Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond},
		{Verb: DropResponses, After: at(0), Client: "p1", Requests: []kmsg.Key{kmsg.Produce}, Probability: 0.5, Count: 3},
		{Verb: CloseConnections, After: at(10 * time.Millisecond), Requests: []kmsg.Key{kmsg.Fetch}},
		{Verb: Blackhole, After: at(20 * time.Millisecond), For: 100 * time.Millisecond, Broker: ptr[int32](0)},
		{Verb: NetworkPartition, After: at(30 * time.Millisecond), For: 100 * time.Millisecond, Brokers: []int32{0}},
		{Verb: IsolateBroker, After: at(40 * time.Millisecond), For: 3 * time.Second, LeaderOf: &PartitionRef{"orders", 1}, Client: "p1"},
		{Verb: Heal, After: at(50 * time.Millisecond), Broker: ptr[int32](0)},
		{Verb: Rebalance, After: at(300 * time.Millisecond), Group: "billing"},
		{Verb: ExpireMember, After: at(310 * time.Millisecond), Member: "c1", Group: "billing"},
		{Verb: JoinPhantom, After: at(320 * time.Millisecond), For: 200 * time.Millisecond, Group: "billing", Count: 2},
		{Verb: LeavePhantom, After: at(330 * time.Millisecond), Group: "billing", Count: 1},
		{Verb: MoveCoordinator, After: at(340 * time.Millisecond), Group: "billing"},
		{Verb: InjectError, After: at(350 * time.Millisecond), Requests: []kmsg.Key{kmsg.Produce}, Error: kerr.NotLeaderForPartition, Topic: "orders", Partition: ptr[int32](1), Count: 2},
		{Verb: CrashConsumer, After: at(360 * time.Millisecond), For: 100 * time.Millisecond, Consumer: "c1"},
		{Verb: RestartConsumer, After: at(370 * time.Millisecond), Pipeline: "enrich"},
		{Verb: FenceProducer, After: at(380 * time.Millisecond), Producer: "tx"},
	}
	ignorePos := cmpopts.IgnoreFields(Fault{}, "Pos")
	ignoreTriggerPos := cmpopts.IgnoreFields(Trigger{}, "Pos")
	if diff := cmp.Diff(want, s.Faults, ignorePos, ignoreTriggerPos); diff != "" {
		t.Errorf("faults mismatch (-want +got):\n%s", diff)
	}
	var verbsSeen []Verb
	for _, f := range s.Faults {
		if !slices.Contains(verbsSeen, f.Verb) {
			verbsSeen = append(verbsSeen, f.Verb)
		}
	}
	if len(verbsSeen) != len(verbOrder) {
		t.Errorf("full.yaml uses %d of the %d verbs", len(verbsSeen), len(verbOrder))
	}
	// Positions point at the fault and its trigger.
	if got, want := s.Faults[0].Pos.String(), "testdata/good/full.yaml:37:5"; got != want {
		t.Errorf("Faults[0].Pos = %s, want %s", got, want)
	}
	if got, want := s.Faults[0].After.Pos.String(), "testdata/good/full.yaml:37:13"; got != want {
		t.Errorf("Faults[0].After.Pos = %s, want %s", got, want)
	}
}

func TestFullWorkloadAndExpectations(t *testing.T) {
	s := mustLoad(t, "testdata/good/full.yaml")
	if s.Seed == nil || *s.Seed != 42 || s.Timeout != 5*time.Second {
		t.Errorf("Seed, Timeout = %v, %v; want 42, 5s", s.Seed, s.Timeout)
	}
	if s.Cluster.ReplicaLagMax != 200*time.Millisecond || s.BrokerSessionTimeout != 2*time.Second {
		t.Errorf("ReplicaLagMax, BrokerSessionTimeout = %v, %v; want 200ms, 2s", s.Cluster.ReplicaLagMax, s.BrokerSessionTimeout)
	}
	if got := s.Topics[1].Configs; !cmp.Equal(got, map[string]string{"retention.ms": "60000", "unclean.leader.election.enable": "false"}) {
		t.Errorf("enriched configs = %v", got)
	}
	ignore := cmpopts.IgnoreFields(Producer{}, "Pos")
	wantProducers := []Producer{
		{Name: "p1", Topic: "orders", Records: 200, Acks: AcksLeader, Keys: 10},
		{Name: "p2", Topic: "orders", Records: 100, Acks: AcksAll, Idempotent: true, Partition: ptr[int32](2), DeliveryTimeout: 2 * time.Second},
		{Name: "tx", Topic: "orders", Records: 50, Acks: AcksAll, Idempotent: true, TransactionalID: "tx-1", TxnSize: 5, AbortEvery: 3},
	}
	if diff := cmp.Diff(wantProducers, s.Workload.Producers, ignore); diff != "" {
		t.Errorf("producers (-want +got):\n%s", diff)
	}
	c2 := s.Workload.Consumers[1]
	wantC2 := Consumer{Name: "c2", Group: "billing", Topics: []string{"orders"}, Commit: CommitOnRevoke, Isolation: ReadUncommitted,
		InstanceID: "c2-static", Protocol: ProtocolClassic, Balancer: "range", OffsetReset: ResetLatest,
		SessionTimeout: time.Second, ProcessTime: time.Millisecond, CrashAfter: 50}
	if diff := cmp.Diff(wantC2, c2, cmpopts.IgnoreFields(Consumer{}, "Pos")); diff != "" {
		t.Errorf("c2 (-want +got):\n%s", diff)
	}
	if c3 := s.Workload.Consumers[2]; c3.Protocol != ProtocolConsumer || c3.Balancer != "" || c3.Commit != CommitNone {
		t.Errorf("c3 = %+v", c3)
	}
	wantPipe := Pipeline{Name: "enrich", Group: "enrichers", Input: "orders", Output: "enriched", TransactionalID: "enrich",
		Isolation: ReadCommitted, AbortEvery: 4, CrashAfter: 20}
	if diff := cmp.Diff(wantPipe, s.Workload.Pipelines[0], cmpopts.IgnoreFields(Pipeline{}, "Pos")); diff != "" {
		t.Errorf("pipeline (-want +got):\n%s", diff)
	}
	var got []string
	for _, e := range s.Expect {
		got = append(got, e.String())
	}
	want := []string{
		"lost-write > 0",
		"duplicate == 0 (producer p2)",
		"unseen >= 0 (group billing)",
		"G1a == 0 (consumer c1)",
		"delivery at-least-once",
		"acked >= 300 (producer p1)",
		"consumed > 0 (consumer c3)",
		"rebalances >= 1 (group billing)",
		"produce-errors NOT_ENOUGH_REPLICAS > 0",
		"produce-errors NOT_LEADER_FOR_PARTITION >= 0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expectations (-want +got):\n%s", diff)
	}
	if e := s.Expect[9]; e.Kind != ExpectProduceError || e.Error.Code != 6 || e.Pos.Line != 71 {
		t.Errorf("Expect[9] = %+v at %s", e, e.Pos)
	}
}

func TestAliasesAndBlockStyle(t *testing.T) {
	s := mustLoad(t, "testdata/good/block-style-and-aliases.yml")
	if s.Description != "Folded descriptions, anchors and aliases." || *s.Seed != -7 {
		t.Errorf("Description, Seed = %q, %d", s.Description, *s.Seed)
	}
	if !cmp.Equal(s.Topics[0].Configs, s.Topics[1].Configs) || s.Topics[1].Configs["min.insync.replicas"] != "2" {
		t.Errorf("aliased configs = %v, %v", s.Topics[0].Configs, s.Topics[1].Configs)
	}
	if p := s.Workload.Producers[0]; p.Records != 1000 || p.Acks != AcksAll {
		t.Errorf("p1 = %+v", p)
	}
	if c := s.Workload.Consumers[1]; c.Group != "billing" {
		t.Errorf("aliased group = %q", c.Group)
	}
	f := s.Faults[1]
	if f.After != (Trigger{Pos: f.Pos, Kind: AtTime}) || !slices.Equal(f.Requests, []kmsg.Key{kmsg.Fetch, kmsg.OffsetCommit}) {
		t.Errorf("latency fault = %+v", f)
	}
	if e := s.Expect[1]; e.Count != (Comparison{GreaterEq, 1000}) {
		t.Errorf("consumed = %v", e.Count)
	}
}

func TestLibraryParses(t *testing.T) {
	files, err := filepath.Glob("library/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("library has %d scenarios; want at least 12", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s := mustLoad(t, file)
			if want := strings.TrimSuffix(filepath.Base(file), ".yaml"); s.Name != want {
				t.Errorf("name %q, want the file name %q", s.Name, want)
			}
			if s.Description == "" {
				t.Error("no description")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "# Teaches: ") {
				t.Error(`the file does not start with a "# Teaches: " comment`)
			}
			total := 0
			for _, p := range s.Workload.Producers {
				total += p.Records
			}
			if total > 1000 {
				t.Errorf("produces %d records; library scenarios stay small (<= 1000) to run in about a second", total)
			}
		})
	}
	all, err := LoadDir("library")
	if err != nil || len(all) != len(files) {
		t.Fatalf("LoadDir(library) = %d scenarios, %v; want %d", len(all), err, len(files))
	}
}

func TestLoadDir(t *testing.T) {
	got, err := LoadDir("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if want := []string{"block-style-and-aliases", "full", "minimal"}; !slices.Equal(names, want) {
		t.Errorf("LoadDir(testdata/good) names = %v, want %v", names, want)
	}

	dir := t.TempDir()
	minimal, err := os.ReadFile("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", string(minimal))
	write("b.yml", string(minimal)) // the same name again
	write("c.yaml", "name: [\n")
	write("notes.txt", "not a scenario")
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err = LoadDir(dir)
	if len(got) != 1 || got[0].Name != "minimal" {
		t.Errorf("LoadDir returned %d scenarios, want only a.yaml's", len(got))
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("LoadDir error = %v; want an ErrorList of 2", err)
	}
	wantB := filepath.Join(dir, "b.yml") + `:2:1: scenario name "minimal" is already used by ` + filepath.Join(dir, "a.yaml") + ":2:1; expected unique names"
	if list[0].Error() != wantB {
		t.Errorf("first error = %q\nwant %q", list[0], wantB)
	}
	if list[1].Pos.File != filepath.Join(dir, "c.yaml") || !strings.Contains(list[1].Msg, "invalid YAML") {
		t.Errorf("second error = %q", list[1])
	}

	if _, err := LoadDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadDir(missing) error = %v, want fs.ErrNotExist", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want fs.ErrNotExist", err)
	}
}

func TestErrorsAreSortedAndUnwrap(t *testing.T) {
	_, err := Load("testdata/bad/many-errors.yaml")
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %T is not an ErrorList", err)
	}
	if len(list) != 5 {
		t.Fatalf("got %d errors, want 5:\n%v", len(list), err)
	}
	for i := 1; i < len(list); i++ {
		if a, b := list[i-1].Pos, list[i].Pos; a.Line > b.Line || (a.Line == b.Line && a.Column > b.Column) {
			t.Errorf("errors out of order: %s before %s", a, b)
		}
	}
	var one *Error
	if !errors.As(err, &one) || one != list[0] {
		t.Errorf("errors.As(*Error) = %v, want the first error", one)
	}
}

func TestComparisonHolds(t *testing.T) {
	for _, tc := range []struct {
		c    Comparison
		n    int
		want bool
	}{
		{Comparison{Eq, 0}, 0, true}, {Comparison{Eq, 0}, 1, false},
		{Comparison{Less, 10}, 9, true}, {Comparison{Less, 10}, 10, false},
		{Comparison{LessEq, 10}, 10, true}, {Comparison{LessEq, 10}, 11, false},
		{Comparison{Greater, 0}, 1, true}, {Comparison{Greater, 0}, 0, false},
		{Comparison{GreaterEq, 3}, 3, true}, {Comparison{GreaterEq, 3}, 2, false},
		{Comparison{}, 0, false},
	} {
		if got := tc.c.Holds(tc.n); got != tc.want {
			t.Errorf("%v.Holds(%d) = %v, want %v", tc.c, tc.n, got, tc.want)
		}
	}
}

func TestComparisonForms(t *testing.T) {
	for in, want := range map[string]Comparison{
		`0`: {Eq, 0}, `"0"`: {Eq, 0}, `"> 0"`: {Greater, 0}, `">=3"`: {GreaterEq, 3}, `"  <  10 "`: {Less, 10},
		`"<= 4"`: {LessEq, 4}, `"== 5"`: {Eq, 5}, `1_000`: {Eq, 1000},
	} {
		s, err := Parse("cmp.yaml", []byte(strings.Replace(string(minimalYAML), "lost-write: 0", "lost-write: "+in, 1)))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := s.Expect[0].Count; got != want {
			t.Errorf("%s parsed as %v, want %v", in, got, want)
		}
	}
}

var minimalYAML = func() []byte {
	data, err := os.ReadFile("testdata/good/minimal.yaml")
	if err != nil {
		panic(err)
	}
	return data
}()

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Pos{"a.yaml", 3, 7}.String(), "a.yaml:3:7"},
		{Pos{File: "a.yaml"}.String(), "a.yaml"},
		{(&Error{Pos{"a.yaml", 1, 2}, "bad; expected good"}).Error(), "a.yaml:1:2: bad; expected good"},
		{ErrorList{{Pos{"a", 1, 1}, "x"}, {Pos{"a", 2, 1}, "y"}}.Error(), "a:1:1: x\na:2:1: y"},
		{AcksAll.String(), "all"}, {AcksLeader.String(), "1"}, {AcksNone.String(), "0"},
		{Trigger{Kind: AtTime, Elapsed: 300 * time.Millisecond}.String(), "300ms"},
		{Trigger{Kind: OnAcked, Count: 500, Producer: "p1"}.String(), "acked 500 (producer p1)"},
		{Trigger{Kind: OnCommitted, Count: 5}.String(), "committed 5"},
		{Comparison{GreaterEq, 3}.String(), ">= 3"},
		{Expectation{Kind: ExpectDelivery, Delivery: ExactlyOnce, Group: "g"}.String(), "delivery exactly-once (group g)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if got := Verbs(); len(got) != 22 || got[0] != PauseReplication || got[21] != FenceProducer {
		t.Errorf("Verbs() = %v", got)
	}
	if !KillBroker.Undoable() || FailLeader.Undoable() {
		t.Error("Undoable: kill-broker should be, fail-leader should not")
	}
}

func TestTopicLookup(t *testing.T) {
	s := mustLoad(t, "testdata/good/full.yaml")
	if tp, ok := s.Topic("enriched"); !ok || tp.Partitions != 2 {
		t.Errorf("Topic(enriched) = %+v, %v", tp, ok)
	}
	if _, ok := s.Topic("nope"); ok {
		t.Error("Topic(nope) found")
	}
}

func TestRequestAndErrorNames(t *testing.T) {
	for name, key := range map[string]kmsg.Key{
		"produce": kmsg.Produce, "list-offsets": kmsg.ListOffsets, "init-producer-id": kmsg.InitProducerID,
		"offset-commit": kmsg.OffsetCommit, "leader-and-isr": kmsg.LeaderAndISR, "consumer-group-heartbeat": kmsg.ConsumerGroupHeartbeat,
		"add-partitions-to-txn": kmsg.AddPartitionsToTxn, "end-txn": kmsg.EndTxn,
	} {
		if got, ok := requestNames[name]; !ok || got != key {
			t.Errorf("requestNames[%q] = %v, %v; want %v", name, got, ok, key)
		}
	}
	for name, e := range map[string]*kerr.Error{
		"NOT_ENOUGH_REPLICAS": kerr.NotEnoughReplicas, "NOT_LEADER_OR_FOLLOWER": kerr.NotLeaderForPartition,
		"NOT_LEADER_FOR_PARTITION": kerr.NotLeaderForPartition, "UNKNOWN_SERVER_ERROR": kerr.UnknownServerError,
		"PRODUCER_FENCED": kerr.ProducerFenced,
	} {
		if got := kafkaErrors[name]; got != e {
			t.Errorf("kafkaErrors[%q] = %v, want %v", name, got, e)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	big := append([]byte("name: big\ndescription: \""), make([]byte, MaxFileSize)...)
	_, err := Parse("big.yaml", big)
	if want := "big.yaml:1:1: the file is 1048600 bytes; expected at most 1048576 (1 MiB): scenario files are small"; err == nil || err.Error() != want {
		t.Errorf("Parse(1 MiB + 24) error = %v\nwant %s", err, want)
	}

	// Under the byte limit but far over the node limit, without aliases.
	many := "name: many\ntopics: [" + strings.Repeat("1,", 200_000) + "1]\n"
	_, err = Parse("many.yaml", []byte(many))
	if err == nil || !strings.Contains(err.Error(), "expands to more than 100000 YAML nodes") {
		t.Errorf("Parse(200k nodes) error = %v", err)
	}

	// A self-referencing alias is refused by the YAML parser or the size check.
	_, err = Parse("cycle.yaml", []byte("a: &a [*a]\n"))
	if err == nil {
		t.Error("Parse(cyclic alias) succeeded")
	}

	deep := strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000)
	if _, err = Parse("deep.yaml", []byte(deep)); err == nil || !strings.Contains(err.Error(), "invalid YAML") {
		t.Errorf("Parse(deep nesting) error = %v", err)
	}
}

func TestDocumentMarkers(t *testing.T) {
	for _, in := range []string{"---\n" + string(minimalYAML), string(minimalYAML) + "...\n", string(minimalYAML) + "---\n---\n"} {
		if _, err := Parse("m.yaml", []byte(in)); err != nil {
			t.Errorf("Parse(%q...): %v", in[:12], err)
		}
	}
	_, err := Parse("m.yaml", []byte(string(minimalYAML)+"---\nname: second\n"))
	if want := "m.yaml:13:1: a second YAML document; expected one scenario per file"; err == nil || err.Error() != want {
		t.Errorf("two documents: %v, want %s", err, want)
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: many\ncluster: {brokers: 1}\ntopics:\n")
	for i := 0; i < 80; i++ {
		b.WriteString("  - {name: t, partitions: 0, replicas: 1}\n")
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d then a stop", len(list), maxErrors)
	}
	if last := list[len(list)-1]; !strings.HasPrefix(last.Msg, "too many errors, stopped after 50;") {
		t.Errorf("last error = %q", last)
	}
}
