// Command rebalance shows why a consumer commits when its partitions are
// revoked. Two consumers read the same 100 records, each in its own group;
// after 60 records kafkaemu forces a rebalance of each group. The consumer
// that commits in OnPartitionsRevoked resumes where it was; the one that
// does not re-reads what it had processed: duplicates.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rebalance:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fake.New(fake.Seed(1), fake.Topic("jobs", 1, 3))
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("jobs"))
	if err != nil {
		return err
	}
	defer p.Close()
	for i := 0; i < 100; i++ {
		p.Produce(ctx, kgo.StringRecord(fmt.Sprint("job-", i)), nil)
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	for _, commitOnRevoke := range []bool{true, false} {
		dups, err := consume(ctx, c, commitOnRevoke)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "commit on revoke: %-5v  processed 100 jobs, %d of them twice\n", commitOnRevoke, dups)
	}
	return nil
}

func consume(ctx context.Context, c *fake.Cluster, commitOnRevoke bool) (int, error) {
	group := fmt.Sprint("workers-commit-on-revoke-", commitOnRevoke)
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Addrs()...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics("jobs"),
		kgo.Balancers(kgo.RangeBalancer()), // eager: a rebalance revokes everything
		kgo.DisableAutoCommit(),
		kgo.HeartbeatInterval(50 * time.Millisecond),
		kgo.FetchMaxWait(50 * time.Millisecond),
	}
	if commitOnRevoke {
		opts = append(opts, kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
			_ = cl.CommitUncommittedOffsets(ctx)
		}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()

	seen := map[string]int{}
	processed := 0
	rebalanced := false
	for len(seen) < 100 {
		want := 100
		if !rebalanced {
			want = 60 - processed
		}
		fs := cl.PollRecords(ctx, want)
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		fs.EachRecord(func(r *kgo.Record) {
			seen[string(r.Value)]++
			processed++
		})
		if !rebalanced && processed == 60 {
			if err := c.Rebalance(ctx, group); err != nil {
				return 0, err
			}
			rebalanced = true
		}
	}
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	return dups, nil
}
