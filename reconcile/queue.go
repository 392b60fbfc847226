package reconcile

import (
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Queue is a work queue of room names with the guarantees of client-go's
// workqueue: a key added many times before it is processed is processed
// once; a key is never handed to two workers at once (a key added while it
// is being processed is handed out again after Done); failed keys come back
// after a per-key exponential backoff with jitter that never gives up.
type Queue struct {
	mu         sync.Mutex
	cond       *sync.Cond
	order      []string
	dirty      map[string]bool
	processing map[string]bool
	backoffs   map[string]*backoff.ExponentialBackOff
	timers     map[string]*time.Timer
	due        map[string]time.Time
	shutdown   bool

	initial, max time.Duration
}

// NewQueue returns a queue whose retries start at initial and grow to max.
func NewQueue(initial, max time.Duration) *Queue {
	q := &Queue{dirty: map[string]bool{}, processing: map[string]bool{}, backoffs: map[string]*backoff.ExponentialBackOff{},
		timers: map[string]*time.Timer{}, due: map[string]time.Time{}, initial: initial, max: max}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues key now.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue) addLocked(key string) {
	if q.shutdown || q.dirty[key] {
		return
	}
	q.dirty[key] = true
	if !q.processing[key] {
		q.order = append(q.order, key)
		q.cond.Signal()
	}
}

// AddAfter queues key after d; an earlier pending AddAfter wins.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	at := time.Now().Add(d)
	if t, ok := q.timers[key]; ok {
		if !q.due[key].After(at) {
			return
		}
		t.Stop()
	}
	q.due[key] = at
	q.timers[key] = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.due[key].Equal(at) {
			delete(q.timers, key)
			delete(q.due, key)
		}
		q.addLocked(key)
	})
}

// AddRateLimited queues key after its next backoff interval and returns it.
func (q *Queue) AddRateLimited(key string) time.Duration {
	q.mu.Lock()
	b := q.backoffs[key]
	if b == nil {
		b = backoff.NewExponentialBackOff()
		b.InitialInterval = q.initial
		b.MaxInterval = q.max
		b.MaxElapsedTime = 0 // never give up
		b.RandomizationFactor = 0.5
		b.Reset()
		q.backoffs[key] = b
	}
	d := b.NextBackOff()
	q.mu.Unlock()
	q.AddAfter(key, d)
	return d
}

// Forget resets key's backoff after a success.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.backoffs, key)
}

// Get blocks until a key is ready or the queue shuts down (ok false).
func (q *Queue) Get() (key string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if len(q.order) == 0 {
		return "", false
	}
	key = q.order[0]
	q.order[0] = ""
	q.order = q.order[1:]
	q.processing[key] = true
	delete(q.dirty, key)
	return key, true
}

// Done marks key processed; if it was added meanwhile it is queued again.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if q.dirty[key] {
		q.order = append(q.order, key)
		q.cond.Signal()
	}
}

// Len is the number of keys waiting (not counting delayed ones).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

// Busy is the number of keys waiting, delayed or being processed.
func (q *Queue) Busy() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order) + len(q.processing) + len(q.timers)
}

// ShutDown stops the queue: Get returns ok=false once the queue is drained
// of nothing more, pending timers are cancelled, and adds are ignored.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	for k, t := range q.timers {
		t.Stop()
		delete(q.timers, k)
	}
	q.order = nil
	q.cond.Broadcast()
}
