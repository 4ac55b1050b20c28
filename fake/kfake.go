package fake

import "github.com/twmb/franz-go/pkg/kfake"

// Every call fake makes into kfake goes through these. kfake's admin calls
// block forever once it is closed, so after Close has begun none may reach
// it: a verb or a Partition snapshot racing Close would hang (and leak a
// goroutine into the user's goleak check). Close waits for calls in
// progress, then closes kfake.

// onKfake runs fn against kfake and reports whether it ran.
func (c *Cluster) onKfake(fn func(kf *kfake.Cluster)) bool {
	c.kfMu.RLock()
	defer c.kfMu.RUnlock()
	if c.kfClosed {
		return false
	}
	fn(c.kf)
	return true
}

// closeKfake stops every later call into kfake and closes it.
func (c *Cluster) closeKfake() {
	c.kfMu.Lock()
	c.kfClosed = true
	c.kfMu.Unlock()
	if c.kf != nil {
		c.kf.Close()
	}
}

// partitionInfo is kfake's view of a partition; nil once closed.
func (c *Cluster) partitionInfo(topic string, partition int32) (pi *kfake.PartitionInfo) {
	c.onKfake(func(kf *kfake.Cluster) { pi = kf.PartitionInfo(topic, partition) })
	return pi
}

func (c *Cluster) partitionInfos(topic string) (pis []*kfake.PartitionInfo) {
	c.onKfake(func(kf *kfake.Cluster) { pis = kf.PartitionInfos(topic) })
	return pis
}

func (c *Cluster) topicInfo(topic string) (ti *kfake.TopicInfo) {
	c.onKfake(func(kf *kfake.Cluster) { ti = kf.TopicInfo(topic) })
	return ti
}

func (c *Cluster) groupInfo(group string) (gi *kfake.GroupInfo) {
	c.onKfake(func(kf *kfake.Cluster) { gi = kf.GroupInfo(group) })
	return gi
}

// coordinatorFor is the broker coordinating key; -1 once closed.
func (c *Cluster) coordinatorFor(key string) int32 {
	id := int32(-1)
	c.onKfake(func(kf *kfake.Cluster) { id = kf.CoordinatorFor(key) })
	return id
}

func (c *Cluster) rehashCoordinators() error {
	if !c.onKfake(func(kf *kfake.Cluster) { kf.RehashCoordinators() }) {
		return errClosed
	}
	return nil
}

func (c *Cluster) moveTopicPartition(topic string, partition, leader int32) error {
	err := errClosed
	c.onKfake(func(kf *kfake.Cluster) { err = kf.MoveTopicPartition(topic, partition, leader) })
	return err
}
