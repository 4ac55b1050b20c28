// Package journal is kafkaemu's record of what happened: broker and
// leader changes, appends with their offsets, fetches, commits, group
// generations, transaction ends, network faults and refused requests,
// one Event each, in order.
//
// Both the emulator (package fake) and the fault proxy (package proxy)
// write a Log; tests and the assertions read it back (Log.Events,
// Log.Since), kafkaemu serve and kafkaemu proxy serve it as JSON lines
// (GET /journal, Log.WriteJSON, Read) and as a report (GET /timeline,
// Timeline). The package knows nothing of either writer.
package journal
