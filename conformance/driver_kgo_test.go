package conformance

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// goModuleVersion is the version of module path this module builds with
// (go list -m: test binaries carry no module versions).
func goModuleVersion(path string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", path).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// cellCtx bounds one client operation of a cell.
func cellCtx(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), 45*time.Second)
}

type kgoDriver struct{}

func (kgoDriver) version(*testing.T) (string, error) {
	return goModuleVersion("github.com/twmb/franz-go")
}

func (kgoDriver) client(t *testing.T, e endpoint, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(kgoOpts(e), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func (d kgoDriver) produce(t *testing.T, e endpoint, p produceSpec) error {
	acks := map[string]kgo.Acks{"0": kgo.NoAck(), "1": kgo.LeaderAck(), "all": kgo.AllISRAcks()}[p.acks]
	opts := []kgo.Opt{kgo.DefaultProduceTopic(p.topic), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(acks)}
	if !p.idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if e.tlsCfg != nil {
		opts = append(opts, kgo.RecordDeliveryTimeout(5*time.Second))
	}
	cl := d.client(t, e, opts...)
	defer cl.Close()
	ctx, cancel := cellCtx(t)
	defer cancel()
	for _, v := range p.values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			return err
		}
	}
	return nil
}

func (d kgoDriver) consume(t *testing.T, e endpoint, c consumeSpec) ([]string, error) {
	opts := []kgo.Opt{kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if c.group != "" {
		opts = append(opts, kgo.ConsumerGroup(c.group), kgo.ConsumeTopics(c.topic), kgo.DisableAutoCommit())
	} else {
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{c.topic: {0: kgo.NewOffset().AtStart()}}))
	}
	if c.readCommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl := d.client(t, e, opts...)
	defer cl.Close()
	ctx, cancel := cellCtx(t)
	defer cancel()
	var got []string
	for len(got) < c.n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return got, err
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if c.group != "" {
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			return got, err
		}
	}
	return got[:c.n], nil
}

func (d kgoDriver) member(t *testing.T, e endpoint, m memberSpec) (func(bool), error) {
	opts := []kgo.Opt{kgo.ConsumerGroup(m.group), kgo.ConsumeTopics(m.topic), kgo.HeartbeatInterval(100 * time.Millisecond), kgo.SessionTimeout(10 * time.Second)}
	if m.instanceID != "" {
		opts = append(opts, kgo.InstanceID(m.instanceID))
	}
	cl := d.client(t, e, opts...)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	return func(bool) { // a static member does not leave on Close
		cancel()
		<-done
		cl.Close()
	}, nil
}

func (d kgoDriver) txn(t *testing.T, e endpoint, x txnSpec) error {
	seedTxn(t, e, x.topic, x.id, x.commit, x.values...)
	return nil
}
