package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.yaml.in/yaml/v3"
)

// verbSpec is what a fault verb takes.
type verbSpec struct {
	required []string // parameters that must be given
	oneOf    []string // exactly one of these must be given
	optional []string
	undo     string // what "for:" does when it runs out; "" if the verb takes no "for"
}

func (s verbSpec) takes() []string {
	return slices.Concat(s.required, s.oneOf, s.optional)
}

// verbOrder lists the verbs in the order the reference documents them.
var verbOrder = []Verb{
	PauseReplication, ResumeReplication, FailLeader, KillBroker, RestartBroker, DeleteRecords,
	Latency, DropResponses, CloseConnections, Blackhole, NetworkPartition,
	IsolateBroker, Heal,
	Rebalance, ExpireMember, JoinPhantom, LeavePhantom, MoveCoordinator,
	InjectError,
	CrashConsumer, RestartConsumer, FenceProducer,
}

var netTargets = []string{"broker", "client", "requests", "count"}

var verbs = map[Verb]verbSpec{
	PauseReplication:  {oneOf: []string{"topic", "broker"}, optional: []string{"partition"}, undo: "resumes replication"},
	ResumeReplication: {oneOf: []string{"topic", "broker"}, optional: []string{"partition"}},
	FailLeader:        {required: []string{"topic"}, optional: []string{"partition"}},
	KillBroker:        {required: []string{"broker"}, undo: "restarts the broker"},
	RestartBroker:     {required: []string{"broker"}},
	DeleteRecords:     {required: []string{"topic"}, optional: []string{"partition", "offset"}},

	Latency:          {required: []string{"delay"}, optional: append([]string{"jitter"}, netTargets...), undo: "removes the fault"},
	DropResponses:    {optional: append([]string{"probability"}, netTargets...), undo: "removes the fault"},
	CloseConnections: {optional: netTargets, undo: "removes the fault"},
	Blackhole:        {optional: netTargets, undo: "removes the fault, releasing the held requests"},
	NetworkPartition: {required: []string{"brokers"}, undo: "heals the partition"},
	IsolateBroker:    {required: []string{"broker"}, optional: []string{"client"}, undo: "heals the isolation"},
	Heal:             {optional: []string{"broker"}},

	Rebalance:       {required: []string{"group"}},
	ExpireMember:    {required: []string{"member"}, optional: []string{"group"}},
	JoinPhantom:     {required: []string{"group"}, optional: []string{"count"}, undo: "makes those phantoms leave"},
	LeavePhantom:    {required: []string{"group"}, optional: []string{"count"}},
	MoveCoordinator: {required: []string{"group"}},

	InjectError: {required: []string{"error", "requests"}, optional: []string{"broker", "topic", "partition", "group", "count"}, undo: "removes the fault"},

	CrashConsumer:   {oneOf: []string{"consumer", "pipeline"}, undo: "restarts it"},
	RestartConsumer: {oneOf: []string{"consumer", "pipeline"}},
	FenceProducer:   {oneOf: []string{"producer", "pipeline"}},
}

// faultParams are every verb parameter, in decoding order: a topic before
// its partition, a member before its group.
var faultParams = []string{"topic", "partition", "broker", "brokers", "member", "group", "consumer", "pipeline",
	"producer", "client", "requests", "delay", "jitter", "probability", "count", "error", "offset"}

var faultKeys = append([]string{"after", "do", "for"}, faultParams...)

var triggerKeys = []string{"acked", "consumed", "committed", "producer", "consumer", "group"}

var paramHelp = map[string]string{
	"topic":    "the name of a topic declared under topics",
	"broker":   "a broker id (isolate-broker also takes \"leader-of topic/partition\")",
	"brokers":  "a list of broker ids, like [0]",
	"group":    "the group of a consumer or pipeline",
	"member":   "the name of a consumer or pipeline",
	"consumer": "the name of a consumer",
	"pipeline": "the name of a pipeline",
	"producer": "the name of a producer",
	"requests": "request names like [produce, fetch]",
	"delay":    "a positive duration like 50ms",
	"error":    "a Kafka error name like NOT_LEADER_OR_FOLLOWER",
}

func verbNames() []string {
	names := make([]string, len(verbOrder))
	for i, v := range verbOrder {
		names[i] = string(v)
	}
	return names
}

func (d *decoder) faults(n *yaml.Node) []Fault {
	items, _ := d.list(n, "faults", "faults like {after: 1s, do: fail-leader, topic: orders, partition: 0}")
	var out []Fault
	for _, item := range items {
		if f, ok := d.fault(item); ok {
			out = append(out, f)
		}
	}
	return out
}

