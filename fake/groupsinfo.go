package fake

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Groups lists the groups the cluster's coordinators know (classic,
// consumer and share groups), sorted.
func (c *Cluster) Groups() ([]string, error) {
	if c.isClosed() {
		return nil, errClosed
	}
	c.mu.Lock()
	ids := c.brokerIDsLocked()
	c.mu.Unlock()
	var out []string
	for _, id := range ids {
		req := kmsg.NewPtrListGroupsRequest()
		req.Version = 5
		resp, err := c.request(id, req)
		if err != nil {
			return nil, fmt.Errorf("listing the groups of broker %d: %w", id, err)
		}
		for _, g := range resp.(*kmsg.ListGroupsResponse).Groups {
			out = append(out, g.Group)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Group is a snapshot of one group: its state, generation (or group
// epoch), members with their assignments, and committed offsets.
func (c *Cluster) Group(group string) (*kfake.GroupInfo, error) {
	if c.isClosed() {
		return nil, errClosed
	}
	gi := c.groupInfo(group)
	if gi == nil {
		return nil, fmt.Errorf("unknown group %q", group)
	}
	return gi, nil
}
