package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The keys each mapping allows, in the order the reference documents them.
var (
	scenarioKeys = []string{"name", "description", "seed", "timeout", "clock", "broker_session_timeout", "cluster", "topics", "workload", "faults", "expect"}
	clusterKeys  = []string{"brokers", "replica_lag_max"}
	topicKeys    = []string{"name", "partitions", "replicas", "configs"}
	workloadKeys = []string{"producers", "consumers", "pipelines"}
	producerKeys = []string{"name", "topic", "records", "rate", "acks", "idempotent", "transactional_id",
		"txn_size", "abort_every", "keys", "partition", "delivery_timeout"}
	consumerKeys = []string{"name", "group", "topics", "commit", "isolation", "instance_id", "protocol",
		"balancer", "offset_reset", "session_timeout", "process_time", "crash_after"}
	pipelineKeys = []string{"name", "group", "input", "output", "transactional_id", "isolation",
		"abort_every", "session_timeout", "process_time", "crash_after"}
)

// Limits that keep a scenario runnable in-process.
const (
	maxBrokers    = 64
	maxPartitions = 1024
	maxRecords    = 10_000_000
)

// topicConfigs are the topic configs the emulator supports, with the values
// each accepts ("int" for a whole number).
var topicConfigs = map[string][]string{
	"cleanup.policy":                 {"delete", "compact", "compact,delete", "delete,compact"},
	"compression.type":               {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"},
	"delete.retention.ms":            {"int"},
	"max.message.bytes":              {"int"},
	"message.timestamp.type":         {"CreateTime", "LogAppendTime"},
	"min.insync.replicas":            {"int"},
	"retention.bytes":                {"int"},
	"retention.ms":                   {"int"},
	"segment.bytes":                  {"int"},
	"segment.ms":                     {"int"},
	"unclean.leader.election.enable": {"true", "false"},
}

func (d *decoder) scenario(root *yaml.Node) *Scenario {
	s := &Scenario{Pos: d.pos(resolve(root))}
	m := d.mapping(root, "the scenario", scenarioKeys)
	if m == nil {
		return s
	}
	d.require(m, "the scenario", "name", "cluster", "topics", "workload", "expect")
	if n := m.vals["name"]; n != nil {
		s.Name, _ = d.name(n, "name")
	}
	if n := m.vals["description"]; n != nil {
		s.Description, _ = d.str(n, "description", "a sentence saying what the scenario shows")
	}
	if n := m.vals["seed"]; n != nil {
		if v, ok := d.integer(n, "seed", math.MinInt64, math.MaxInt64); ok {
			s.Seed = &v
		}
	}
	if n := m.vals["timeout"]; n != nil {
		s.Timeout, _ = d.duration(n, "timeout", true)
	}
	s.Clock = ClockVirtual
	if n := m.vals["clock"]; n != nil {
		v, _ := d.enum(n, "clock", string(ClockVirtual), string(ClockReal))
		s.Clock = Clock(v)
	}
	if n := m.vals["broker_session_timeout"]; n != nil {
		s.BrokerSessionTimeout, _ = d.duration(n, "broker_session_timeout", true)
	}
	// Declarations come before their uses, whatever order the file has.
	if n := m.vals["cluster"]; n != nil {
		s.Cluster = d.cluster(n)
	}
	if n := m.vals["topics"]; n != nil {
		s.Topics = d.topicSection(n)
	}
	if n := m.vals["workload"]; n != nil {
		s.Workload = d.workload(n)
	}
	if n := m.vals["faults"]; n != nil {
		s.Faults = d.faults(n)
	}
	if n := m.vals["expect"]; n != nil {
		s.Expect = d.expectations(n)
	}
	return s
}

func (d *decoder) cluster(n *yaml.Node) Cluster {
	c := Cluster{Pos: d.pos(resolve(n))}
	m := d.mapping(n, "cluster", clusterKeys)
	if m == nil {
		return c
	}
	if d.require(m, "cluster", "brokers") {
		if v, ok := d.integer(m.vals["brokers"], "brokers", 1, maxBrokers); ok {
			c.Brokers = int(v)
			d.brokers = c.Brokers
		}
	}
	if n := m.vals["replica_lag_max"]; n != nil {
		c.ReplicaLagMax, _ = d.duration(n, "replica_lag_max", true)
	}
	return c
}

func (d *decoder) topicSection(n *yaml.Node) []Topic {
	items, ok := d.list(n, "topics", "topics like {name: orders, partitions: 3, replicas: 3}")
	if !ok {
		return nil // topicByName stays nil: uses of topics are not checked
	}
	d.topicByName = map[string]Topic{}
	if len(items) == 0 {
		d.errorf(resolve(n), "topics is empty; expected at least one topic")
	}
	var out []Topic
	for _, item := range items {
		t, ok := d.topic(item)
		if t.Name == "" {
			continue
		}
		if first, dup := d.topicByName[t.Name]; dup {
			d.errorf(valueOf(item, "name"), "duplicate topic %q; it was first declared at line %d", t.Name, first.Pos.Line)
			continue
		}
		d.topicByName[t.Name] = t
		if ok {
			out = append(out, t)
		}
	}
	return out
}

// topic decodes one topic; a topic with errors keeps the name (and, when
// valid, the partition count) so uses of it are still checked.
func (d *decoder) topic(n *yaml.Node) (Topic, bool) {
	t := Topic{Pos: d.pos(resolve(n)), Configs: map[string]string{}}
	m := d.mapping(n, "topic", topicKeys)
	if m == nil {
		return t, false
	}
	errs := len(d.errs)
	d.require(m, "topic", "name", "partitions", "replicas")
	if n := m.vals["name"]; n != nil {
		if name, ok := d.name(n, "name"); ok {
			if name == "." || name == ".." {
				d.errorf(resolve(n), "topic name %q is reserved; expected another name", name)
			}
			t.Name = name
		}
	}
	if n := m.vals["partitions"]; n != nil {
		if v, ok := d.integer(n, "partitions", 1, maxPartitions); ok {
			t.Partitions = int32(v)
		}
	}
	if n := m.vals["replicas"]; n != nil {
		if v, ok := d.integer(n, "replicas", 1, maxBrokers); ok {
			t.Replicas = int16(v)
			if d.brokers > 0 && int(v) > d.brokers {
				d.errorf(resolve(n), "replicas is %d but the cluster has %d brokers; expected at most %d", v, d.brokers, d.brokers)
			}
		}
	}
	if n := m.vals["configs"]; n != nil {
		d.topicConfigs(n, &t)
	}
	return t, len(d.errs) == errs
}

func (d *decoder) topicConfigs(n *yaml.Node, t *Topic) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	m := d.mapping(n, "configs", sortedKeys(topicConfigs))
	if m == nil {
		return
	}
	for _, key := range sortedKeys(topicConfigs) {
		vn := m.vals[key]
		if vn == nil {
			continue
		}
		valid := topicConfigs[key]
		expected := "one of " + joinQuoted(valid)
		if valid[0] == "int" {
			expected = "a whole number"
		}
		vn, ok := d.scalar(vn, key, expected) // any scalar: 2, "2", true
		if !ok {
			continue
		}
		v := vn.Value
		if valid[0] != "int" {
			if !slices.Contains(valid, v) {
				d.errorf(vn, "%s is %q; expected %s", key, truncate(v), expected)
				continue
			}
		} else if i, err := strconv.ParseInt(v, 10, 64); err != nil {
			d.errorf(vn, "%s is %q; expected %s", key, truncate(v), expected)
			continue
		} else if key == "min.insync.replicas" && (i < 1 || (t.Replicas > 0 && i > int64(t.Replicas))) {
			d.errorf(vn, "min.insync.replicas is %d with %d replicas; expected 1 to %d (more could never be in sync)", i, t.Replicas, max(t.Replicas, 1))
			continue
		}
		t.Configs[key] = v
	}
}

