package scenarios

import "sync"

// In a testing/synctest bubble time moves only when every goroutine of the
// bubble is durably blocked, and a goroutine waiting on a sync.Mutex is
// not: a lock held across a wait on the bubble's clock (a record's
// processing time, a transaction's end, a client's close) would stop the
// clock for good. The runner's long-held locks are therefore channels,
// whose waiters are durably blocked. sync.Mutex stays for the short,
// never-waiting critical sections (run.mu).

// chanMutex is a mutex whose waiters are durably blocked. Its zero value
// is an unlocked mutex.
type chanMutex struct {
	init sync.Once
	ch   chan struct{}
}

func (m *chanMutex) c() chan struct{} {
	m.init.Do(func() { m.ch = make(chan struct{}, 1) })
	return m.ch
}

// Lock locks m, waiting until it is free.
func (m *chanMutex) Lock() { m.c() <- struct{}{} }

// Unlock unlocks m.
func (m *chanMutex) Unlock() { <-m.c() }

// chanOnce runs a function once; later callers wait, durably, until it
// has returned. Its zero value is ready to use.
type chanOnce struct {
	mu   sync.Mutex
	done chan struct{}
}

// Do runs f if no call of Do has, and else waits for the one that did.
func (o *chanOnce) Do(f func()) {
	o.mu.Lock()
	if o.done != nil {
		done := o.done
		o.mu.Unlock()
		<-done
		return
	}
	o.done = make(chan struct{})
	o.mu.Unlock()
	defer close(o.done)
	f()
}
