package reconcile

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// getAsync calls Get in a goroutine; the result arrives on the channel.
func getAsync(q *Queue) <-chan string {
	ch := make(chan string, 1)
	go func() {
		k, ok := q.Get()
		if !ok {
			k = "<shutdown>"
		}
		ch <- k
	}()
	return ch
}

func expectGet(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Errorf("Get() = %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Get() did not return %q", want)
	}
}

func expectBlocked(t *testing.T, ch <-chan string, d time.Duration) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("Get() returned %q, want it to block", got)
	case <-time.After(d):
	}
}

func TestQueueDedupe(t *testing.T) {
	q := NewQueue(time.Millisecond, 10*time.Millisecond)
	defer q.ShutDown()
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if q.Len() != 2 {
		t.Fatalf("Len() = %d, want 2", q.Len())
	}
	for _, want := range []string{"a", "b"} {
		k, ok := q.Get()
		if !ok || k != want {
			t.Fatalf("Get() = %q, %v; want %q", k, ok, want)
		}
		q.Done(k)
	}
	if q.Len() != 0 || q.Busy() != 0 {
		t.Errorf("Len, Busy = %d, %d after draining; want 0, 0", q.Len(), q.Busy())
	}
	expectBlocked(t, getAsync(q), 20*time.Millisecond)
}

func TestQueueOneWorkerPerKey(t *testing.T) {
	q := NewQueue(time.Millisecond, 10*time.Millisecond)
	defer q.ShutDown()
	q.Add("a")
	k, _ := q.Get()
	q.Add("a") // while processing
	q.Add("a")
	if q.Len() != 0 {
		t.Fatalf("Len() = %d while a is processed, want 0", q.Len())
	}
	if q.Busy() != 1 {
		t.Errorf("Busy() = %d, want 1", q.Busy())
	}
	ch := getAsync(q)
	expectBlocked(t, ch, 30*time.Millisecond)
	q.Done(k)
	expectGet(t, ch, "a")
	q.Done("a")
	// Processed once more, not twice.
	expectBlocked(t, getAsync(q), 20*time.Millisecond)
}

func TestQueueDoneWithoutAdd(t *testing.T) {
	q := NewQueue(time.Millisecond, 10*time.Millisecond)
	defer q.ShutDown()
	q.Add("a")
	k, _ := q.Get()
	q.Done(k)
	if q.Len() != 0 || q.Busy() != 0 {
		t.Errorf("Len, Busy = %d, %d; want 0, 0", q.Len(), q.Busy())
	}
}

func TestQueueConcurrentWorkers(t *testing.T) {
	q := NewQueue(time.Millisecond, 10*time.Millisecond)
	var active [4]atomic.Int32
	var processed atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, ok := q.Get()
				if !ok {
					return
				}
				var i int
				fmt.Sscanf(k, "k%d", &i)
				if n := active[i].Add(1); n != 1 {
					select {
					case errs <- fmt.Sprintf("%s handed to %d workers at once", k, n):
					default:
					}
				}
				time.Sleep(100 * time.Microsecond)
				active[i].Add(-1)
				processed.Add(1)
				q.Done(k)
			}
		}()
	}
	for i := 0; i < 400; i++ {
		q.Add(fmt.Sprintf("k%d", i%4))
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for q.Busy() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	q.ShutDown()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := processed.Load(); n < 4 || n > 400 {
		t.Errorf("processed %d times, want between 4 and 400", n)
	}
}

func TestQueueAddAfter(t *testing.T) {
	const d = 30 * time.Millisecond
	q := NewQueue(time.Millisecond, 10*time.Millisecond)
	defer q.ShutDown()
	start := time.Now()
	q.AddAfter("a", d)
	if q.Len() != 0 || q.Busy() != 1 {
		t.Errorf("Len, Busy = %d, %d right after AddAfter; want 0, 1", q.Len(), q.Busy())
	}
	expectGet(t, getAsync(q), "a")
	if el := time.Since(start); el < d {
		t.Errorf("delivered after %s, before the %s delay", el, d)
	}
	q.Done("a")
	if q.Busy() != 0 {
		t.Errorf("Busy() = %d after Done, want 0 (the timer is forgotten)", q.Busy())
	}

	// Zero delay is an Add.
	q.AddAfter("b", 0)
	if q.Len() != 1 {
		t.Errorf("Len() = %d after AddAfter(0), want 1", q.Len())
	}
	k, _ := q.Get()
	q.Done(k)
}

func TestQueueEarlierAddAfterWins(t *testing.T) {
	tests := []struct {
		name   string
		first  time.Duration
		second time.Duration
	}{
		{"earlier second call replaces a later one", time.Hour, 10 * time.Millisecond},
		{"later second call is ignored", 10 * time.Millisecond, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := NewQueue(time.Millisecond, 10*time.Millisecond)
			defer q.ShutDown()
			q.AddAfter("a", tt.first)
			q.AddAfter("a", tt.second)
			expectGet(t, getAsync(q), "a")
			q.Done("a")
			if q.Busy() != 0 {
				t.Errorf("Busy() = %d, want 0: the hour-long timer must be gone", q.Busy())
			}
		})
	}
}

func TestQueueAddRateLimited(t *testing.T) {
	const initial, maxI = 10 * time.Millisecond, 40 * time.Millisecond
	q := NewQueue(initial, maxI)
	defer q.ShutDown()
	// The backoff interval grows 1.5x per failure up to max, each delay
	// jittered by ±50%.
	base := []time.Duration{10 * time.Millisecond, 15 * time.Millisecond, 22500 * time.Microsecond, 33750 * time.Microsecond, maxI, maxI}
	check := func(key string, i int, d time.Duration) {
		t.Helper()
		lo, hi := base[i]/2, base[i]*3/2
		if d < lo || d > hi {
			t.Errorf("%s failure %d: delay %s, want within [%s, %s]", key, i+1, d, lo, hi)
		}
	}
	for i := range base {
		check("a", i, q.AddRateLimited("a"))
	}
	// Another key has its own backoff.
	check("b", 0, q.AddRateLimited("b"))
	// The key comes back.
	k, ok := q.Get()
	if !ok {
		t.Fatal("queue shut down")
	}
	q.Done(k)
	q.Forget("a")
	check("a after Forget", 0, q.AddRateLimited("a"))
}

func TestQueueShutDown(t *testing.T) {
	q := NewQueue(time.Millisecond, 10*time.Millisecond)
	ch1, ch2 := getAsync(q), getAsync(q)
	expectBlocked(t, ch1, 10*time.Millisecond)
	q.AddAfter("later", time.Hour)
	q.ShutDown()
	expectGet(t, ch1, "<shutdown>")
	expectGet(t, ch2, "<shutdown>")
	q.Add("a")
	q.AddAfter("b", time.Millisecond)
	if _, ok := q.Get(); ok {
		t.Errorf("Get() after ShutDown returned a key")
	}
	if q.Len() != 0 || q.Busy() != 0 {
		t.Errorf("Len, Busy = %d, %d after ShutDown; want 0, 0 (timers cancelled, adds ignored)", q.Len(), q.Busy())
	}
}