func (d *decoder) workload(n *yaml.Node) Workload {
	w := Workload{Pos: d.pos(resolve(n))}
	d.producerByName = map[string]Producer{}
	d.consumerByName = map[string]Consumer{}
	d.pipelineByName = map[string]Pipeline{}
	d.groupKind = map[string]string{}
	m := d.mapping(n, "workload", workloadKeys)
	if m == nil {
		return w
	}
	clients := map[string]Pos{}
	txnIDs := map[string]string{}
	claim := func(item *yaml.Node, name string, pos Pos) bool {
		if first, dup := clients[name]; dup {
			d.errorf(valueOf(item, "name"), "duplicate client name %q; it was first used at line %d (producers, consumers and pipelines share names)", name, first.Line)
			return false
		}
		clients[name] = pos
		return true
	}
	claimTxnID := func(n *yaml.Node, id, client string) {
		if first, dup := txnIDs[id]; dup {
			d.errorf(valueOf(n, "transactional_id"), "transactional_id %q is already used by %s; expected one per client, or they fence each other", id, first)
			return
		}
		txnIDs[id] = client
	}
	if n := m.vals["producers"]; n != nil {
		items, _ := d.list(n, "producers", "producers like {name: p1, topic: orders, records: 100}")
		for _, item := range items {
			p, ok := d.producer(item)
			if p.Name == "" || !claim(item, p.Name, p.Pos) {
				continue
			}
			d.producerByName[p.Name] = p
			if p.TransactionalID != "" {
				claimTxnID(item, p.TransactionalID, "producer "+p.Name)
			}
			if ok {
				w.Producers = append(w.Producers, p)
			}
		}
	}
	if n := m.vals["consumers"]; n != nil {
		items, _ := d.list(n, "consumers", "consumers like {name: c1, group: g1, topics: [orders]}")
		instances := map[[2]string]Pos{}
		for _, item := range items {
			c, ok := d.consumer(item)
			if c.Name == "" || !claim(item, c.Name, c.Pos) {
				continue
			}
			d.consumerByName[c.Name] = c
			if c.InstanceID != "" && c.Group != "" {
				key := [2]string{c.Group, c.InstanceID}
				if first, dup := instances[key]; dup {
					d.errorf(valueOf(item, "instance_id"), "instance_id %q is already used in group %q by the consumer at line %d; expected one static member per instance id", c.InstanceID, c.Group, first.Line)
					ok = false
				}
				instances[key] = c.Pos
			}
			if ok {
				w.Consumers = append(w.Consumers, c)
			}
		}
	}
	if n := m.vals["pipelines"]; n != nil {
		items, _ := d.list(n, "pipelines", "pipelines like {name: enrich, group: g1, input: in, output: out}")
		for _, item := range items {
			p, ok := d.pipeline(item)
			if p.Name == "" || !claim(item, p.Name, p.Pos) {
				continue
			}
			d.pipelineByName[p.Name] = p
			if p.TransactionalID != "" {
				claimTxnID(item, p.TransactionalID, "pipeline "+p.Name)
			}
			if ok {
				w.Pipelines = append(w.Pipelines, p)
			}
		}
	}
	if len(clients) == 0 {
		d.errorf(m.node, "workload has no producers, consumers or pipelines; expected at least one client")
	}
	return w
}

