package scenarios

import (
	"fmt"
	"strings"

	"github.com/seed73168108/kafkaemu/fake"
)

// A fault that applied without an error may still have done nothing: a
// network fault no request matched, an injection no request hit, a verb
// a refactoring turned into a no-op. A scenario whose faults did nothing
// passes expectations that hold without faults and teaches nothing, so the
// runner proves every fault had its effect from the cluster's journal,
// which the emulator writes independently of the runner, and fails the
// scenario, at the fault's position, when the evidence is missing.

// applied is a fault that applied without an error, and where the
// journal stood when it did.
type appliedFault struct {
	f    Fault
	from int64 // events with a larger Seq came after the fault started
}

// noteApplied records that f started when the journal held from events.
func (r *run) noteApplied(f Fault, from int64) {
	r.mu.Lock()
	r.evidence = append(r.evidence, appliedFault{f, from})
	r.mu.Unlock()
}

// journalLen is how many events the journal holds now.
func (r *run) journalLen() int64 { return int64(len(r.c.Journal())) }

// noEffect returns, for each applied fault whose effect the journal does
// not show, a message naming the fault and the evidence missing.
func (r *run) noEffect() []string {
	r.mu.Lock()
	applied := append([]appliedFault(nil), r.evidence...)
	r.mu.Unlock()
	journal := r.c.Journal()
	claimed := map[int64]bool{} // fault-added events already matched to a fault
	var out []string
	for _, a := range applied {
		var after []fake.Event
		for _, ev := range journal {
			if ev.Seq > a.from {
				after = append(after, ev)
			}
		}
		if missing := evidenceMissing(a.f, r.partitions(a.f), after, claimed); missing != "" {
			out = append(out, fmt.Sprintf("%s: fault %s (after %s) had no effect: %s", a.f.Pos, a.f.Verb, a.f.After, missing))
		}
	}
	return out
}

