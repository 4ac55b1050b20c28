package conformance

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// python is Debian's python3 with python3-kafka and python3-confluent-kafka
// (CI installs them and sets KAFKAEMU_REQUIRE_PYTHON).
func python(t *testing.T, module string) string {
	t.Helper()
	const py = python3
	if err := exec.Command(py, "-c", "import "+module).Run(); err != nil {
		missingClient(t, map[string]string{"kafka": "python3-kafka", "confluent_kafka": "python3-confluent-kafka"}[module], fmt.Errorf("%s cannot import %s: %v", py, module, err))
	}
	return py
}

// The seeds' Python programs run unchanged against kafkaemu, only pointed
// at its address; the topics are auto-created as on a default Kafka.
func TestSeedsKafkaPython(t *testing.T) {
	py := python(t, "kafka")
	c := harness.Start(t, fake.AutoCreateTopics())
	out, err := exec.CommandContext(t.Context(), py, "python/seeds_greetings.py", c.Addrs()[0], "10").CombinedOutput()
	if err != nil {
		t.Fatalf("kafka-python: %v\n%s", err, out)
	}
	for i := 0; i < 10; i++ {
		if want := fmt.Sprintf("value=Greeting #%d", i); !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if gi := c.Kfake().GroupInfo("group1"); gi == nil || len(gi.Commits["greetings"]) == 0 {
		t.Errorf("group1 committed nothing: %+v", gi)
	}
}

func TestSeedsConfluentKafka(t *testing.T) {
	py := python(t, "confluent_kafka")
	c := harness.Start(t, fake.AutoCreateTopics())
	out, err := exec.CommandContext(t.Context(), py, "python/seeds_confluent.py", strings.Join(c.Addrs(), ","), "10").CombinedOutput()
	if err != nil {
		t.Fatalf("confluent_kafka: %v\n%s", err, out)
	}
	for i := 0; i < 10; i++ {
		if want := fmt.Sprintf("value-%d", i); !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Debian's python3-kafka has no snappy codec (python3-snappy is not among
// its dependencies): a consumer of snappy batches, which Java producers
// and kgo write often, fails. Pinned, so that a Debian package that brings
// snappy is noticed.
func TestPinKafkaPythonSnappy(t *testing.T) {
	python(t, "kafka")
	c := harness.Start(t, fake.Topic("t", 1, 3))
	p := c.Client(t, kgo.DefaultProduceTopic("t"), kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	// kgo sends a batch compressed only if that shrinks it.
	if err := p.ProduceSync(t.Context(), kgo.StringRecord(strings.Repeat("squeezed ", 100))).FirstErr(); err != nil {
		t.Fatal(err)
	}
	_, err := pythonKafka().consume(t, endpoint{brokers: c.Addrs()}, consumeSpec{topic: "t", n: 1})
	if err == nil {
		t.Fatal("kafka-python read a snappy batch: Debian's package has snappy now; drop this pin")
	}
	if !strings.Contains(err.Error(), "UnsupportedCodecError") || !strings.Contains(err.Error(), "snappy") {
		t.Fatalf("kafka-python failed otherwise than the pin says: %v", err)
	}
	pin(t, "python3-kafka", "Debian's package has no snappy codec: reading a snappy-compressed batch fails with UnsupportedCodecError")
}