// ref checks that a topic name refers to a declared topic.
func (d *decoder) topicRef(n *yaml.Node, key string) (string, bool) {
	name, ok := d.str(n, key, help["topic"])
	if !ok {
		return "", false
	}
	if d.topicByName == nil {
		return name, true // topics failed to parse; do not pile on
	}
	if _, ok := d.topicByName[name]; !ok {
		d.errorf(resolve(n), "%s %q is not declared under topics%s", key, truncate(name), didYouMean(name, sortedKeys(d.topicByName)))
		return name, false
	}
	return name, true
}

// partitionRef checks a partition number against its topic.
func (d *decoder) partitionRef(n *yaml.Node, topic string) (*int32, bool) {
	v, ok := d.integer(n, "partition", 0, maxPartitions-1)
	if !ok {
		return nil, false
	}
	if t, known := d.topicByName[topic]; known && t.Partitions > 0 && v >= int64(t.Partitions) {
		d.errorf(resolve(n), "partition %d does not exist: topic %q has %d; expected 0 to %d", v, topic, t.Partitions, t.Partitions-1)
		return nil, false
	}
	p := int32(v)
	return &p, true
}

// groupName decodes a group name and records which kind of client uses it.
func (d *decoder) groupName(n *yaml.Node, kind string) (string, bool) {
	g, ok := d.name(n, "group")
	if !ok {
		return "", false
	}
	if other, used := d.groupKind[g]; used && other != kind {
		d.errorf(resolve(n), "group %q is used by both a %s and a %s; expected a group of consumers or a group of pipelines", g, other, kind)
		return g, false
	}
	d.groupKind[g] = kind
	return g, true
}