func (d *decoder) fault(n *yaml.Node) (Fault, bool) {
	f := Fault{Pos: d.pos(resolve(n))}
	f.After = Trigger{Pos: f.Pos, Kind: AtTime}
	m := d.mapping(n, "fault", faultKeys)
	if m == nil {
		return f, false
	}
	errs := len(d.errs)
	vn := m.vals["do"]
	if vn == nil {
		if !m.missing("do") {
			return f, false
		}
		d.errorf(m.node, "fault is missing \"do\"; expected a fault verb: %s", strings.Join(verbNames(), ", "))
		return f, false
	}
	name, ok := d.str(vn, "do", "a fault verb")
	if !ok {
		return f, false
	}
	spec, known := verbs[Verb(name)]
	if !known {
		d.errorf(resolve(vn), "unknown fault verb %q%s", truncate(name), didYouMean(name, verbNames()))
		return f, false
	}
	f.Verb = Verb(name)
	if n := m.vals["after"]; n != nil {
		f.After = d.trigger(n)
	}
	if n := m.vals["for"]; n != nil {
		if spec.undo == "" {
			d.errorf(m.keys["for"], "\"for\" does not apply to %s, which cannot be undone; expected a separate fault to reverse it", f.Verb)
		} else {
			f.For, _ = d.duration(n, "for", true)
		}
	}
	takes := spec.takes()
	for _, key := range faultParams {
		vn := m.vals[key]
		if vn == nil {
			continue
		}
		if !slices.Contains(takes, key) {
			d.errorf(m.keys[key], "%q does not apply to %s; %s", key, f.Verb, describeSpec(f.Verb, spec))
			continue
		}
		d.faultParam(&f, key, vn)
	}
	for _, key := range spec.required {
		if m.missing(key) {
			d.errorf(m.node, "%s is missing %q; expected %s", f.Verb, key, paramHelp[key])
		}
	}
	if len(spec.oneOf) > 0 {
		var given []string
		for _, key := range spec.oneOf {
			if m.has(key) {
				given = append(given, key)
			}
		}
		switch len(given) {
		case 0:
			if m.merged || slices.ContainsFunc(spec.oneOf, func(k string) bool { return m.guessed[k] }) {
				break
			}
			d.errorf(m.node, "%s needs a target; expected %s", f.Verb, orList(spec.oneOf))
		case 1:
		default:
			d.errorf(m.keys[given[1]], "%s takes one target but has %q and %q; expected %s", f.Verb, given[0], given[1], orList(spec.oneOf))
		}
	}
	if m.has("partition") && m.missing("topic") && slices.Contains(takes, "partition") && !slices.Contains(spec.required, "topic") {
		d.errorf(m.keys["partition"], "partition without a topic; expected topic next to it")
	}
	switch f.Verb {
	case JoinPhantom, LeavePhantom:
		if f.Count == 0 {
			f.Count = 1
		}
	case DropResponses:
		if !m.has("probability") {
			f.Probability = 1
		}
	}
	return f, len(d.errs) == errs
}

// describeSpec says which parameters a verb takes.
func describeSpec(v Verb, s verbSpec) string {
	if len(s.takes()) == 0 {
		return fmt.Sprintf("%s takes no parameters", v)
	}
	return fmt.Sprintf("%s takes %s", v, strings.Join(s.takes(), ", "))
}

func orList(keys []string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = strconv.Quote(k)
	}
	return strings.Join(quoted, " or ")
}

