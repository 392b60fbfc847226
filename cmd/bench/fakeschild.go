package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

// serveFakesFlag is the hidden first argument that makes the bench binary
// serve the fake OWT and SRS for a parent bench process (see startFakes),
// so that the parent's CPU time and RSS are the agent's own.
const serveFakesFlag = "--serve-fakes"

// Paths of the child's own endpoints, served beside the fake OWT's API.
const (
	activityPath = "/bench/activity" // GET: an activity
	resetPath    = "/bench/reset"    // POST: zero the OWT counts, the SRS reads and the last call
	readsPath    = "/bench/reads"    // GET: the API reads (GETs) served since the last reset, as []apiRead
)

// maxRecordedReads bounds the reads the child remembers between resets.
const maxRecordedReads = 1 << 17

// apiRead is one GET of the OWT or SRS API served by the fakes child.
type apiRead struct {
	Server string `json:"server"` // "owt" or "srs"
	URI    string `json:"uri"`    // request URI: path and query
}

// fakeAddrs is the JSON line the child prints once both fakes listen.
type fakeAddrs struct {
	OWT string `json:"owt"`
	SRS string `json:"srs"`
}

// activity is what the fakes have served since the last reset.
type activity struct {
	OWT      map[string]int `json:"owt"`               // OWT API requests per route
	SRSReads int64          `json:"srs_reads"`         // requests to SRS's /api/ (the agent's reads)
	InFlight int64          `json:"in_flight"`         // OWT and SRS API requests being served now
	LastCall int64          `json:"last_call_unix_ns"` // end of the last OWT or SRS API request, 0 = none
}

// fakeHost serves the two fakes and counts the agent's calls to them.
type fakeHost struct {
	owt      *owtfake.Server
	srs      *srsfake.Server
	srsReads atomic.Int64
	inFlight atomic.Int64
	lastCall atomic.Int64

	readsMu sync.Mutex
	reads   []apiRead // since the last reset, at most maxRecordedReads
}

// serveFakes is the child's main: it serves the fakes on 127.0.0.1:0,
// prints their addresses as one JSON line and serves until stdin closes
// (the parent closed its end or died) or SIGINT/SIGTERM arrives.
func serveFakes(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench "+serveFakesFlag, flag.ContinueOnError)
	fs.SetOutput(stderr)
	hook := fs.String("hook", "", "URL the fake SRS posts on_publish/on_unpublish to")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := &fakeHost{
		owt: owtfake.New(owtfake.Options{Services: map[string]string{lab.ServiceID: lab.ServiceKey}, Seed: 1}),
		srs: srsfake.New(srsfake.Options{HookURL: *hook}),
	}
	var servers []*http.Server
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(sctx)
		}
	}()
	var addrs fakeAddrs
	for _, x := range []struct {
		url *string
		h   http.Handler
	}{{&addrs.OWT, http.HandlerFunc(h.serveOWT)}, {&addrs.SRS, http.HandlerFunc(h.serveSRS)}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(stderr, "bench fakes: listen on 127.0.0.1:", err)
			return 1
		}
		s := &http.Server{Handler: x.h, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, s)
		go func() { _ = s.Serve(ln) }()
		*x.url = "http://" + ln.Addr().String()
	}
	line, _ := json.Marshal(addrs)
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		fmt.Fprintln(stderr, "bench fakes: tell the parent the addresses:", err)
		return 1
	}
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(stdinClosed)
	}()
	select {
	case <-ctx.Done():
	case <-stdinClosed:
	}
	return 0
}

// serveOWT serves the fake OWT plus the child's /bench/ endpoints.
func (h *fakeHost) serveOWT(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == activityPath && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(activity{OWT: h.owt.Counts(), SRSReads: h.srsReads.Load(),
			InFlight: h.inFlight.Load(), LastCall: h.lastCall.Load()})
	case r.URL.Path == resetPath && r.Method == http.MethodPost:
		h.owt.ResetCounts()
		h.srsReads.Store(0)
		h.lastCall.Store(0)
		h.readsMu.Lock()
		h.reads = nil
		h.readsMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`+"\n")
	case r.URL.Path == readsPath && r.Method == http.MethodGet:
		h.readsMu.Lock()
		list := append([]apiRead{}, h.reads...)
		h.readsMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	case strings.HasPrefix(r.URL.Path, "/bench/"):
		http.Error(w, "unknown bench endpoint; use GET "+activityPath+", GET "+readsPath+" or POST "+resetPath, http.StatusNotFound)
	case strings.HasPrefix(r.URL.Path, "/control/"):
		h.owt.ServeHTTP(w, r)
	default:
		h.track(w, r, "owt", h.owt)
	}
}

// serveSRS serves the fake SRS and counts its /api/ requests.
func (h *fakeHost) serveSRS(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		h.srs.ServeHTTP(w, r)
		return
	}
	h.srsReads.Add(1)
	h.track(w, r, "srs", h.srs)
}

// track serves an API request of the agent, keeping it counted as in
// flight until answered and recording when it ended; a GET is remembered
// as a read of server.
func (h *fakeHost) track(w http.ResponseWriter, r *http.Request, server string, next http.Handler) {
	if r.Method == http.MethodGet {
		h.readsMu.Lock()
		if len(h.reads) < maxRecordedReads {
			h.reads = append(h.reads, apiRead{Server: server, URI: r.URL.RequestURI()})
		}
		h.readsMu.Unlock()
	}
	h.inFlight.Add(1)
	defer func() {
		h.lastCall.Store(time.Now().UnixNano())
		h.inFlight.Add(-1)
	}()
	next.ServeHTTP(w, r)
}