func (d *decoder) producer(n *yaml.Node) (Producer, bool) {
	p := Producer{Pos: d.pos(resolve(n)), Acks: AcksAll}
	m := d.mapping(n, "producer", producerKeys)
	if m == nil {
		return p, false
	}
	errs := len(d.errs)
	d.require(m, "producer", "name", "topic", "records")
	if n := m.vals["name"]; n != nil {
		p.Name, _ = d.name(n, "name")
	}
	if n := m.vals["topic"]; n != nil {
		p.Topic, _ = d.topicRef(n, "topic")
	}
	known := false
	if n := m.vals["records"]; n != nil {
		v, ok := d.integer(n, "records", 1, maxRecords)
		p.Records, known = int(v), ok
	}
	if !known {
		if d.recordsUnknown == nil {
			d.recordsUnknown = map[string]bool{}
		}
		d.recordsUnknown[p.Name] = true
	}
	if n := m.vals["rate"]; n != nil {
		v, _ := d.integer(n, "rate", 0, maxRecords)
		p.Rate = int(v)
	}
	if n := m.vals["acks"]; n != nil {
		p.Acks, _ = d.acks(n)
	}
	p.Idempotent = p.Acks == AcksAll
	if n := m.vals["idempotent"]; n != nil {
		if v, ok := d.boolean(n, "idempotent"); ok {
			p.Idempotent = v
			if v && p.Acks != AcksAll {
				d.errorf(resolve(n), "idempotent: true with acks: %s; expected acks: all, which the idempotent producer requires", p.Acks)
			}
		}
	}
	if n := m.vals["transactional_id"]; n != nil {
		if id, ok := d.str(n, "transactional_id", "a transactional id"); ok {
			p.TransactionalID = id
			switch {
			case p.Acks != AcksAll:
				d.errorf(resolve(n), "transactional_id with acks: %s; expected acks: all, which transactions require", p.Acks)
			case !p.Idempotent:
				d.errorf(resolve(n), "transactional_id with idempotent: false; expected idempotent: true (or left out), which transactions require")
			}
			p.TxnSize = 10
		}
	}
	for _, key := range []string{"txn_size", "abort_every"} {
		n := m.vals[key]
		if n == nil {
			continue
		}
		lo := int64(0)
		if key == "txn_size" {
			lo = 1
		}
		v, ok := d.integer(n, key, lo, maxRecords)
		switch {
		case !ok:
		case !m.has("transactional_id"):
			d.errorf(resolve(n), "%s applies to transactional producers only; expected a transactional_id too", key)
		case key == "txn_size":
			p.TxnSize = int(v)
		default:
			p.AbortEvery = int(v)
		}
	}
	if n := m.vals["keys"]; n != nil {
		v, _ := d.integer(n, "keys", 0, maxRecords)
		p.Keys = int(v)
	}
	if n := m.vals["partition"]; n != nil {
		p.Partition, _ = d.partitionRef(n, p.Topic)
	}
	if n := m.vals["delivery_timeout"]; n != nil {
		p.DeliveryTimeout, _ = d.duration(n, "delivery_timeout", true)
	}
	return p, len(d.errs) == errs
}

// acks decodes 0, 1, all or -1, quoted or not.
func (d *decoder) acks(n *yaml.Node) (Acks, bool) {
	const expected = `"0", "1" or "all" (-1 is all)`
	n, ok := d.scalar(n, "acks", expected)
	if !ok {
		return AcksAll, false
	}
	switch n.Value {
	case "0":
		return AcksNone, true
	case "1":
		return AcksLeader, true
	case "all", "-1":
		return AcksAll, true
	}
	d.errorf(n, "acks is %s; expected %s", describe(n), expected)
	return AcksAll, false
}

