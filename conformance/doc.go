// Package conformance runs third-party Kafka clients (IBM/sarama,
// segmentio/kafka-go) against kafkaemu. It is a separate module so that
// importing kafkaemu never pulls these clients.
package conformance
