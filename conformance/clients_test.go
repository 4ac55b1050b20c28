package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// matrixClients are the matrix's rows, in table order.
var matrixClients = []client{
	{name: "kgo", how: "Go, in process (github.com/twmb/franz-go)", d: func() driver { return kgoDriver{} }},
	{name: "sarama", how: "Go, in process (github.com/IBM/sarama)", d: func() driver { return saramaDriver{} }},
	{name: "kafka-go", how: "Go, in process (github.com/segmentio/kafka-go)", d: func() driver { return kafkaGoDriver{} }},
	{name: "confluent-kafka-go", how: "Go with cgo, in process (github.com/confluentinc/confluent-kafka-go/v2, its bundled librdkafka)", d: func() driver { return confluentDriver{} }},
	{name: "kcat", how: "program (Debian's kcat) through `kafkaemu serve`", serve: true, d: func() driver { return kcatDriver{} }},
	{name: "python3-confluent-kafka", how: "Python program (Debian's python3-confluent-kafka) through `kafkaemu serve`", serve: true, d: pythonConfluent},
	{name: "python3-kafka", how: "Python program (Debian's python3-kafka, kafka-python) through `kafkaemu serve`", serve: true, d: pythonKafka},
	{name: "kafkajs", how: "Node.js program (npm's kafkajs, conformance/node) through `kafkaemu serve`", serve: true, d: kafkajs},
}

// cellNotes say how a cell had to configure its client, for the table.
var cellNotes = map[[2]string]string{
	{"kafka-go", "leaderloss"}: "with Transport.MetadataTTL 100ms: the Writer retries NOT_LEADER_FOR_PARTITION against cached metadata (6 s by default), longer than its retries last, so with defaults an acks=all write across a failover can fail",
}

func joinAddrs(addrs []string) string { return strings.Join(addrs, ",") }

// installHint is the command that installs the non-Go clients.
const installHint = "install the non-Go clients with: sudo .ci/install-clients (from the repository root)"

// requireEnv is the variable that turns a missing client into a failure
// (CI sets them).
var requireEnv = map[string]string{
	"kcat":                    "KAFKAEMU_REQUIRE_KCAT",
	"python3-confluent-kafka": "KAFKAEMU_REQUIRE_PYTHON",
	"python3-kafka":           "KAFKAEMU_REQUIRE_PYTHON",
	"kafkajs":                 "KAFKAEMU_REQUIRE_NODE",
}

// missingClient skips (or, with the client's KAFKAEMU_REQUIRE_*, fails)
// a test whose client the machine lacks, naming the install command.
func missingClient(t *testing.T, name string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not installed (%v); %s", name, err, installHint)
	if v := requireEnv[name]; v != "" && os.Getenv(v) != "" {
		t.Fatalf("%s (%s is set)", msg, v)
	}
	t.Skip(msg)
}

const python3 = "/usr/bin/python3" // Debian's, where its python3-* packages are

// pythonVersion runs code with python3 and returns what it prints.
func pythonVersion(code string) (string, error) {
	out, err := exec.Command(python3, "-c", code).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %v: %s", python3, err, lastLines(string(out), 3))
	}
	return strings.TrimSpace(string(out)), nil
}

func pythonConfluent() driver {
	return &programDriver{
		name: "python3-confluent-kafka",
		argv: func(spec string) []string { return []string{python3, "python/matrix_confluent.py", spec} },
		ver: func() (string, error) {
			return pythonVersion(`import confluent_kafka as c; print(c.version()[0], "(librdkafka", c.libversion()[0] + ", Debian)")`)
		},
	}
}

func pythonKafka() driver {
	return &programDriver{
		name:  "python3-kafka",
		argv:  func(spec string) []string { return []string{python3, "python/matrix_kafka.py", spec} },
		lacks: map[string]bool{"txn": true, "static": true},
		ver: func() (string, error) {
			return pythonVersion(`import kafka; print(kafka.__version__, "(Debian)")`)
		},
	}
}

func kafkajs() driver {
	return &programDriver{
		name:  "kafkajs",
		argv:  func(spec string) []string { return []string{"node", "node/matrix.js", spec} },
		env:   []string{"KAFKAJS_NO_PARTITIONER_WARNING=1"},
		lacks: map[string]bool{"static": true},
		ver: func() (string, error) {
			if _, err := exec.LookPath("node"); err != nil {
				return "", err
			}
			out, err := exec.Command("node", "-p", "require('./node/node_modules/kafkajs/package.json').version").CombinedOutput()
			if err != nil {
				return "", fmt.Errorf("kafkajs in conformance/node: %v: %s", err, lastLines(string(out), 3))
			}
			return strings.TrimSpace(string(out)) + " (npm)", nil
		},
	}
}
