package timeline_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/seed73168108/kafkaemu/harness"
	"github.com/seed73168108/kafkaemu/timeline"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// runJournal is the journal of a real run on the virtual network: acks=1
// writes, replication paused, the leader failed (its un-replicated tail
// of 10 records dropped), a group consuming and committing, a
// transaction committed and one aborted, and responses dropped for a
// while.
func runJournal(t *testing.T) []fake.Event {
	t.Helper()
	var evs []fake.Event
	synctest.Test(t, func(t *testing.T) {
		c := harness.Start(t, fake.VirtualNetwork(), fake.ReplicaLagMax(10*time.Second), fake.Topic("payments", 2, 3, nil))
		ctx := t.Context()
		p := c.Client(t, kgo.DefaultProduceTopic("payments"), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
			kgo.RecordPartitioner(kgo.ManualPartitioner()))
		produce := func(from, to int) {
			for i := from; i < to; i++ {
				if err := p.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "p-%d", i)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
		}
		produce(0, 20)
		if err := c.PauseReplication("payments", 0); err != nil {
			t.Fatal(err)
		}
		produce(20, 30)
		if _, err := c.FailLeader("payments", 0); err != nil {
			t.Fatal(err)
		}
		if err := c.ResumeReplication("payments", 0); err != nil {
			t.Fatal(err)
		}
		// One produce response is dropped: the retry writes its record again.
		if _, err := c.AddFault(fake.DropResponses(1), fake.OnKeys(kmsg.Produce), fake.Times(1)); err != nil {
			t.Fatal(err)
		}
		produce(30, 35)
		tx := c.Client(t, kgo.TransactionalID("tx"), kgo.DefaultProduceTopic("payments"))
		for _, commit := range []bool{true, false} {
			if err := tx.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := tx.ProduceSync(ctx, &kgo.Record{Partition: 1, Value: []byte("t")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if err := tx.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
				t.Fatal(err)
			}
		}
		g := c.Client(t, kgo.ConsumerGroup("billing"), kgo.ConsumeTopics("payments"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		for n := 0; n < 25; {
			n += len(g.PollFetches(ctx).Records())
		}
		if err := g.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatal(err)
		}
		evs = c.Journal()
	})
	return evs
}

// page renders evs and saves the page as an artifact.
func page(t *testing.T, name string, p timeline.Page) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// svgOf is the page's SVG, checked to be well-formed XML.
func svgOf(t *testing.T, html string) string {
	t.Helper()
	i, j := strings.Index(html, "<svg"), strings.Index(html, "</svg>")
	if i < 0 || j < 0 {
		t.Fatalf("no svg in the page:\n%.2000s", html)
	}
	svg := html[i : j+len("</svg>")]
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the svg is not well-formed: %v", err)
		}
	}
	return svg
}

var dataT = regexp.MustCompile(`data-t="([^"]*)"`)

// hovers is every hover text of the page, unescaped.
func hovers(svg string) []string {
	var out []string
	for _, m := range dataT.FindAllStringSubmatch(svg, -1) {
		out = append(out, htmlUnescape(m[1]))
	}
	return out
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&amp;", "&").Replace(s)
}

// The page of a real run has a lane for each broker, partition and group
// and the transactions; every truncation, leader change, commit and
// transaction end of the journal is drawn with the journal's own line
// as its hover text; and nothing is fetched from the network.
func TestPageOfARun(t *testing.T) {
	evs := runJournal(t)
	html := page(t, "run.html", timeline.Page{Title: "a run", Events: evs})
	svg := svgOf(t, html)
	lanes := map[string]bool{}
	for _, m := range regexp.MustCompile(`data-lane="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
		lanes[htmlUnescape(m[1])] = true
	}
	hs := hovers(svg)
	shown := func(e fake.Event) bool {
		for _, h := range hs {
			for l := range strings.SplitSeq(h, "\n") {
				if strings.HasPrefix(l, "+") && strings.HasSuffix(l, "ms "+e.String()) {
					return true
				}
			}
		}
		return false
	}
	var truncs, commits, ends int
	for _, e := range evs {
		switch e.Kind {
		case fake.EventBrokerUp:
			if !lanes[fmt.Sprint("broker ", e.Broker)] {
				t.Errorf("no lane for broker %d; lanes %v", e.Broker, lanes)
			}
		case fake.EventTruncate, fake.EventOffsetCommit, fake.EventTxnEnd, fake.EventLeaderChange:
			if !lanes[fmt.Sprintf("%s[%d]", e.Topic, e.Partition)] && e.Topic != "" {
				t.Errorf("no lane for %s[%d]", e.Topic, e.Partition)
			}
			if !shown(e) {
				t.Errorf("no hover text shows %s", e)
			}
			truncs += b2i(e.Kind == fake.EventTruncate)
			commits += b2i(e.Kind == fake.EventOffsetCommit)
			ends += b2i(e.Kind == fake.EventTxnEnd)
		}
	}
	if truncs == 0 || commits == 0 || ends != 2 {
		t.Errorf("the run did not do what the page is to show: %d truncations, %d commits, %d transaction ends", truncs, commits, ends)
	}
	for _, l := range []string{"group billing", "transactions", "faults"} {
		if !lanes[l] {
			t.Errorf("no lane %q; lanes %v", l, lanes)
		}
	}
	for _, bad := range []string{"src=", "href=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest", "https:"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page has %q: it must not fetch anything", bad)
		}
	}
	if n := strings.Count(html, "http://"); n != 1 || !strings.Contains(html, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("the page names http:// %d times; only the SVG namespace may", n)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
