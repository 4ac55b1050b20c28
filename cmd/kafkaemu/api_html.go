package main

import (
	"bufio"
	"fmt"
	"net/http"

	"github.com/seed73168108/kafkaemu/timeline"
)

// timelineHTML answers GET /timeline.html: the journal so far as a
// timeline page (package timeline), as kafkaemu timeline -html draws it.
func (a *api) timelineHTML(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	bw := bufio.NewWriterSize(w, 64<<10)
	page := timeline.Page{Title: fmt.Sprintf("kafkaemu serve, seed %d", a.c.Seed()), Events: a.c.Journal()}
	if page.WriteHTML(bw) == nil {
		_ = bw.Flush()
	}
}
