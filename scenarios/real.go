package scenarios

import (
	"fmt"
	"os"
	"slices"

	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kfake"
)

// realVerbs are the fault verbs a real cluster behind the fault proxy can
// do: the network faults (the proxy's), fail-leader (the cluster's own
// ElectLeaders), delete-records (DeleteRecords) and the client actions.
// The others need the emulator's model.
var realVerbs = []Verb{
	FailLeader, DeleteRecords,
	Latency, DropResponses, CloseConnections, Blackhole, NetworkPartition,
	CrashConsumer, RestartConsumer, FenceProducer,
}

// RunsOnRealCluster reports whether v works against a real cluster.
func (v Verb) RunsOnRealCluster() bool { return slices.Contains(realVerbs, v) }

// CheckRealCluster reports, before anything runs, what in s a real
// cluster behind the fault proxy cannot do: one error per fault whose
// verb needs the emulator, at the fault's position ("lessons.yaml:12:5:
// pause-replication needs the emulator (the target is a real cluster)").
// It returns nil when s runs on a real cluster.
func CheckRealCluster(s *Scenario) error {
	var errs ErrorList
	for _, f := range s.Faults {
		if !f.Verb.RunsOnRealCluster() {
			errs = append(errs, &Error{Pos: f.Pos, Msg: fmt.Sprintf("%s needs the emulator (the target is a real cluster)", f.Verb)})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	errs.sort()
	return errs
}

// realTarget is the real cluster KAFKAEMU_BOOTSTRAP names, or "".
func realTarget() string { return os.Getenv(harness.BootstrapEnv) }

// renamed is a copy of s whose topics, groups and transactional ids carry
// the names name gives them (harness.Cluster.Name on a real cluster, so
// that runs sharing a cluster never meet). Client names, which are client
// ids, are kept.
func renamed(s *Scenario, name func(string) string) *Scenario {
	c := *s
	c.Topics = slices.Clone(s.Topics)
	for i := range c.Topics {
		c.Topics[i].Name = name(c.Topics[i].Name)
	}
	w := &c.Workload
	w.Producers = slices.Clone(s.Workload.Producers)
	for i := range w.Producers {
		p := &w.Producers[i]
		p.Topic = name(p.Topic)
		if p.TransactionalID != "" {
			p.TransactionalID = name(p.TransactionalID)
		}
	}
	w.Consumers = slices.Clone(s.Workload.Consumers)
	for i := range w.Consumers {
		cs := &w.Consumers[i]
		cs.Group = name(cs.Group)
		cs.Topics = slices.Clone(cs.Topics)
		for j := range cs.Topics {
			cs.Topics[j] = name(cs.Topics[j])
		}
		if cs.InstanceID != "" {
			cs.InstanceID = name(cs.InstanceID)
		}
	}
	w.Pipelines = slices.Clone(s.Workload.Pipelines)
	for i := range w.Pipelines {
		p := &w.Pipelines[i]
		p.Group, p.Input, p.Output = name(p.Group), name(p.Input), name(p.Output)
		p.TransactionalID = name(p.TransactionalID)
	}
	c.Faults = slices.Clone(s.Faults)
	for i := range c.Faults {
		f := &c.Faults[i]
		if f.Topic != "" {
			f.Topic = name(f.Topic)
		}
		if f.Group != "" {
			f.Group = name(f.Group)
		}
		if f.LeaderOf != nil {
			ref := *f.LeaderOf
			ref.Topic = name(ref.Topic)
			f.LeaderOf = &ref
		}
		if f.After.Group != "" {
			f.After.Group = name(f.After.Group)
		}
	}
	c.Expect = slices.Clone(s.Expect)
	for i := range c.Expect {
		if e := &c.Expect[i]; e.Group != "" {
			e.Group = name(e.Group)
		}
	}
	return &c
}

// groupInfo is group as the cluster describes it (the emulator's kfake,
// or a real cluster's DescribeGroups), nil when it does not know it.
func (r *run) groupInfo(group string) *kfake.GroupInfo {
	gi, err := r.c.Group(group)
	if err != nil {
		return nil
	}
	return gi
}
