package scenarios

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReferenceIsComplete checks that REFERENCE.md and the package doc name
// every key, verb, enum value and expectation the parser knows, so the
// documentation cannot fall behind the format.
func TestReferenceIsComplete(t *testing.T) {
	ref, err := os.ReadFile("REFERENCE.md")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, list := range [][]string{
		scenarioKeys, clusterKeys, topicKeys, workloadKeys, producerKeys, consumerKeys, pipelineKeys,
		faultKeys, triggerKeys, expectKeys, verbNames(), sortedKeys(topicConfigs),
		{"after-process", "before-process", "auto", "on-revoke", "none"},
		{"read_committed", "read_uncommitted", "classic", "consumer", "range", "roundrobin", "sticky", "cooperative-sticky",
			"earliest", "latest", "at-most-once", "at-least-once", "exactly-once"},
		{"leader-of"}, // isolate-broker's broker: leader-of topic/partition
	} {
		names = append(names, list...)
	}
	for _, name := range names {
		if !strings.Contains(string(ref), "`"+name+"`") {
			t.Errorf("REFERENCE.md does not document `%s`", name)
		}
		if !regexp.MustCompile(`(^|[^a-z_.-])` + regexp.QuoteMeta(name) + `($|[^a-z_.-]|\.\s)`).Match(doc) {
			t.Errorf("doc.go does not mention %s", name)
		}
	}
	// Every verb's row lists exactly its parameters, and says whether
	// "for:" undoes it.
	for _, v := range verbOrder {
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(string(v)) + "` \\| ([^|]*) \\|.*\\| ([^|]*) \\|$").FindSubmatch(ref)
		if row == nil {
			t.Errorf("REFERENCE.md has no table row for %s", v)
			continue
		}
		var params []string
		for _, m := range regexp.MustCompile("`([a-z]+)`").FindAllSubmatch(row[1], -1) {
			params = append(params, string(m[1]))
		}
		want := verbs[v].takes()
		slices.Sort(params)
		slices.Sort(want)
		if !slices.Equal(params, want) {
			t.Errorf("REFERENCE.md lists %s parameters %v, the parser takes %v", v, params, want)
		}
		if undo := strings.TrimSpace(string(row[2])); (undo != "—") != v.Undoable() {
			t.Errorf("REFERENCE.md says for: %s %q, but Undoable() = %v", v, undo, v.Undoable())
		}
	}
	// The request and error names the reference mentions exist.
	text := string(ref)
	requests := text[strings.Index(text, "Request names are"):strings.Index(text, "one name or a list")]
	for _, m := range regexp.MustCompile("`([a-z-]+)`").FindAllStringSubmatch(requests, -1) {
		if _, ok := requestNames[m[1]]; !ok {
			t.Errorf("REFERENCE.md mentions request %q, which does not exist", m[1])
		}
	}
	for _, name := range regexp.MustCompile("`([A-Z_]{6,})`").FindAllSubmatch(ref, -1) {
		if _, ok := kafkaErrors[string(name[1])]; !ok && string(name[1]) != "KAFKAEMU_SEED" {
			t.Errorf("REFERENCE.md mentions Kafka error %s, which does not exist", name[1])
		}
	}
}
