// Package wire is kafkaemu's Kafka wire layer: a Listener per broker that
// accepts client connections, validates every request frame (length,
// key and version against what the backend advertises, a body that
// decodes) and hands each valid request, with the network faults of a
// netfault.Layer applied, to a Router. The Router forwards it to the
// backend (Conn.Forward), answers it itself (Conn.Answer) or rewrites the
// backend's answer (Slot.OnResp); answers go back to the client in
// request order.
//
// The backend reads requests from and writes responses to each Conn as a
// net.Conn, accepting them from the Listener as a net.Listener: kfake in
// the emulator (package fake), a connection to an upstream broker in the
// proxy (package proxy). Refused requests are journaled as bad-request
// events. The package knows nothing of either backend.
package wire
