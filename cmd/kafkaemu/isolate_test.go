package main

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/seed73168108/kafkaemu/fake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// POST /isolate cuts the leader off from its cluster (by id or as the
// leader of a partition), answers a fault id, and the broker is fenced
// after -broker-session-timeout; DELETE /faults/ID heals it, truncating
// what only it had. Bad input names the parameter and changes nothing.
func TestServeIsolate(t *testing.T) {
	c, api := startServer(t, "-seed", "5", "-topic", "orders:1:3", "-broker-session-timeout", "300ms")
	ctx, p := acks1Producer(t, c)
	if err := p.ProduceSync(ctx, kgo.StringRecord("a")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	before, err := c.Partition("orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	code, body := call(t, "POST", api+"/isolate?broker="+url.QueryEscape("leader-of orders/0"))
	var added struct {
		OK     bool   `json:"ok"`
		ID     int    `json:"id"`
		Fault  string `json:"fault"`
		Broker int32  `json:"broker"`
	}
	if err := json.Unmarshal([]byte(body), &added); err != nil || code != 200 || !added.OK || added.Broker != before.Leader || added.Fault != "isolate brokers ["+itoa(before.Leader)+"]" {
		t.Fatalf("isolate: %d %s %v, want the leader %d isolated", code, body, err, before.Leader)
	}
	if err := p.ProduceSync(ctx, kgo.StringRecord("only-the-isolated-leader")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitPartition(ctx, "orders", 0, func(s fake.PartitionState) bool { return s.LeaderEpoch > before.LeaderEpoch }); err != nil {
		t.Fatal(err)
	}
	code, body = call(t, "GET", api+"/brokers")
	var bs []fake.BrokerState
	if err := json.Unmarshal([]byte(body), &bs); err != nil || code != 200 || !bs[before.Leader].Isolated || !bs[before.Leader].Fenced {
		t.Errorf("brokers after the fence: %d %s %v, want broker %d isolated and fenced", code, body, err, before.Leader)
	}
	other := (before.Leader + 1) % 3
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/isolate?broker=9", 400, `parameter broker=9: the cluster has brokers 0, 1, 2`},
		{"/isolate", 400, `missing parameter \"broker\"`},
		{"/isolate?broker=" + url.QueryEscape("leader-of nope/0"), 400, `parameter broker=\"leader-of nope/0\": parameter topic=\"nope\": no such topic`},
		{"/isolate?broker=" + url.QueryEscape("leader-of orders"), 400, `want a broker id or leader-of TOPIC/PARTITION`},
		{"/isolate?broker=1&brokers=2", 400, `unknown parameter \"brokers\"`},
		{"/isolate?broker=" + itoa(before.Leader), 409, `isolate: broker ` + itoa(before.Leader) + ` is isolated already`},
		{"/isolate?broker=" + itoa(other) + "&broker=" + itoa(other), 400, `parameter \"broker\" is given 2 times`},
	} {
		code, body := call(t, "POST", api+tc.path)
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s: %d %s, want %d and an error containing %s", tc.path, code, body, tc.status, tc.want)
		}
	}
	id := itoa(int32(added.ID))
	if code, body := call(t, "DELETE", api+"/faults/"+id); code != 200 {
		t.Fatalf("healing: %d %s", code, body)
	}
	if code, body := call(t, "DELETE", api+"/faults/"+id); code != 404 || !strings.Contains(body, `no fault \"`+id+`\"`) {
		t.Errorf("healing twice: %d %s, want 404", code, body)
	}
	code, body = call(t, "GET", api+"/journal")
	evs, err := fake.ReadJournal(strings.NewReader(body))
	if err != nil || code != 200 {
		t.Fatalf("journal: %d %v", code, err)
	}
	var kinds []string
	for _, e := range evs {
		switch e.Kind {
		case fake.EventBrokerFenced, fake.EventUnfence, fake.EventTruncate:
			if e.Broker != before.Leader {
				t.Errorf("%v, want broker %d", e, before.Leader)
			}
			kinds = append(kinds, string(e.Kind))
		}
	}
	if got := strings.Join(kinds, ","); got != "broker-fenced,unfence,truncate" {
		t.Errorf("journal has %s, want broker-fenced,unfence,truncate", got)
	}
	// With two of three brokers isolated no broker would be left to lead.
	code, body = call(t, "POST", api+"/isolate?broker=0")
	if code != 200 {
		t.Fatalf("isolate 0: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/isolate?broker=1"); code != 200 {
		t.Fatalf("isolate 1: %d %s", code, body)
	}
	if code, body := call(t, "POST", api+"/isolate?broker=2"); code != 409 || !strings.Contains(body, "no live broker would be left outside the isolation") {
		t.Errorf("isolating the last broker: %d %s, want 409", code, body)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
