package harness_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParallelClustersAreIndependent(t *testing.T) {
	for i := 0; i < 4; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			c := harness.Start(t, fake.Topic("t", 1, 3))
			p := c.Client(t, kgo.DefaultProduceTopic("t"))
			for j := 0; j <= i; j++ {
				if err := p.ProduceSync(t.Context(), kgo.StringRecord("x")).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			st, err := c.Partition("t", 0)
			if err != nil {
				t.Fatal(err)
			}
			if st.HighWatermark != int64(i+1) {
				t.Errorf("cluster %d has %d records, want %d: clusters share state", i, st.HighWatermark, i+1)
			}
		})
	}
}

// fakeTB records a failure so Start's failure path can be checked
// without failing this test.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	panic(f)
}

func TestStartFailsClearly(t *testing.T) {
	tb := &fakeTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != tb {
				panic(r)
			}
		}()
		harness.Start(tb, fake.Topic("t", 1, 5))
	}()
	want := `kafkaemu: starting the cluster: fake.Topic("t"): replicas = 5, but the cluster has 3 brokers`
	if tb.fatal != want {
		t.Errorf("Start failed with %q, want %q", tb.fatal, want)
	}
}

func TestClientOptionsOverrideDefaults(t *testing.T) {
	t.Parallel()
	c := harness.Start(t, fake.Topic("t", 1, 1))
	cl := c.Client(t, kgo.ClientID("mine"), kgo.FetchMaxWait(time.Second))
	if got := cl.OptValue(kgo.ClientID); got != "mine" {
		t.Errorf("client id %v, want mine", got)
	}
	if got := cl.OptValue(kgo.FetchMaxWait); got != time.Second {
		t.Errorf("fetch max wait %v, want the caller's 1s", got)
	}
}