// faultParam decodes one verb parameter into f.
func (d *decoder) faultParam(f *Fault, key string, n *yaml.Node) {
	switch key {
	case "topic":
		f.Topic, _ = d.topicRef(n, "topic")
	case "partition":
		f.Partition, _ = d.partitionRef(n, f.Topic)
	case "broker":
		if f.Verb == IsolateBroker && resolve(n).Kind == yaml.ScalarNode && resolve(n).ShortTag() == "!!str" {
			f.LeaderOf, _ = d.leaderOf(n)
			return
		}
		if b, ok := d.brokerRef(n, "broker"); ok {
			f.Broker = &b
		}
	case "brokers":
		items, ok := d.list(n, "brokers", "broker ids")
		if ok && len(items) == 0 {
			d.errorf(resolve(n), "brokers is empty; expected at least one broker id to isolate")
		}
		for _, item := range items {
			b, ok := d.brokerRef(item, "broker")
			if !ok {
				continue
			}
			if slices.Contains(f.Brokers, b) {
				d.errorf(resolve(item), "broker %d is listed twice; expected each broker once", b)
				continue
			}
			f.Brokers = append(f.Brokers, b)
		}
	case "member":
		name, ok := d.memberRef(n, "member")
		if !ok {
			return
		}
		f.Member = name
		if c, ok := d.consumerByName[name]; ok {
			f.Group = c.Group
		} else {
			f.Group = d.pipelineByName[name].Group
		}
	case "group":
		g, ok := d.groupRef(n)
		if !ok {
			return
		}
		if f.Member != "" && f.Group != g {
			d.errorf(resolve(n), "group %q is not the group of member %q, which is in %q; expected %q or no group", g, f.Member, f.Group, f.Group)
			return
		}
		f.Group = g
	case "consumer":
		f.Consumer, _ = d.clientRef(n, "consumer")
	case "pipeline":
		f.Pipeline, _ = d.clientRef(n, "pipeline")
	case "producer":
		name, ok := d.clientRef(n, "producer")
		if ok && f.Verb == FenceProducer && d.producerByName[name].TransactionalID == "" {
			d.errorf(resolve(n), "producer %q is not transactional, so it cannot be fenced; expected a producer with a transactional_id", name)
			return
		}
		f.Producer = name
	case "client":
		f.Client, _ = d.clientRef(n, "client")
	case "requests":
		f.Requests = d.requestKeys(n)
	case "delay":
		f.Delay, _ = d.duration(n, "delay", true)
	case "jitter":
		f.Jitter, _ = d.duration(n, "jitter", false)
	case "probability":
		f.Probability, _ = d.probability(n)
	case "count":
		v, _ := d.integer(n, "count", 1, 1_000_000)
		f.Count = int(v)
	case "error":
		f.Error, _ = d.kafkaError(n, "error")
	case "offset":
		if v, ok := d.integer(n, "offset", 0, 1<<62); ok {
			f.Offset = &v
		}
	}
}

// brokerRef decodes a broker id of the cluster.
func (d *decoder) brokerRef(n *yaml.Node, key string) (int32, bool) {
	v, ok := d.integer(n, key, 0, maxBrokers-1)
	if !ok {
		return 0, false
	}
	if d.brokers > 0 && v >= int64(d.brokers) {
		d.errorf(resolve(n), "broker %d does not exist; expected a broker id from 0 to %d", v, d.brokers-1)
		return 0, false
	}
	return int32(v), true
}

// leaderOf decodes "leader-of topic/partition": the broker leading that
// partition when the fault applies.
func (d *decoder) leaderOf(n *yaml.Node) (*PartitionRef, bool) {
	const expected = "a broker id or \"leader-of topic/partition\", like leader-of orders/0"
	n = resolve(n)
	rest, ok := strings.CutPrefix(n.Value, "leader-of ")
	topic, part, slash := strings.Cut(strings.TrimSpace(rest), "/")
	if !ok || !slash || topic == "" {
		d.errorf(n, "broker is %q; expected %s", truncate(n.Value), expected)
		return nil, false
	}
	p, err := strconv.ParseInt(part, 10, 32)
	if err != nil || p < 0 {
		d.errorf(n, "broker is %q: partition %q is not a partition number; expected %s", truncate(n.Value), truncate(part), expected)
		return nil, false
	}
	if d.topicByName != nil {
		t, known := d.topicByName[topic]
		switch {
		case !known:
			d.errorf(n, "broker is %q: topic %q is not declared under topics%s", truncate(n.Value), truncate(topic), didYouMean(topic, sortedKeys(d.topicByName)))
			return nil, false
		case t.Partitions > 0 && p >= int64(t.Partitions):
			d.errorf(n, "broker is %q: topic %s has no partition %d; expected 0 to %d", truncate(n.Value), topic, p, t.Partitions-1)
			return nil, false
		}
	}
	return &PartitionRef{Topic: topic, Partition: int32(p)}, true
}

// groupRef decodes the name of a group some consumer or pipeline is in.
func (d *decoder) groupRef(n *yaml.Node) (string, bool) {
	g, ok := d.name(n, "group")
	if !ok {
		return "", false
	}
	if d.groupKind != nil && d.groupKind[g] == "" {
		d.errorf(resolve(n), "group %q is not the group of any consumer or pipeline%s", truncate(g), didYouMean(g, sortedKeys(d.groupKind)))
		return g, false
	}
	return g, true
}

