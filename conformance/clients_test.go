package conformance

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// matrixClients are the matrix's rows, in table order.
var matrixClients = []client{
	{name: "kgo", how: "Go, in process (github.com/twmb/franz-go)", d: func() driver { return kgoDriver{} }},
	{name: "sarama", how: "Go, in process (github.com/IBM/sarama)", d: func() driver { return saramaDriver{} }},
	{name: "kafka-go", how: "Go, in process (github.com/segmentio/kafka-go)", d: func() driver { return kafkaGoDriver{} }},
	{name: "confluent-kafka-go", how: "Go with cgo, in process (github.com/confluentinc/confluent-kafka-go/v2, its bundled librdkafka)", d: func() driver { return confluentDriver{} }},
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