func (d *decoder) consumer(n *yaml.Node) (Consumer, bool) {
	c := Consumer{
		Pos:         d.pos(resolve(n)),
		Commit:      CommitAfterProcess,
		Isolation:   ReadUncommitted,
		Protocol:    ProtocolClassic,
		Balancer:    "cooperative-sticky",
		OffsetReset: ResetEarliest,
	}
	m := d.mapping(n, "consumer", consumerKeys)
	if m == nil {
		return c, false
	}
	errs := len(d.errs)
	d.require(m, "consumer", "name", "group", "topics")
	if n := m.vals["name"]; n != nil {
		c.Name, _ = d.name(n, "name")
	}
	if n := m.vals["group"]; n != nil {
		c.Group, _ = d.groupName(n, "consumer")
	}
	if n := m.vals["topics"]; n != nil {
		c.Topics = d.topicList(n)
	}
	if n := m.vals["commit"]; n != nil {
		v, _ := d.enum(n, "commit", string(CommitAfterProcess), string(CommitBeforeProcess), string(CommitAuto), string(CommitOnRevoke), string(CommitNone))
		c.Commit = CommitMode(v)
	}
	if n := m.vals["isolation"]; n != nil {
		c.Isolation, _ = d.isolation(n)
	}
	if n := m.vals["instance_id"]; n != nil {
		c.InstanceID, _ = d.name(n, "instance_id")
	}
	if n := m.vals["protocol"]; n != nil {
		v, _ := d.enum(n, "protocol", string(ProtocolClassic), string(ProtocolConsumer))
		c.Protocol = GroupProtocol(v)
	}
	if c.Protocol == ProtocolConsumer {
		c.Balancer = ""
	}
	if n := m.vals["balancer"]; n != nil {
		if v, ok := d.enum(n, "balancer", "range", "roundrobin", "sticky", "cooperative-sticky"); ok {
			if c.Protocol == ProtocolConsumer {
				d.errorf(resolve(n), "balancer with protocol: consumer, where the broker assigns partitions; expected protocol: classic or no balancer")
			} else {
				c.Balancer = v
			}
		}
	}
	if n := m.vals["offset_reset"]; n != nil {
		v, _ := d.enum(n, "offset_reset", string(ResetEarliest), string(ResetLatest))
		c.OffsetReset = OffsetReset(v)
	}
	if n := m.vals["session_timeout"]; n != nil {
		c.SessionTimeout, _ = d.duration(n, "session_timeout", true)
	}
	if n := m.vals["process_time"]; n != nil {
		c.ProcessTime, _ = d.duration(n, "process_time", false)
	}
	if n := m.vals["crash_after"]; n != nil {
		v, _ := d.integer(n, "crash_after", 1, maxRecords)
		c.CrashAfter = int(v)
	}
	return c, len(d.errs) == errs
}

// topicList decodes a consumer's topics: a list of declared topics, or one
// topic name on its own.
func (d *decoder) topicList(n *yaml.Node) []string {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		if t, ok := d.topicRef(n, "topics"); ok {
			return []string{t}
		}
		return nil
	}
	items, ok := d.list(n, "topics", "declared topic names")
	if ok && len(items) == 0 {
		d.errorf(n, "topics is empty; expected at least one topic to consume")
	}
	var out []string
	seen := map[string]bool{}
	for _, item := range items {
		t, ok := d.topicRef(item, "topic")
		if !ok {
			continue
		}
		if seen[t] {
			d.errorf(resolve(item), "topic %q is listed twice; expected each topic once", t)
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

func (d *decoder) isolation(n *yaml.Node) (Isolation, bool) {
	v, ok := d.enum(n, "isolation", string(ReadCommitted), string(ReadUncommitted))
	return Isolation(v), ok
}

func (d *decoder) pipeline(n *yaml.Node) (Pipeline, bool) {
	p := Pipeline{Pos: d.pos(resolve(n)), Isolation: ReadCommitted}
	m := d.mapping(n, "pipeline", pipelineKeys)
	if m == nil {
		return p, false
	}
	errs := len(d.errs)
	d.require(m, "pipeline", "name", "group", "input", "output")
	if n := m.vals["name"]; n != nil {
		p.Name, _ = d.name(n, "name")
		p.TransactionalID = p.Name
	}
	if n := m.vals["group"]; n != nil {
		p.Group, _ = d.groupName(n, "pipeline")
	}
	if n := m.vals["input"]; n != nil {
		p.Input, _ = d.topicRef(n, "input")
	}
	if n := m.vals["output"]; n != nil {
		if out, ok := d.topicRef(n, "output"); ok {
			p.Output = out
			if out == p.Input {
				d.errorf(resolve(n), "output %q is also the input, so the pipeline would feed itself; expected another topic", out)
			}
		}
	}
	if n := m.vals["transactional_id"]; n != nil {
		p.TransactionalID, _ = d.str(n, "transactional_id", "a transactional id")
	}
	if n := m.vals["isolation"]; n != nil {
		p.Isolation, _ = d.isolation(n)
	}
	if n := m.vals["abort_every"]; n != nil {
		v, _ := d.integer(n, "abort_every", 0, maxRecords)
		p.AbortEvery = int(v)
	}
	if n := m.vals["session_timeout"]; n != nil {
		p.SessionTimeout, _ = d.duration(n, "session_timeout", true)
	}
	if n := m.vals["process_time"]; n != nil {
		p.ProcessTime, _ = d.duration(n, "process_time", false)
	}
	if n := m.vals["crash_after"]; n != nil {
		v, _ := d.integer(n, "crash_after", 1, maxRecords)
		p.CrashAfter = int(v)
	}
	return p, len(d.errs) == errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinQuoted(vals []string) string {
	s := ""
	for i, v := range vals {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", v)
	}
	return s
}
