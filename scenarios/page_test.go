package scenarios_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/seed73168108/kafkaemu/scenarios"
)

// A scenario run writes its timeline page to PageFile in the test's
// artifact directory: acks1-leader-loss's page marks its lost writes, at
// offsets the failover's truncation dropped.
func TestPagePerScenario(t *testing.T) {
	s, err := scenarios.Load("library/acks1-leader-loss.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Run(s.Name, func(t *testing.T) {
		scenarios.RunScenario(t, s)
		page, err := os.ReadFile(scenarios.PageFile(t.ArtifactDir(), s))
		if err != nil {
			t.Fatal(err)
		}
		truncs := regexp.MustCompile(`<rect class="tr"[^>]*data-t="[^"]*truncate orders\[0\] offsets (\d+)\.\.(\d+)`).FindAllStringSubmatch(string(page), -1)
		marks := regexp.MustCompile(`data-anomaly="lost-write" data-topic="orders" data-partition="0" data-offset="(\d+)"`).FindAllStringSubmatch(string(page), -1)
		if len(truncs) == 0 || len(marks) == 0 {
			t.Fatalf("the page has %d truncations and %d lost writes marked", len(truncs), len(marks))
		}
		for _, m := range marks {
			off, _ := strconv.ParseInt(m[1], 10, 64)
			in := false
			for _, tr := range truncs {
				lo, _ := strconv.ParseInt(tr[1], 10, 64)
				hi, _ := strconv.ParseInt(tr[2], 10, 64)
				in = in || lo <= off && off <= hi
			}
			if !in {
				t.Errorf("lost write marked at offset %d, which no truncation dropped (%v)", off, truncs)
			}
		}
	})
}

// PageFile names the page after the scenario, in the directory.
func TestPageFile(t *testing.T) {
	s, err := scenarios.Parse("odd.yaml", []byte(`name: lesson-1.b
cluster: {brokers: 1}
topics: [{name: t, partitions: 1, replicas: 1}]
workload: {producers: [{name: p, topic: t, records: 1}]}
expect: [{acked: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := scenarios.PageFile("out", s), filepath.Join("out", "lesson-1.b.html"); got != want {
		t.Errorf("PageFile = %q, want %q", got, want)
	}
}
