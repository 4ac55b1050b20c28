package timeline_test

import (
	"io"
	"testing"

	"github.com/seed73168108/kafkaemu/internal/journaltest"
	"github.com/seed73168108/kafkaemu/timeline"
)

// countWriter counts what is written.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkWriteHTML draws a million-event journal; events/s is the
// generation rate, bytes/page the page's size.
func BenchmarkWriteHTML(b *testing.B) {
	evs := journaltest.Synthetic(1_000_000, 6)
	var w countWriter
	b.ResetTimer()
	for b.Loop() {
		w.n = 0
		if err := timeline.WriteHTML(&w, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(w.n), "bytes/page")
}

var _ = io.Discard
