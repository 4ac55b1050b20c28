package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The conformance matrix: every client of clients against every
// capability of capabilities, one test per cell (TestMatrix/CLIENT/CAP).
// A cell's outcome is its test's: it passes when the client does what the
// capability says, or when it pins a known gap (a client that lacks the
// feature or has a bug, or a gap of kafkaemu's own) by asserting the gap's
// behaviour, so that a fix upstream fails the test and the table is
// updated. `go test -run TestMatrix -update-matrix` (go generate) writes
// docs/conformance.md from the outcomes.

var updateMatrix = flag.Bool("update-matrix", false, "write ../docs/conformance.md from this run's matrix cells (every cell must have run)")

// capability is a column of the matrix.
type capability struct {
	id, title, what string
}

var capabilities = []capability{
	{"acks0", "acks=0", "10 records with acks=0: the broker journals acks=0 appends and stores all 10"},
	{"acks1", "acks=1", "10 records with acks=1: journaled as acks=1, all 10 stored"},
	{"acksall", "acks=all", "10 records with acks=all (min.insync.replicas=2): journaled as acks=-1, all 10 stored"},
	{"group", "group consume + commit", "a group member reads 10 records and commits: the broker holds the group's offset 10"},
	{"rebalance", "forced rebalance + expired member", "a member goes through `Rebalance` (a new generation) and `ExpireMember` (rejoins as a new member)"},
	{"static", "static membership", "a member with group.instance.id: the broker shows the instance id, and a restart within the session keeps its generation (no rebalance)"},
	{"idempotent", "idempotent produce across a dropped response", "the produce response is dropped once (connection broken after the write): the retry is not stored twice"},
	{"txn", "transactions + read_committed", "an aborted and a committed transaction; a read_committed consumer reads only the committed records"},
	{"leaderloss", "leader loss: acks=1 vs acks=all", "writes while replication is paused, then the leader fails: acks=1 loses exactly the un-replicated tail (lost-write at those offsets), acks=all loses nothing"},
	{"plain", "SASL PLAIN", "produce and consume authenticated with SASL/PLAIN"},
	{"scram", "SASL SCRAM", "produce and consume authenticated with SASL/SCRAM-SHA-256"},
	{"tls", "TLS", "produce and consume over TLS (`fake.TLS`, a self-signed certificate the client trusts), the journal recording the appends"},
	{"verdict", "checker verdict", "produce acks=all, group consume and commit; the anomaly checker on the broker-side history (BrokerHistory, serve's GET /check) finds nothing"},
}

// client is a row of the matrix.
type client struct {
	name  string
	how   string        // how it runs: in-process Go, or a program through kafkaemu serve
	d     func() driver // nil until the driver exists
	serve bool          // runs against kafkaemu serve, not an in-process cluster
}

// outcome is a cell's result.
type outcome string

const (
	pass        outcome = "pass"
	clientGap   outcome = "client gap" // pinned: the client lacks it or has a bug
	kafkaemuGap outcome = "kafkaemu gap"
	failed      outcome = "FAIL"
	skipped     outcome = "skipped"
)

type cellResult struct {
	outcome outcome
	note    string
}

var (
	resultsMu sync.Mutex
	results   = map[[2]string]cellResult{} // client, capability id
	versions  = map[string]string{}        // client -> version, as the client reports it
)

// cellT is what a cell's function gets besides its *testing.T: the way to
// say the cell pins a gap, and a note for the table.
type cellT struct {
	mu      sync.Mutex
	outcome outcome
	note    string
}

// gap marks the cell as pinning a known gap: the test asserted the gap's
// behaviour. note says what the gap is.
func (c *cellT) gap(kind outcome, note string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outcome, c.note = kind, note
}

// noteIt adds a note to a passing cell (how it was run, a limit).
func (c *cellT) noteIt(note string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.note = note
}

// cell runs fn as the matrix cell of client and capability capID.
func cell(t *testing.T, cl client, capID string, fn func(t *testing.T, c *cellT)) {
	t.Helper()
	if !slices.ContainsFunc(capabilities, func(c capability) bool { return c.id == capID }) {
		t.Fatalf("cell(%s, %s): no such capability", cl.name, capID)
	}
	t.Run(capID, func(t *testing.T) {
		t.Parallel()
		ct := &cellT{outcome: pass}
		t.Cleanup(func() {
			ct.mu.Lock()
			r := cellResult{outcome: ct.outcome, note: ct.note}
			ct.mu.Unlock()
			switch {
			case t.Failed():
				r.outcome = failed
			case t.Skipped():
				r.outcome = skipped
			}
			resultsMu.Lock()
			results[[2]string{cl.name, capID}] = r
			resultsMu.Unlock()
		})
		fn(t, ct)
	})
}

// pins are the known gaps pinned outside the matrix's capabilities
// (TestPin*), for the table's notes: test name -> client and note.
var pins = map[string][2]string{}

// pin records that the test t pinned a gap of client; it counts once the
// test passed.
func pin(t *testing.T, client, note string) {
	t.Cleanup(func() {
		if !t.Failed() && !t.Skipped() {
			resultsMu.Lock()
			pins[t.Name()] = [2]string{client, note}
			resultsMu.Unlock()
		}
	})
}

