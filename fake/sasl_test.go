package fake_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// With SASL on, clients authenticate with each mechanism, the verbs
// that use fake's own connections work (topic creation, replication
// after a pause, failover, phantom members), and a client without
// credentials or with a wrong password is refused.
func TestSASL(t *testing.T) {
	t.Parallel()
	c, err := fake.New(fake.Topic("t", 1, 3), fake.ReplicaLagMax(time.Minute),
		fake.SASL("PLAIN", "alice", "a-secret"), fake.SASL("SCRAM-SHA-512", "bob", "b-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t, 20*time.Second)
	client := func(opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("t"), kgo.RequestRetries(0)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	alice := client(kgo.SASL(plain.Auth{User: "alice", Pass: "a-secret"}.AsMechanism()))
	bob := client(kgo.SASL(scram.Auth{User: "bob", Pass: "b-secret"}.AsSha512Mechanism()))
	if err := alice.ProduceSync(ctx, kgo.StringRecord("1")).FirstErr(); err != nil {
		t.Fatalf("PLAIN: %v", err)
	}
	if err := c.PauseReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.ResumeReplication("t", 0); err != nil {
		t.Fatal(err)
	}
	if err := bob.ProduceSync(ctx, kgo.StringRecord("2")).FirstErr(); err != nil {
		t.Fatalf("SCRAM-SHA-512: %v", err)
	}
	if _, err := c.FailLeader("t", 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Partition("t", 0); st.HighWatermark != 2 {
		t.Errorf("high watermark %d after two authenticated writes, want 2", st.HighWatermark)
	}
	member := client(kgo.SASL(scram.Auth{User: "bob", Pass: "b-secret"}.AsSha512Mechanism()), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("t"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for n := 0; n < 2; {
		fs := member.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("group member: %v", err)
		}
		n += len(fs.Records())
	}
	if _, err := c.JoinPhantom("g", 1); err != nil {
		t.Fatalf("a phantom member through fake's authenticated connection: %v", err)
	}
	// A successful handshake lists the enabled mechanisms, as Kafka's does
	// (kafkajs checks its mechanism is among them).
	raw := client()
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	if resp, err := raw.Request(ctx, hs); err != nil {
		t.Fatal(err)
	} else if r := resp.(*kmsg.SASLHandshakeResponse); r.ErrorCode != 0 || !slices.Equal(r.SupportedMechanisms, []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
		t.Errorf("SaslHandshake answered error %d, mechanisms %v; want the enabled mechanisms", r.ErrorCode, r.SupportedMechanisms)
	}
	// Refused: no credentials, a wrong password.
	for name, cl := range map[string]*kgo.Client{
		"no SASL":        client(),
		"wrong password": client(kgo.SASL(plain.Auth{User: "alice", Pass: "nope"}.AsMechanism())),
	} {
		if _, err := cl.Request(ctx, kmsg.NewPtrMetadataRequest()); err == nil {
			t.Errorf("%s: metadata answered", name)
		}
	}
}

func TestSASLBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opt  fake.Option
		want string
	}{
		{fake.SASL("GSSAPI", "u", "p"), `fake.SASL("GSSAPI", "u", ...): the mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{fake.SASL("PLAIN", "", "p"), `fake.SASL("PLAIN", "", ...): want a user name other than "kafkaemu-internal"`},
		{fake.SASL("PLAIN", "kafkaemu-internal", "p"), `want a user name other than "kafkaemu-internal"`},
	} {
		c, err := fake.New(tc.opt)
		if err == nil {
			c.Close()
			t.Errorf("New accepted it, want %q", tc.want)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q, want %q", err, tc.want)
		}
	}
}
