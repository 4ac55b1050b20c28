package fake

// An idempotent producer's retry of a batch the log already holds (its
// answer was lost) is deduplicated by kfake, which answers it with the
// original offsets, as Kafka does. fake remembers each producer's last
// batches in kfake's log, as Kafka's producer state does, so that such a
// retry is neither journaled as a second append nor appended again to the
// leader's un-replicated tail.

// loggedBatches is a producer's last batches in one partition's log.
type loggedBatches struct {
	b  [5]loggedBatch // Kafka keeps the last five per producer
	at int
}

type loggedBatch struct {
	epoch   int16
	seq     int32
	records int32
	base    int64
	ok      bool
}

// noteLoggedLocked records that kfake's log holds the batch hdr at base.
func (p *partitionState) noteLoggedLocked(hdr batchHeader, base int64) {
	if hdr.producerID < 0 || !hdr.ok || hdr.control {
		return
	}
	if p.logged == nil {
		p.logged = map[int64]*loggedBatches{}
	}
	lb := p.logged[hdr.producerID]
	if lb == nil {
		lb = &loggedBatches{}
		p.logged[hdr.producerID] = lb
	}
	lb.b[lb.at] = loggedBatch{epoch: hdr.producerEpoch, seq: hdr.sequence, records: hdr.records, base: base, ok: true}
	lb.at = (lb.at + 1) % len(lb.b)
}

// loggedLocked is the offset kfake's log holds batch hdr at, if it does.
func (p *partitionState) loggedLocked(hdr batchHeader) (int64, bool) {
	if hdr.producerID < 0 || !hdr.ok {
		return 0, false
	}
	lb := p.logged[hdr.producerID]
	if lb == nil {
		return 0, false
	}
	for _, b := range lb.b {
		if b.ok && b.epoch == hdr.producerEpoch && b.seq == hdr.sequence && b.records == hdr.records {
			return b.base, true
		}
	}
	return 0, false
}
