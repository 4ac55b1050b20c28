package assertions

import "github.com/twmb/franz-go/pkg/kgo"

// Processing makes a Recorder judge the application instead of its
// client: the recorder does not record what the client polls, and the
// application reports each record it has processed with Processed. Use it
// when the verdict must be about what a service did with its records (a
// handler that drops one after polling it), not about what kgo handed it.
func Processing() RecorderOpt { return func(r *Recorder) { r.processing = true } }

// Processed records that the application processed rs: call it once the
// handler's work for them is done (written, billed, forwarded), not when
// they are polled. The records of one call are one poll in the History
// (as History.Poll records it, marked Event.Processed), with the client's
// group, its generation at the time of the call and its isolation level,
// so a record the application never reports is unseen by its group (and
// a poll-skip where the application went on past it), and a record it
// reports twice is redelivered. Processing past a record does not make it
// a lost-write: the application may have dropped what the log holds.
//
// Use it on a Recorder made with Processing and hooked into the consuming
// client (kgo.WithHooks); without Processing the client's polls are
// recorded too, and every record counts twice.
func (r *Recorder) Processed(rs ...*kgo.Record) {
	if len(rs) == 0 {
		return
	}
	group, gen, rc := r.consumerState()
	recs := make([]Record, len(rs))
	for i, rec := range rs {
		recs[i] = Record{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: string(rec.Key), Value: r.valueID(rec)}
	}
	r.h.poll(r.name, group, gen, rc, true, recs)
}
