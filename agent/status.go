package agent

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/version"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/status"
)

// policyState is what the status page says of the policy: which one is in
// force and how the last reload went.
type policyState struct {
	mu      sync.Mutex
	summary string
	digest  string
	gen     int
	at      time.Time
	lastAt  time.Time
	lastOK  bool
	lastErr string
}

func (p *policyState) loaded(pol *policy.Policy, at time.Time, reload bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.summary, p.digest, p.at = "no policy", "", at
	if pol != nil {
		p.summary, p.digest = pol.Summary(), pol.Digest()
		p.digest = p.digest[:min(len(p.digest), 12)]
	}
	p.gen++
	if reload {
		p.lastAt, p.lastOK, p.lastErr = at, true, ""
	}
}

func (p *policyState) failed(err error, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastAt, p.lastOK, p.lastErr = at, false, err.Error()
}

func (p *policyState) status(file string) status.Policy {
	p.mu.Lock()
	defer p.mu.Unlock()
	return status.Policy{File: file, Summary: p.summary, Digest: p.digest, Generation: p.gen, LoadedAt: p.at,
		LastReloadAt: p.lastAt, LastReloadOK: p.lastOK, LastReloadError: p.lastErr}
}

// defaultIdentity names this process: host name and pid.
func defaultIdentity() string {
	return identity(os.Hostname())
}

// identity is host/pid, with "localhost" when the host name is unknown.
func identity(h string, err error) string {
	if err != nil || h == "" {
		h = "localhost"
	}
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}

// Status is the agent's status report (GET /status).
func (a *Agent) Status() *status.Report {
	role, leader, identity := a.roles.Role()
	st := &reconcile.Status{}
	if e := a.Engine(); e != nil {
		st = e.Status(time.Now())
	}
	return &status.Report{Agent: a.opts.Config.Agent.ID, Version: version.Get().Version, Role: role, Leader: leader,
		Identity: identity, Policy: a.pstat.status(a.opts.PolicyFile), Status: st}
}

// mountPProf serves net/http/pprof under /debug/pprof/ (agent.pprof: true).
func mountPProf(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