// clientRef decodes the name of a client of the given kind ("producer",
// "consumer", "pipeline", or "client" for any of them).
func (d *decoder) clientRef(n *yaml.Node, kind string) (string, bool) {
	name, ok := d.name(n, kind)
	if !ok || d.producerByName == nil {
		return name, ok // the workload failed to parse; do not pile on
	}
	_, isProducer := d.producerByName[name]
	_, isConsumer := d.consumerByName[name]
	_, isPipeline := d.pipelineByName[name]
	var valid []string
	switch kind {
	case "producer":
		if isProducer {
			return name, true
		}
		valid = sortedKeys(d.producerByName)
	case "consumer":
		if isConsumer {
			return name, true
		}
		valid = sortedKeys(d.consumerByName)
	case "pipeline":
		if isPipeline {
			return name, true
		}
		valid = sortedKeys(d.pipelineByName)
	default:
		if isProducer || isConsumer || isPipeline {
			return name, true
		}
		valid = slices.Concat(sortedKeys(d.producerByName), sortedKeys(d.consumerByName), sortedKeys(d.pipelineByName))
		slices.Sort(valid)
	}
	switch {
	case isProducer:
		d.errorf(resolve(n), "%s %q is a producer; expected producer: %s", kind, name, name)
	case isConsumer:
		d.errorf(resolve(n), "%s %q is a consumer; expected consumer: %s", kind, name, name)
	case isPipeline:
		d.errorf(resolve(n), "%s %q is a pipeline; expected pipeline: %s", kind, name, name)
	case len(valid) == 0:
		d.errorf(resolve(n), "%s %q is not in the workload; expected one of its %ss, but it has none", kind, truncate(name), kind)
	default:
		d.errorf(resolve(n), "%s %q is not in the workload%s", kind, truncate(name), didYouMean(name, valid))
	}
	return name, false
}