// evidenceMissing says what f's effect should have left in the journal
// events after it started and is not there, or "" if it is. parts are the
// partitions f acts on; claimed marks fault-added events matched to
// earlier faults, so that two like faults need two installations.
func evidenceMissing(f Fault, parts []int32, evs []fake.Event, claimed map[int64]bool) string {
	find := func(ok func(fake.Event) bool) *fake.Event {
		for i := range evs {
			if ok(evs[i]) {
				return &evs[i]
			}
		}
		return nil
	}
	count := func(ok func(fake.Event) bool) int {
		n := 0
		for _, ev := range evs {
			if ok(ev) {
				n++
			}
		}
		return n
	}
	switch f.Verb {
	case Latency, DropResponses, CloseConnections, Blackhole, NetworkPartition, InjectError:
		// The fault was installed (fault-added, naming its kind) and hit
		// at least one request (fault-hit, naming the installation).
		added := find(func(ev fake.Event) bool {
			return ev.Kind == fake.EventFaultAdded && !claimed[ev.Seq] && strings.HasPrefix(ev.Detail, string(f.Verb)+" ")
		})
		if added == nil {
			return fmt.Sprintf("the journal shows no %s fault installed (no fault-added event)", f.Verb)
		}
		claimed[added.Seq] = true
		hits := count(func(ev fake.Event) bool {
			return ev.Kind == fake.EventFaultHit && strings.HasPrefix(ev.Detail, added.Detail+" on ")
		})
		if hits == 0 {
			return fmt.Sprintf("no request hit it (journal: fault-added %q, no fault-hit)", added.Detail)
		}
	case IsolateBroker:
		// Installed, and then the broker was fenced, or it wrote alone
		// (an un-replicated append) while cut off from its followers.
		added := find(func(ev fake.Event) bool {
			return ev.Kind == fake.EventFaultAdded && !claimed[ev.Seq] && strings.HasPrefix(ev.Detail, "isolate brokers [")
		})
		if added == nil {
			return "the journal shows no isolate fault installed (no fault-added event)"
		}
		claimed[added.Seq] = true
		var b int32
		if _, err := fmt.Sscanf(added.Detail, "isolate brokers [%d]", &b); err != nil {
			return fmt.Sprintf("the journal's fault-added %q names no broker", added.Detail)
		}
		if find(func(ev fake.Event) bool {
			return ev.Seq > added.Seq && ((ev.Kind == fake.EventBrokerFenced && ev.Broker == b) ||
				(ev.Kind == fake.EventAppend && ev.Broker == b && ev.Detail == "un-replicated"))
		}) == nil {
			return fmt.Sprintf("broker %d was neither fenced (no broker-fenced event) nor wrote alone while isolated (no un-replicated append on it)", b)
		}
	case Heal:
		if find(func(ev fake.Event) bool {
			return ev.Kind == fake.EventFaultRemoved && strings.HasPrefix(ev.Detail, "isolate brokers [")
		}) == nil {
			return "the journal shows no isolation removed (no fault-removed event)"
		}
	case PauseReplication, ResumeReplication:
		word := "paused"
		if f.Verb == ResumeReplication {
			word = "resumed"
		}
		if f.Broker != nil {
			b := *f.Broker
			if find(func(ev fake.Event) bool {
				return ev.Kind == fake.EventReplication && ev.Topic == "" && ev.Broker == b && ev.Detail == "follower "+word
			}) == nil {
				return fmt.Sprintf("the journal shows no replication event \"follower %s\" for broker %d", word, b)
			}
			return ""
		}
		for _, p := range parts {
			if find(func(ev fake.Event) bool {
				return ev.Kind == fake.EventReplication && ev.Topic == f.Topic && ev.Partition == p && ev.Detail == word
			}) == nil {
				return fmt.Sprintf("the journal shows no replication event %q for %s[%d]", word, f.Topic, p)
			}
		}
	case FailLeader:
		for _, p := range parts {
			if find(func(ev fake.Event) bool {
				return ev.Kind == fake.EventLeaderChange && ev.Topic == f.Topic && ev.Partition == p && strings.Contains(ev.Detail, " failed")
			}) == nil {
				return fmt.Sprintf("the journal shows no leader change for %s[%d]", f.Topic, p)
			}
		}
	case KillBroker, RestartBroker:
		kind := fake.EventBrokerDown
		if f.Verb == RestartBroker {
			kind = fake.EventBrokerUp
		}
		if find(func(ev fake.Event) bool { return ev.Kind == kind && ev.Broker == *f.Broker }) == nil {
			return fmt.Sprintf("the journal shows no %s event for broker %d", kind, *f.Broker)
		}
	case Rebalance:
		forced := find(func(ev fake.Event) bool {
			return ev.Kind == fake.EventGroup && ev.Group == f.Group && ev.Detail == "rebalance forced"
		})
		if forced == nil {
			return fmt.Sprintf("the journal shows no forced rebalance of group %s", f.Group)
		}
		if !newGeneration(f.Group, forced.Epoch, evs) {
			return fmt.Sprintf("group %s never got past generation %d", f.Group, forced.Epoch)
		}
	case JoinPhantom, LeavePhantom:
		word := "joined"
		if f.Verb == LeavePhantom {
			word = "left"
		}
		ev := find(func(ev fake.Event) bool {
			return ev.Kind == fake.EventGroup && ev.Group == f.Group && strings.HasPrefix(ev.Detail, "phantoms "+word+": ")
		})
		if ev == nil {
			return fmt.Sprintf("the journal shows no phantoms %s in group %s", word, f.Group)
		}
		if n := len(strings.Fields(strings.Trim(strings.TrimPrefix(ev.Detail, "phantoms "+word+": "), "[]"))); n != max(f.Count, 1) {
			return fmt.Sprintf("%d phantoms %s group %s, not %d (journal: %q)", n, word, f.Group, max(f.Count, 1), ev.Detail)
		}
	case ExpireMember:
		// The coordinator expelled the member, and the member's client
		// learned it: it was refused (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH)
		// or joined again.
		client := f.Member // a member's client id is its name
		expired := find(func(ev fake.Event) bool {
			return ev.Kind == fake.EventGroup && ev.Group == f.Group && strings.HasPrefix(ev.Detail, "member ") && strings.HasSuffix(ev.Detail, " expired")
		})
		if expired == nil {
			return fmt.Sprintf("the journal shows no member of group %s expired", f.Group)
		}
		if find(func(ev fake.Event) bool {
			return ev.Seq > expired.Seq && ev.Kind == fake.EventGroup && ev.Group == f.Group && ev.Client == client
		}) == nil {
			return fmt.Sprintf("%s never noticed its expiry (no group event from client %s after %q)", f.Member, client, expired.Detail)
		}
	case MoveCoordinator:
		if find(func(ev fake.Event) bool { return ev.Kind == fake.EventCoordinatorMoved && ev.Group == f.Group }) == nil {
			return fmt.Sprintf("the journal shows no coordinator move for group %s", f.Group)
		}
	case FenceProducer:
		name := f.Producer + f.Pipeline
		if find(func(ev fake.Event) bool {
			return ev.Kind == fake.EventProducerInit && ev.Client == "fencer-"+name && ev.Error == ""
		}) == nil {
			return fmt.Sprintf("the journal shows no InitProducerID of the fencing instance (client fencer-%s)", name)
		}
	}
	// delete-records, crash-consumer and restart-consumer act through
	// the runner's own clients; their effects are judged by the
	// expectations (unseen, consumed, redelivered).
	return ""
}

// partitions is the partitions f acts on: its partition, or every
// partition of its topic.
func (r *run) partitions(f Fault) []int32 {
	if f.Partition != nil {
		return []int32{*f.Partition}
	}
	t, _ := r.s.Topic(f.Topic)
	ps := make([]int32, t.Partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	return ps
}

// newGeneration reports whether group has a generation (classic join) or
// member epoch (KIP-848 heartbeat) above epoch in evs.
func newGeneration(group string, epoch int32, evs []fake.Event) bool {
	for _, ev := range evs {
		if ev.Kind == fake.EventGroup && ev.Group == group && ev.Error == "" && ev.Epoch > epoch &&
			(strings.HasPrefix(ev.Detail, "join") || strings.HasPrefix(ev.Detail, "sync") || strings.HasPrefix(ev.Detail, "consumer heartbeat")) {
			return true
		}
	}
	return false
}
