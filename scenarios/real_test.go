package scenarios_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/scenarios"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestLibraryOnRealCluster runs the library's lessons that a real cluster
// can run (CheckRealCluster) with KAFKAEMU_BOOTSTRAP pointing at a raw
// kfake cluster (not kafkaemu: nothing of the emulator's model helps)
// through the fault proxy, each with its own expectations.
func TestLibraryOnRealCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lessons on the real clock")
	}
	up, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	t.Setenv(harness.BootstrapEnv, up.ListenAddrs()[0])
	ss, err := scenarios.LoadDir("library")
	if err != nil {
		t.Fatal(err)
	}
	// Not run here: static-member-restart needs Kafka's KIP-345 rejoin,
	// which raw kfake lacks (the emulator corrects it); hung-transaction-
	// timeout waits out a transaction timeout on the real clock (45 s).
	skip := map[string]bool{"static-member-restart": true, "hung-transaction-timeout": true}
	ran := 0
	for _, s := range ss {
		if scenarios.CheckRealCluster(s) != nil || skip[s.Name] {
			continue
		}
		ran++
		t.Run(s.Name, func(t *testing.T) { scenarios.RunScenario(t, s) })
	}
	if ran == 0 {
		t.Fatal("no lesson of the library runs on a real cluster")
	}
}

// TestCheckRealCluster: a verb that needs the emulator is reported at its
// position before anything runs, one line per fault.
func TestCheckRealCluster(t *testing.T) {
	s, err := scenarios.Parse("lesson.yaml", []byte(`name: x
cluster: {brokers: 3}
topics: [{name: orders, partitions: 1, replicas: 3}]
workload:
  producers: [{name: p, topic: orders, records: 10}]
faults:
  - {after: 10ms, do: latency, delay: 1ms}
  - {after: 20ms, do: pause-replication, topic: orders}
  - {after: 30ms, do: kill-broker, broker: 0}
expect:
  - {delivery: at-least-once}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := scenarios.CheckRealCluster(s)
	want := "lesson.yaml:8:5: pause-replication needs the emulator (the target is a real cluster)\n" +
		"lesson.yaml:9:5: kill-broker needs the emulator (the target is a real cluster)"
	if got == nil || got.Error() != want {
		t.Errorf("CheckRealCluster:\n%v\nwant\n%s", got, want)
	}
	if !strings.Contains(want, "pause-replication") || scenarios.PauseReplication.RunsOnRealCluster() || !scenarios.Latency.RunsOnRealCluster() {
		t.Error("RunsOnRealCluster")
	}
}

// TestLibraryREADMEMarksRealCluster: library/README.md's real-cluster
// column is what CheckRealCluster says of each lesson, and it lists every
// lesson.
func TestLibraryREADMEMarksRealCluster(t *testing.T) {
	b, err := os.ReadFile("library/README.md")
	if err != nil {
		t.Fatal(err)
	}
	marks := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) >= 4 && (strings.TrimSpace(cells[2]) == "yes" || strings.TrimSpace(cells[2]) == "no") {
			marks[strings.TrimSpace(cells[1])] = strings.TrimSpace(cells[2])
		}
	}
	ss, err := scenarios.LoadDir("library")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		want := "yes"
		if scenarios.CheckRealCluster(s) != nil {
			want = "no"
		}
		if marks[s.Name] != want {
			t.Errorf("library/README.md marks %s %q for a real cluster; CheckRealCluster says %q", s.Name, marks[s.Name], want)
		}
	}
	if len(marks) != len(ss) {
		t.Errorf("library/README.md marks %d lessons; the library has %d", len(marks), len(ss))
	}
}
