package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and always answers with either
// a scenario or a well-formed ErrorList. The seed corpus is every file under
// testdata and library, plus a few hostile snippets. YAML bombs (alias
// expansion) and huge documents are refused by MaxFileSize and the node
// limit, so every input is handled in time linear in its size.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*", "testdata/bad/*.yaml", "library/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, s := range []string{
		"", "~", "[]", "{}", "a: &a [*a, *a]", "name: x\ncluster: *nope\n", "? [a]\n: b\n",
		"faults: [{after: {acked: 1}, do: kill-broker, broker: 99999999999999999999}]",
		"expect: [{produce-errors: {\"\": 1}}]", "cluster: {brokers: 0x10}", "seed: -9223372036854775809",
		"topics: [{name: t, partitions: 1, replicas: 1, configs: {min.insync.replicas: \"1e3\"}}]",
		"faults: [{do: isolate-broker, broker: \"leader-of /\"}, {do: isolate-broker, broker: leader-of t/-1}, {do: heal}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil {
			if s == nil || s.Name == "" || s.Cluster.Brokers < 1 || len(s.Topics) == 0 || len(s.Expect) == 0 {
				t.Fatalf("Parse accepted an incomplete scenario: %+v", s)
			}
			for _, f := range s.Faults {
				if verbs[f.Verb].undo == "" && f.For != 0 {
					t.Fatalf("%s has for: %v", f.Verb, f.For)
				}
				if f.Verb == IsolateBroker && (f.Broker == nil) == (f.LeaderOf == nil) {
					t.Fatalf("isolate-broker with broker %v and leader-of %v: want exactly one", f.Broker, f.LeaderOf)
				}
			}
			return
		}
		if s != nil {
			t.Fatalf("Parse returned a scenario and an error: %v", err)
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("Parse error is %T, want a non-empty ErrorList: %v", err, err)
		}
		for _, e := range list {
			if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 || e.Pos.Column < 1 {
				t.Fatalf("error without a position: %q", e)
			}
			if !strings.Contains(e.Msg, "; ") {
				t.Fatalf("error does not say what was expected: %q", e)
			}
		}
		// Deterministic: the same input gives the same answer.
		if _, again := Parse("fuzz.yaml", data); again == nil || again.Error() != err.Error() {
			t.Fatalf("second Parse differs:\n%v\nvs\n%v", err, again)
		}
	})
}
