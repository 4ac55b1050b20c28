package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
)

// FuzzAPI sends arbitrary requests to the HTTP API of a real cluster: no
// input panics (the handler turns a panic into a 500, which fails here),
// and every answer is well-formed JSON, an error one with a message.
func FuzzAPI(f *testing.F) {
	c, err := fake.New(fake.Seed(1), fake.Topic("orders", 2, 3))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Close() })
	a := newAPI(c)
	for _, s := range []struct{ method, path, query, ctype, body string }{
		{"GET", "/brokers", "", "", ""},
		{"GET", "/partitions", "topic=orders&partition=1", "", ""},
		{"GET", "/partitions", "partition=1", "", ""},
		{"GET", "/groups", "", "", ""},
		{"GET", "/groups/x%00y", "", "", ""},
		{"GET", "/faults", "", "", ""},
		{"GET", "/journal", "", "", ""},
		{"GET", "/timeline", "", "", ""},
		{"GET", "/timeline.html", "", "", ""},
		{"POST", "/latency", "delay=1ms&jitter=1ms&broker=1&requests=produce,fetch&count=2", "", ""},
		{"POST", "/latency", "delay=99999999999h", "", ""},
		{"POST", "/drop-responses", "probability=NaN", "", ""},
		{"POST", "/drop-responses", "", "application/x-www-form-urlencoded", "probability=0.5&client=c"},
		{"POST", "/blackhole", "broker=0&count=1", "", ""},
		{"POST", "/close-connections", "requests=", "", ""},
		{"POST", "/network-partition", "brokers=0,,1", "", ""},
		{"POST", "/network-partition", "brokers=2", "", ""},
		{"POST", "/isolate", "broker=1&client=c", "", ""},
		{"POST", "/isolate", "broker=leader-of%20orders/1", "", ""},
		{"POST", "/isolate", "broker=leader-of%20orders/-1", "", ""},
		{"POST", "/isolate", "broker=leader-of%20/", "", ""},
		{"POST", "/inject-error", "error=not-enough-replicas&requests=produce&topic=orders&partition=1&count=1", "", ""},
		{"POST", "/inject-error", "error=UNKNOWN_SERVER_ERROR&requests=join_group&group=g", "", ""},
		{"POST", "/pause-replication", "topic=orders", "", ""},
		{"POST", "/pause-replication", "broker=1&topic=orders", "", ""},
		{"POST", "/resume-replication", "broker=1", "", ""},
		{"POST", "/fail-leader", "topic=orders", "", ""},
		{"POST", "/kill-broker", "broker=2", "", ""},
		{"POST", "/restart-broker", "broker=2", "", ""},
		{"POST", "/join-phantom", "group=g&count=2", "", ""},
		{"POST", "/leave-phantom", "group=g", "", ""},
		{"POST", "/rebalance", "group=nope", "", ""},
		{"POST", "/expire-member", "member=m", "", ""},
		{"POST", "/move-coordinator", "group=g", "", ""},
		{"DELETE", "/faults/1", "", "", ""},
		{"DELETE", "/faults/-1", "x=1", "", ""},
		{"PUT", "/latency", "", "", ""},
		{"GET", "/", "%zz", "", ""},
		{"POST", "/latency", "delay=1ms", "application/json", `{"delay":"1ms"}`},
		{"POST", "/latency", strings.Repeat("a", maxQuery+1), "", ""},
		{"\x00", "//..", "a=%", "\xff", "\xff"},
	} {
		f.Add(s.method, s.path, s.query, s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, path, query, ctype string, body []byte) {
		req := &http.Request{
			Method: method, URL: &url.URL{Path: path, RawQuery: query},
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {ctype}}, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)), Host: "127.0.0.1",
		}
		req = req.WithContext(t.Context())
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(40 * time.Second): // the verbs' own timeouts are 30s
			t.Fatalf("%q %q?%q: no answer after 40s", method, path, query)
		}
		res := rec.Result()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("%q %q?%q: %d %s", method, path, query, res.StatusCode, out)
		}
		if res.StatusCode == 200 && (path == "/journal" || path == "/timeline" || path == "/timeline.html") {
			return // JSON lines, text and HTML
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%q %q?%q: %d, not JSON (%v): %s", method, path, query, res.StatusCode, err, out)
		}
		if res.StatusCode >= 400 {
			m, ok := v.(map[string]any)
			if msg, _ := m["error"].(string); !ok || msg == "" || len(m) != 1 {
				t.Fatalf("%q %q?%q: %d without an error message: %s", method, path, query, res.StatusCode, out)
			}
		}
	})
}
