package fake_test

import (
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A zombie stays fenced: once a new instance initialised its
// transactional id, an InitProducerID naming the old epoch (KIP-360
// recovery) is refused with PRODUCER_FENCED, as Kafka does; kfake alone
// would let the zombie recover and fence the new instance. The new
// instance itself can still recover from its own epoch.
func TestFencedZombieCannotRecover(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 3))
	ctx := ctxT(t, 10*time.Second)
	zombie := c.Client(t, kgo.TransactionalID("tx"))
	pid, oldEpoch, err := zombie.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	successor := c.Client(t, kgo.TransactionalID("tx"))
	pid2, newEpoch, err := successor.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pid2 != pid || newEpoch <= oldEpoch {
		t.Fatalf("the successor got %d/%d after %d/%d", pid2, newEpoch, pid, oldEpoch)
	}
	recover := func(cl *kgo.Client, epoch int16) *kmsg.InitProducerIDResponse {
		t.Helper()
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = kmsg.StringPtr("tx")
		req.TransactionTimeoutMillis = 60000
		req.ProducerID, req.ProducerEpoch = pid, epoch
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// Its EndTxn is refused too: with transactions V2 kfake would take it
	// as a retry from the epoch before and hand back the successor's.
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "tx", pid, oldEpoch, false
	if resp, err := end.RequestWith(ctx, zombie); err != nil || resp.ErrorCode != kerr.ProducerFenced.Code {
		t.Errorf("the zombie's EndTxn from epoch %d: %v %v, want PRODUCER_FENCED", oldEpoch, err, kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp := recover(zombie, oldEpoch); resp.ErrorCode != kerr.ProducerFenced.Code {
		t.Errorf("the zombie's recovery from epoch %d: %v (epoch %d), want PRODUCER_FENCED", oldEpoch, kerr.ErrorForCode(resp.ErrorCode), resp.ProducerEpoch)
	}
	if resp := recover(successor, newEpoch); resp.ErrorCode != 0 || resp.ProducerEpoch <= newEpoch {
		t.Errorf("the successor's recovery from epoch %d: %v (epoch %d), want a bumped epoch", newEpoch, kerr.ErrorForCode(resp.ErrorCode), resp.ProducerEpoch)
	}
}
