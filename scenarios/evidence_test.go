package scenarios

import (
	"strings"
	"testing"
)

// A fault that applies without an error but that no request ever hits
// fails the run at its position, saying what evidence is missing; a
// scenario whose faults all hit passes.
func TestFaultWithoutEffectFails(t *testing.T) {
	const text = `name: no-effect
seed: 5
cluster: {brokers: 1}
topics:
  - {name: orders, partitions: 1, replicas: 1}
workload:
  producers:
    - {name: p1, topic: orders, records: 200, rate: 500}
faults:
  - {after: {acked: 10}, do: latency, delay: 1ms, requests: [delete-records], for: 50ms}
  - {after: {acked: 10}, do: inject-error, error: NOT_LEADER_OR_FOLLOWER, requests: [produce], count: 1}
expect:
  - {acked: 200, producer: p1}
`
	s, err := Parse("no-effect.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(t, s, 5, false, "")
	failed := r.execute()
	want := `no-effect.yaml:10:5: fault latency (after acked 10) had no effect: no request hit it (journal: fault-added "latency 1ms±0s requests DeleteRecords", no fault-hit)`
	if !strings.Contains(failed, want) {
		t.Errorf("verdict:\n%s\nwant it to contain:\n%s", failed, want)
	}
	if strings.Contains(failed, "no-effect.yaml:11:") {
		t.Errorf("the inject-error fault hit a produce, yet:\n%s", failed)
	}
}

// Every verb needs evidence of its effect, except the three the runner's
// own clients perform (REFERENCE.md says which): a verb added without a
// case in evidenceMissing fails here.
func TestEveryVerbNeedsEvidence(t *testing.T) {
	exempt := map[Verb]bool{DeleteRecords: true, CrashConsumer: true, RestartConsumer: true}
	broker, partition := int32(0), int32(0)
	for _, v := range Verbs() {
		f := Fault{Verb: v, Topic: "orders", Partition: &partition, Broker: &broker, Group: "g", Member: "c1", Producer: "p1"}
		if v == PauseReplication || v == ResumeReplication {
			f.Broker = nil
		}
		missing := evidenceMissing(f, []int32{0}, nil, map[int64]bool{})
		if exempt[v] != (missing == "") {
			t.Errorf("%s with an empty journal: evidence missing %q; exempt: %v", v, missing, exempt[v])
		}
	}
}
