// Package conformance runs real third-party Kafka clients against
// kafkaemu: the conformance matrix (TestMatrix: every client of
// matrixClients against every capability, one test per cell) and pinned
// client gaps (TestPin*). Go clients (kgo, IBM/sarama, segmentio/kafka-go,
// confluent-kafka-go with its bundled librdkafka) run in the test process;
// kcat, Debian's python3-confluent-kafka and python3-kafka, and npm's
// kafkajs run as programs (python/, node/) against `kafkaemu serve`.
// Debian's chromium, headless through chromedp, loads the timeline pages
// of real runs (TestTimeline*). It is a separate module so that importing kafkaemu never pulls these clients.
//
// Install the non-Go clients with .ci/install-clients; without them their
// tests skip, naming that command (KAFKAEMU_REQUIRE_KCAT, _PYTHON and
// _NODE make a missing client fail instead). `go generate` here writes
// docs/conformance.md from a whole run of the matrix.
package conformance

//go:generate go test -count=1 -parallel 4 -run ^(TestMatrix|TestPin) -update-matrix .
