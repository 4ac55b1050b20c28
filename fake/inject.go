package fake

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InjectError installs f, kfake's own error-code injection (the matching
// requests are answered with f.Err before the broker acts, or after it
// for REQUEST_TIMED_OUT and NOT_ENOUGH_REPLICAS_AFTER_APPEND), and
// journals it: added, every request it answers, removed. Use it rather
// than Kfake().Fault, which the journal does not see.
func (c *Cluster) InjectError(f kfake.Fault) (*InjectedError, error) {
	if f.Count < -1 {
		return nil, fmt.Errorf("InjectError: Count %d: want -1 (until removed), 0 (once) or more", f.Count)
	}
	if f.Err == nil {
		f.Err = kerr.UnknownServerError
	}
	e := &InjectedError{c: c, desc: describeFault(f)}
	times := max(f.Count, 1)
	when := f.When
	// kfake asks When once per entity of a request (each partition, each
	// group) on its cluster goroutine, and takes one unit of Count per
	// request: journal each request once.
	var last kmsg.Request
	n := 0
	f.When = func(req kmsg.Request) bool {
		if when != nil && !when(req) {
			return false
		}
		if req != last {
			last = req
			n++
			c.journal.Add(Event{Kind: EventFaultHit, Detail: fmt.Sprintf("%s on %s", e.desc, kmsg.NameForKey(req.Key()))})
			if f.Count != -1 && n == times {
				e.spent(fmt.Sprintf("after %d hits", n))
			}
		}
		return true
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed || !c.onKfake(func(kf *kfake.Cluster) { e.h = kf.Fault(f) }) {
		return nil, errClosed
	}
	c.journal.Add(Event{Kind: EventFaultAdded, Detail: e.desc})
	return e, nil
}

// InjectedError is an error injection installed by InjectError.
type InjectedError struct {
	c    *Cluster
	h    *kfake.FaultHandle
	desc string

	mu      sync.Mutex
	removed bool
}

func (e *InjectedError) String() string { return e.desc }

// Hits is how many requests the injection has answered.
func (e *InjectedError) Hits() int { return e.h.Hits() }

// Wait blocks until the injection has answered n requests or ctx is done.
func (e *InjectedError) Wait(ctx context.Context, n int) error { return e.h.Wait(ctx, n) }

// Remove uninstalls the injection. Removing it twice, or after it answered
// its Count requests, is an error.
func (e *InjectedError) Remove() error {
	e.mu.Lock()
	if e.removed {
		e.mu.Unlock()
		return fmt.Errorf("%s was already removed", e.desc)
	}
	e.removed = true
	e.mu.Unlock()
	e.h.Remove()
	e.c.journal.Add(Event{Kind: EventFaultRemoved, Detail: e.desc})
	return nil
}

// spent journals that kfake dropped the injection after its last hit.
func (e *InjectedError) spent(why string) {
	e.mu.Lock()
	already := e.removed
	e.removed = true
	e.mu.Unlock()
	if !already {
		e.c.journal.Add(Event{Kind: EventFaultRemoved, Detail: e.desc + " " + why})
	}
}

func describeFault(f kfake.Fault) string {
	var b strings.Builder
	fmt.Fprintf(&b, "inject-error %s", f.Err.Message)
	if len(f.Keys) > 0 {
		var names []string
		for _, k := range f.Keys {
			names = append(names, kmsg.NameForKey(int16(k)))
		}
		fmt.Fprintf(&b, " requests %s", strings.Join(names, ","))
	}
	if f.Topic != "" {
		fmt.Fprintf(&b, " topic %q", f.Topic)
	}
	if len(f.Partitions) > 0 {
		fmt.Fprintf(&b, " partitions %v", f.Partitions)
	}
	if f.Group != "" {
		fmt.Fprintf(&b, " group %q", f.Group)
	}
	if len(f.Nodes) > 0 {
		fmt.Fprintf(&b, " brokers %v", f.Nodes)
	}
	switch f.Count {
	case -1:
	case 0, 1:
		b.WriteString(" once")
	default:
		fmt.Fprintf(&b, " %d times", f.Count)
	}
	return b.String()
}
