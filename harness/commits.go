package harness

import "github.com/seed73168108/kafkaemu/fake"

// syncCommits adds to the History the offset commits the brokers
// accepted since it last looked (the journal's offset-commit events), so
// a verdict knows what each group committed, whichever kgo call or
// autocommit made the commit: an unseen record its group committed past
// says so. The commits carry the committing client's id and no
// generation.
func (c *Cluster) syncCommits() {
	c.commitsMu.Lock()
	defer c.commitsMu.Unlock()
	for _, e := range c.JournalSince(c.commitsSeen) {
		c.commitsSeen = e.Seq
		if e.Kind == fake.EventOffsetCommit && e.Error == "" {
			c.history.Commit(e.Group, e.Client, 0, e.Topic, e.Partition, e.Offset)
		}
	}
}
