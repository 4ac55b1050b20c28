// Package selfsigned makes a self-signed certificate for loopback
// addresses: the server side of fake.TLS in tests and in
// `kafkaemu serve -tls`, and the CA a client trusts to reach it.
package selfsigned
