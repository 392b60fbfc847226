package lab

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Balancer stands for the Kubernetes Service in front of several agent
// replicas: each hook goes to the next replica in the pool, round robin,
// and every answer is kept. Remove takes a replica out, as a failed
// readiness probe does.
type Balancer struct {
	// Addr is where SRS posts its hooks (127.0.0.1, a port of the kernel's).
	Addr     string
	srv      *http.Server
	client   *http.Client
	mu       sync.Mutex
	backends []string
	next     int
	answers  []HookAnswer
}

// HookAnswer is one hook as a replica answered it.
type HookAnswer struct {
	Backend string
	Status  int
	Body    string
	Err     string
	At      time.Time
}

// Accepted says whether SRS takes the answer as an acceptance (HTTP 200,
// code 0).
func (a HookAnswer) Accepted() bool {
	return a.Err == "" && a.Status == http.StatusOK && strings.ReplaceAll(a.Body, " ", "") == `{"code":0}`
}

// NewBalancer serves a balancer on 127.0.0.1 and a port of the kernel's
// until Close.
func NewBalancer() (*Balancer, error) { return NewBalancerOn("127.0.0.1:0") }

// NewBalancerOn serves a balancer on addr until Close.
func NewBalancerOn(addr string) (*Balancer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &Balancer{Addr: ln.Addr().String(), client: &http.Client{Timeout: 5 * time.Second}}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// Close stops serving.
func (b *Balancer) Close() { _ = b.srv.Close(); b.client.CloseIdleConnections() }

// Set replaces the pool (host:port of each replica's hook listener).
func (b *Balancer) Set(backends ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append([]string(nil), backends...)
}

// Remove takes backend out of the pool.
func (b *Balancer) Remove(backend string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.backends {
		if x == backend {
			b.backends = append(b.backends[:i], b.backends[i+1:]...)
			return
		}
	}
}

// Answers returns every answer so far.
func (b *Balancer) Answers() []HookAnswer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]HookAnswer(nil), b.answers...)
}

// ServeHTTP forwards one hook to the next replica.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	b.mu.Lock()
	if len(b.backends) == 0 {
		b.mu.Unlock()
		http.Error(w, "no backend", http.StatusBadGateway)
		return
	}
	be := b.backends[b.next%len(b.backends)]
	b.next++
	b.mu.Unlock()
	a := HookAnswer{Backend: be, At: time.Now()}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+be+r.URL.RequestURI(), bytes.NewReader(body))
	if err == nil {
		req.Header = r.Header.Clone()
		var resp *http.Response
		if resp, err = b.client.Do(req); err == nil {
			out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			a.Status, a.Body = resp.StatusCode, string(out)
			b.record(a)
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(out)
			return
		}
	}
	a.Err = err.Error()
	b.record(a)
	http.Error(w, fmt.Sprintf("backend %s: %v", be, err), http.StatusBadGateway)
}

func (b *Balancer) record(a HookAnswer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answers = append(b.answers, a)
}
