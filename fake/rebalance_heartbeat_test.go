package fake_test

import (
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Rebalance tells the leader REBALANCE_IN_PROGRESS on every heartbeat of
// the old generation until it rejoins, as Kafka does: a client that lets
// one answer pass (librdkafka, when the first came right after its
// SyncGroup) hears it again. It was told once only, and the group stayed
// in its generation until Rebalance gave up.
func TestRebalanceTellsEveryHeartbeat(t *testing.T) {
	t.Parallel()
	c, err := fake.New(fake.Topic("t", 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := ctxT(t, 30*time.Second)
	join := func(member string) *kmsg.JoinGroupResponse {
		t.Helper()
		for {
			req := kmsg.NewPtrJoinGroupRequest()
			req.Group, req.MemberID, req.ProtocolType = "g", member, "consumer"
			req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name, p.Metadata = "range", (&kmsg.ConsumerMemberMetadata{Topics: []string{"t"}}).AppendTo(nil)
			req.Protocols = append(req.Protocols, p)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			if resp.ErrorCode == kerr.MemberIDRequired.Code { // KIP-394
				member = resp.MemberID
				continue
			}
			if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
				t.Fatal(err)
			}
			sync := kmsg.NewPtrSyncGroupRequest()
			sync.Group, sync.MemberID, sync.Generation = "g", resp.MemberID, resp.Generation
			if sresp, err := sync.RequestWith(ctx, cl); err != nil || sresp.ErrorCode != 0 {
				t.Fatalf("sync: %v %v", err, sresp)
			}
			return resp
		}
	}
	heartbeat := func(j *kmsg.JoinGroupResponse) int16 {
		t.Helper()
		hb := kmsg.NewPtrHeartbeatRequest()
		hb.Group, hb.MemberID, hb.Generation = "g", j.MemberID, j.Generation
		resp, err := hb.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	}
	j := join("")
	done := make(chan error, 1)
	go func() { done <- c.Rebalance(ctx, "g") }()
	// The first heartbeat told; the client lets it pass; the next ones
	// are told too.
	for told := 0; told < 3; {
		switch code := heartbeat(j); code {
		case kerr.RebalanceInProgress.Code:
			told++
		case 0: // before Rebalance installed its answer
		default:
			t.Fatalf("heartbeat: %v", kerr.ErrorForCode(code))
		}
	}
	j2 := join(j.MemberID)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if j2.Generation <= j.Generation {
		t.Errorf("generation %d after the rejoin, was %d", j2.Generation, j.Generation)
	}
	if code := heartbeat(j2); code != 0 {
		t.Errorf("a heartbeat of the new generation: %v", kerr.ErrorForCode(code))
	}
}
