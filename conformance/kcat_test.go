package conformance

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
)

// kcat is librdkafka underneath: its -L listing must print the model's
// leaders, replicas and ISR. CI installs kcat and sets KAFKAEMU_REQUIRE_KCAT.
func TestKcatListsReplicasAndISR(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		missingClient(t, "kcat", err)
	}
	c := harness.Start(t, fake.Seed(11), fake.Topic("orders", 3, 3), fake.ReplicaLagMax(10*time.Millisecond))
	out, err := exec.CommandContext(t.Context(), "kcat", "-b", strings.Join(c.Addrs(), ","), "-L", "-t", "orders").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	for p := int32(0); p < 3; p++ {
		st, _ := c.Partition("orders", p)
		want := fmt.Sprintf("partition %d, leader %d, replicas: %s, isrs: %s", p, st.Leader, ids(st.Replicas), ids(st.ISR))
		if !strings.Contains(string(out), want) {
			t.Errorf("kcat -L does not show %q:\n%s", want, out)
		}
	}
	// kcat produces through librdkafka with acks=all.
	cmd := exec.CommandContext(t.Context(), "kcat", "-b", strings.Join(c.Addrs(), ","), "-P", "-t", "orders", "-p", "0", "-X", "acks=all")
	cmd.Stdin = strings.NewReader("a\nb\nc\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	if st, _ := c.Partition("orders", 0); st.HighWatermark != 3 {
		t.Errorf("after kcat -P: high watermark %d, want 3", st.HighWatermark)
	}
	out, err = exec.CommandContext(t.Context(), "kcat", "-b", strings.Join(c.Addrs(), ","), "-C", "-t", "orders", "-p", "0", "-o", "beginning", "-e", "-q").CombinedOutput()
	if err != nil || string(out) != "a\nb\nc\n" {
		t.Errorf("kcat -C: %v %q", err, out)
	}
}

func ids(xs []int32) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, ",")
}
