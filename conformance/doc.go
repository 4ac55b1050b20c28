// Package conformance runs third-party Kafka clients against kafkaemu:
// IBM/sarama and segmentio/kafka-go in process, kcat, the seeds' Python
// programs (kafka-python, confluent_kafka) and kafkajs (node/, through the
// standalone server and its HTTP fault API) as subprocesses, and Debian's
// chromium, headless through chromedp, on the timeline pages of real runs.
// It is a
// separate module so that importing kafkaemu never pulls these clients.
package conformance