// writeMatrix writes docs/conformance.md from results; every cell must
// have run and passed (a pinned gap passes).
func writeMatrix(path string) error {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	var missing, bad []string
	for _, cl := range matrixClients {
		for _, c := range capabilities {
			r, ok := results[[2]string{cl.name, c.id}]
			switch {
			case !ok:
				missing = append(missing, cl.name+"/"+c.id)
			case r.outcome == failed || r.outcome == skipped:
				bad = append(bad, fmt.Sprintf("%s/%s (%s)", cl.name, c.id, r.outcome))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("-update-matrix: cells that did not run: %s (run the whole matrix: cd conformance && go generate)", strings.Join(missing, ", "))
	}
	if len(bad) > 0 {
		return fmt.Errorf("-update-matrix: cells that failed or skipped: %s (a skip: install the clients with .ci/install-clients)", strings.Join(bad, ", "))
	}
	var b bytes.Buffer
	b.WriteString("# Conformance matrix\n\n")
	b.WriteString("<!-- Generated from the test results by `cd conformance && go generate` (go test -run '^(TestMatrix|TestPin)' -update-matrix): do not edit. -->\n\n")
	b.WriteString("Real Kafka clients against kafkaemu, one test per cell (`conformance/`, `TestMatrix/CLIENT/CAPABILITY`). " +
		"**pass**: the client does it against kafkaemu. **client gap**: the client lacks the feature or has a known bug; the test asserts that " +
		"behaviour, so a fix upstream fails it and this table is regenerated. **kafkaemu gap**: kafkaemu cannot do it yet; the test pins that too.\n\n")
	b.WriteString("| client | version | runs |\n| --- | --- | --- |\n")
	for _, cl := range matrixClients {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cl.name, versions[cl.name], cl.how)
	}
	b.WriteString("\n| capability |")
	for _, cl := range matrixClients {
		fmt.Fprintf(&b, " %s |", cl.name)
	}
	b.WriteString("\n| --- |")
	for range matrixClients {
		b.WriteString(" --- |")
	}
	var notes []string
	for _, c := range capabilities {
		fmt.Fprintf(&b, "\n| %s |", c.title)
		for _, cl := range matrixClients {
			r := results[[2]string{cl.name, c.id}]
			mark := map[outcome]string{pass: "pass", clientGap: "client gap", kafkaemuGap: "kafkaemu gap"}[r.outcome]
			if r.note != "" {
				i := slices.Index(notes, r.note) // the same gap in several cells: one note
				if i < 0 {
					notes = append(notes, r.note)
					i = len(notes) - 1
				}
				mark += fmt.Sprintf(" [%d]", i+1)
			}
			fmt.Fprintf(&b, " %s |", mark)
		}
	}
	b.WriteString("\n\n## Notes\n\n")
	for i, n := range notes {
		fmt.Fprintf(&b, "%d. %s\n", i+1, n)
	}
	if len(pins) > 0 {
		b.WriteString("\nOther pinned gaps:\n\n")
		for _, name := range slices.Sorted(maps.Keys(pins)) {
			fmt.Fprintf(&b, "- %s (`%s`): %s\n", pins[name][0], name, pins[name][1])
		}
	}
	b.WriteString("\n## What each capability tests\n\n")
	for _, c := range capabilities {
		fmt.Fprintf(&b, "- **%s** (`%s`): %s.\n", c.title, c.id, c.what)
	}
	b.WriteString("\nGo clients run in the test process against `harness.Start`; kcat, the Python clients and kafkajs are programs " +
		"run against `kafkaemu serve`, faults through its HTTP API and the verdict from its `GET /check`. TLS cells use `fake.TLS` " +
		"with a self-signed certificate: in process for Go clients, `kafkaemu serve -tls -tls-ca-out ca.pem` for the programs (which trust ca.pem). " +
		"Install the non-Go clients with `sudo .ci/install-clients`; run the whole matrix with `(cd conformance && go test -run TestMatrix .)`, and regenerate this page with `(cd conformance && go generate)`.\n")
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// TestMatrix runs every cell.
func TestMatrix(t *testing.T) {
	for _, cl := range matrixClients {
		t.Run(cl.name, func(t *testing.T) {
			t.Parallel()
			d := cl.d()
			if v, err := d.version(t); err != nil {
				resultsMu.Lock()
				for _, c := range capabilities {
					results[[2]string{cl.name, c.id}] = cellResult{outcome: skipped}
				}
				resultsMu.Unlock()
				missingClient(t, cl.name, err)
			} else {
				resultsMu.Lock()
				versions[cl.name] = v
				resultsMu.Unlock()
			}
			for _, c := range capabilities {
				cell(t, cl, c.id, func(t *testing.T, ct *cellT) {
					if n, ok := cellNotes[[2]string{cl.name, c.id}]; ok {
						ct.noteIt(n)
					}
					capabilityTests[c.id](t, ct, cl, d)
				})
			}
		})
	}
}