func (d *decoder) probability(n *yaml.Node) (float64, bool) {
	const expected = "a probability in (0, 1], like 0.5"
	n, ok := d.scalar(n, "probability", expected)
	if !ok {
		return 0, false
	}
	if tag := n.ShortTag(); tag != "!!float" && tag != "!!int" {
		d.errorf(n, "probability is %s; expected %s", describe(n), expected)
		return 0, false
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || !(v > 0 && v <= 1) {
		d.errorf(n, "probability is %s; expected %s", truncate(n.Value), expected)
		return 0, false
	}
	return v, true
}

// requestNames maps each Kafka request's kebab-case name ("offset-commit")
// to its key.
var requestNames = func() map[string]kmsg.Key {
	m := map[string]kmsg.Key{}
	for k := int16(0); k <= kmsg.MaxKey; k++ {
		if name := kmsg.NameForKey(k); name != "" && name != "Unknown" {
			m[kebab(name)] = kmsg.Key(k)
		}
	}
	return m
}()

// kebab turns "ListOffsets" into "list-offsets" and "InitProducerID" into
// "init-producer-id".
func kebab(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// requestKeys decodes one request name or a list of them.
func (d *decoder) requestKeys(n *yaml.Node) []kmsg.Key {
	n = resolve(n)
	items := []*yaml.Node{n}
	if n.Kind != yaml.ScalarNode {
		var ok bool
		if items, ok = d.list(n, "requests", "request names like produce or fetch"); !ok {
			return nil
		}
	}
	if len(items) == 0 {
		d.errorf(n, "requests is empty; expected request names like [produce, fetch]")
	}
	var keys []kmsg.Key
	for _, item := range items {
		name, ok := d.str(item, "requests", "a request name like produce or fetch")
		if !ok {
			continue
		}
		k, known := requestNames[name]
		if !known {
			d.errorf(resolve(item), "unknown request %q%s", truncate(name), didYouMean(name, sortedKeys(requestNames)))
			continue
		}
		if slices.Contains(keys, k) {
			d.errorf(resolve(item), "request %q is listed twice; expected each request once", name)
			continue
		}
		keys = append(keys, k)
	}
	return keys
}

// kafkaErrors maps Kafka error names to franz-go's errors, with the names
// Kafka gave some of them later.
var kafkaErrors = func() map[string]*kerr.Error {
	m := map[string]*kerr.Error{}
	for code := int16(-1); code < 1000; code++ {
		if e := kerr.TypedErrorForCode(code); e != nil && (e.Code == code) {
			m[e.Message] = e
		}
	}
	m["NOT_LEADER_OR_FOLLOWER"] = kerr.NotLeaderForPartition
	return m
}()

func (d *decoder) kafkaError(n *yaml.Node, key string) (*kerr.Error, bool) {
	name, ok := d.str(n, key, paramHelp["error"])
	if !ok {
		return nil, false
	}
	e, known := kafkaErrors[name]
	if !known {
		d.errorf(resolve(n), "unknown Kafka error %q%s", truncate(name), didYouMeanShort(name, sortedKeys(kafkaErrors)))
		return nil, false
	}
	return e, true
}

// didYouMeanShort is didYouMean for long lists, which it does not print.
func didYouMeanShort(got string, valid []string) string {
	if best, ok := closest(got, valid); ok {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return "; expected a Kafka error name like NOT_ENOUGH_REPLICAS (see kerr)"
}

// trigger decodes "after": a duration, or a progress count.
func (d *decoder) trigger(n *yaml.Node) Trigger {
	n = resolve(n)
	t := Trigger{Pos: d.pos(n), Kind: AtTime}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if _, err := time.ParseDuration(n.Value); err != nil {
			d.errorf(n, "after %q is not a duration; expected a duration like 300ms or a progress trigger like {acked: 500}", truncate(n.Value))
			return t
		}
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null":
		t.Elapsed, _ = d.duration(n, "after", false)
		return t
	case n.Kind != yaml.MappingNode:
		d.errorf(n, "after is %s; expected a duration like 300ms or a progress trigger like {acked: 500}", describe(n))
		return t
	}
	m := d.mapping(n, "trigger", triggerKeys)
	if m == nil {
		return t
	}
	var kinds []string
	for _, k := range []string{"acked", "consumed", "committed"} {
		if m.has(k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		// A misspelled count ({ackd: 5}) was reported with a guess
		// already.
		if !m.merged && !slices.ContainsFunc([]string{"acked", "consumed", "committed"}, func(k string) bool { return m.guessed[k] }) {
			d.errorf(n, "trigger has no progress count; expected acked, consumed or committed, like {acked: 500}")
		}
		return t
	case 1:
	default:
		d.errorf(m.keys[kinds[1]], "trigger has both %q and %q; expected one progress count per trigger", kinds[0], kinds[1])
		return t
	}
	t.Kind = TriggerKind(kinds[0])
	v, _ := d.integer(m.vals[kinds[0]], kinds[0], 1, maxRecords)
	t.Count = int(v)
	if vn := m.vals["producer"]; vn != nil {
		if t.Kind != OnAcked {
			d.errorf(m.keys["producer"], "producer narrows acked triggers only; expected consumer or group with %s", t.Kind)
		} else {
			t.Producer, _ = d.clientRef(vn, "producer")
		}
	}
	if t.Kind == OnAcked && t.Count > 0 && d.producerByName != nil {
		d.checkReachable(m.vals["acked"], t)
	}
	for _, key := range []string{"consumer", "group"} {
		vn := m.vals[key]
		if vn == nil {
			continue
		}
		switch {
		case t.Kind == OnAcked:
			d.errorf(m.keys[key], "%s narrows consumed and committed triggers only; expected producer with acked", key)
		case key == "group" && m.has("consumer"):
			d.errorf(m.keys[key], "trigger has both consumer and group; expected one of them")
		case key == "group":
			t.Group, _ = d.groupRef(vn)
		default:
			t.Consumer, _ = d.memberRef(vn, "consumer")
		}
	}
	return t
}

// memberRef decodes the name of a consumer or a pipeline.
func (d *decoder) memberRef(n *yaml.Node, key string) (string, bool) {
	name, ok := d.name(n, key)
	if !ok || d.consumerByName == nil {
		return name, ok
	}
	if _, ok := d.consumerByName[name]; ok {
		return name, true
	}
	if _, ok := d.pipelineByName[name]; ok {
		return name, true
	}
	d.errorf(resolve(n), "%s %q is not a consumer or pipeline of the workload%s", key, truncate(name),
		didYouMean(name, slices.Concat(sortedKeys(d.consumerByName), sortedKeys(d.pipelineByName))))
	return name, false
}

// checkReachable reports an acked trigger that counts past every record the
// producers it counts will write, and so could never fire.
func (d *decoder) checkReachable(n *yaml.Node, t Trigger) {
	if d.recordsUnknown[t.Producer] || (t.Producer == "" && len(d.recordsUnknown) > 0) {
		return // a producer's records did not decode: that error says it
	}
	total, who := 0, "the producers write"
	if p, ok := d.producerByName[t.Producer]; ok {
		total, who = p.Records, fmt.Sprintf("producer %s writes", p.Name)
	} else if t.Producer == "" {
		for _, p := range d.producerByName {
			total += p.Records
		}
	} else {
		return
	}
	if t.Count > total {
		d.errorf(resolve(n), "acked %d can never be reached: %s %d records; expected at most %d", t.Count, who, total, total)
	}
}
