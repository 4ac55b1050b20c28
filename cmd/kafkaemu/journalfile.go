package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/seed73168108/kafkaemu/fake"
)

// journalFile streams the journal to a file as JSON lines (serve
// -journal), whatever -journal-max drops from memory. Events are buffered
// and flushed every flushEvery and on close, so that a reader following
// the file sees them within that time.
type journalFile struct {
	path   string
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	enc    *json.Encoder
	err    error         // the first write error; the file stops there
	failed chan struct{} // closed with err
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

const flushEvery = 100 * time.Millisecond

// openJournalFile creates (or truncates) path, before anything listens, so
// that a path serve cannot write is refused at once.
func openJournalFile(path string) (*journalFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("-journal %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	j := &journalFile{path: path, f: f, w: w, enc: json.NewEncoder(w), failed: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go j.flushLoop()
	return j, nil
}

// write is the cluster's OnJournal hook.
func (j *journalFile) write(e fake.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || j.err != nil {
		return
	}
	if err := j.enc.Encode(e); err != nil {
		j.failLocked(err)
	}
}

func (j *journalFile) failLocked(err error) {
	j.err = fmt.Errorf("-journal %s: %w (the file ends before this event)", j.path, err)
	close(j.failed)
}

func (j *journalFile) flushLoop() {
	defer close(j.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-tick.C:
			j.mu.Lock()
			if !j.closed && j.err == nil && j.w.Buffered() > 0 {
				if err := j.w.Flush(); err != nil {
					j.failLocked(err)
				}
			}
			j.mu.Unlock()
		}
	}
}

// close flushes what is buffered and closes the file; call it once the
// cluster is closed, so that the file holds every event. It returns the
// first error writing the file.
func (j *journalFile) close() error {
	close(j.stop)
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return j.err
	}
	j.closed = true
	if j.err == nil {
		if err := j.w.Flush(); err != nil {
			j.failLocked(err)
		}
	}
	if err := j.f.Close(); err != nil && j.err == nil {
		j.failLocked(err)
	}
	return j.err
}
