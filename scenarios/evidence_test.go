package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
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

// isolate-broker resolves "leader-of topic/partition" when it applies and
// records its effect; heal with nothing isolated, or a broker that is not,
// fails the scenario at the fault's position with a clear error.
func TestIsolateBrokerAndHeal(t *testing.T) {
	const text = `name: isolate
seed: 5
broker_session_timeout: 200ms
cluster: {brokers: 3}
topics:
  - {name: orders, partitions: 1, replicas: 3}
workload:
  producers:
    - {name: p1, topic: orders, acks: "1", records: 100, rate: 200}
faults:
  - {after: {acked: 10}, do: heal}
  - {after: {acked: 20}, do: isolate-broker, broker: leader-of orders/0}
  - {after: {acked: 40}, do: heal, broker: 2}
  - {after: 400ms, do: heal}
expect:
  - {acked: 100, producer: p1}
`
	s, err := Parse("isolate.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if lo := s.Faults[1].LeaderOf; lo == nil || *lo != (PartitionRef{"orders", 0}) || s.BrokerSessionTimeout != 200*time.Millisecond {
		t.Fatalf("parsed leader-of %v, broker_session_timeout %v", lo, s.BrokerSessionTimeout)
	}
	check := func(t *testing.T, r *run) {
		failed := r.execute()
		if want := "isolate.yaml:11:5: fault heal after acked 10: no broker is isolated (isolate-broker) now: nothing to heal"; !strings.Contains(failed, want) {
			t.Errorf("verdict:\n%s\nwant it to contain:\n%s", failed, want)
		}
		for _, line := range []string{"isolate.yaml:12:", "isolate.yaml:14:"} {
			if strings.Contains(failed, line) {
				t.Errorf("the fault at %s failed:\n%s", line, failed)
			}
		}
		isolated, fenced := int32(-1), int32(-1)
		for _, e := range r.c.Journal() {
			switch {
			case e.Kind == fake.EventFaultAdded && strings.HasPrefix(e.Detail, "isolate brokers ["):
				_, _ = fmt.Sscanf(e.Detail, "isolate brokers [%d]", &isolated)
			case e.Kind == fake.EventBrokerFenced:
				fenced = e.Broker
			}
		}
		leaderBefore := int32(-1) // orders/0's first leader: the one leader-of must name
		for _, e := range r.c.Journal() {
			if e.Kind == fake.EventLeaderChange && e.Topic == "orders" {
				leaderBefore = e.Leader
				break
			}
		}
		if isolated != leaderBefore || fenced != leaderBefore {
			t.Errorf("isolated broker %d, fenced %d; want the leader of orders/0 when the fault applied, %d", isolated, fenced, leaderBefore)
		}
		if want := "isolate.yaml:13:5: fault heal after acked 40: broker 2 is not isolated (isolate-broker) now: nothing to heal"; leaderBefore != 2 && !strings.Contains(failed, want) {
			t.Errorf("verdict:\n%s\nwant it to contain:\n%s", failed, want)
		}
	}
	if why := realClockReason(s, true); why != "" {
		t.Logf("on the real clock: %s", why)
		check(t, newRun(t, s, 5, false, ""))
		return
	}
	synctest.Test(t, func(t *testing.T) { check(t, newRun(t, s, 5, true, "")) })
}
