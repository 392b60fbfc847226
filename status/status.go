// Package status is what an operator sees of a running agent: a JSON
// document (/status), an HTML page (/status/) and the table of
// `srs-owt-proxy status`. The content comes from the engine's Status, the
// same planner `diff` runs, plus what only the agent knows: its role, its
// policy reloads and its build.
package status

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
)

// RoleSource says which role this process plays: with high availability
// "leader" or "follower", the leader's identity and its own. Consumed
// here, implemented by whoever runs the election.
type RoleSource interface {
	Role() (role, leader, identity string)
}

// Single is the RoleSource of an agent without high availability: the
// only writer, and so its own leader.
type Single struct{ Identity string }

// Role returns "single", the identity as leader, and the identity.
func (s Single) Role() (role, leader, identity string) { return "single", s.Identity, s.Identity }

// Report is the whole status document.
type Report struct {
	// Agent is the agent id (the ownership tag).
	Agent    string `json:"agent"`
	Version  string `json:"version"`
	Role     string `json:"role"`
	Leader   string `json:"leader"`
	Identity string `json:"identity"`
	Policy   Policy `json:"policy"`
	// Status is the engine's view; its fields are inlined in the JSON.
	*reconcile.Status
}

// Policy says which policy is in force and how its last reload went.
type Policy struct {
	File    string `json:"file,omitempty"`
	Summary string `json:"summary"`
	// Digest identifies the policy's content (the first 12 hex digits of
	// its digest; the watcher logs the same).
	Digest string `json:"digest,omitempty"`
	// Generation is 1 for the policy the agent started with, plus one for
	// every successful reload.
	Generation int       `json:"generation"`
	LoadedAt   time.Time `json:"loaded_at,omitzero"`
	// LastReloadAt is the last reload attempt (zero: none yet).
	LastReloadAt    time.Time `json:"last_reload_at,omitzero"`
	LastReloadOK    bool      `json:"last_reload_ok"`
	LastReloadError string    `json:"last_reload_error,omitempty"`
}

// Handler serves the report: GET /status (JSON) and GET /status/ (HTML;
// ?q= filters rooms and streams). report is called once per request.
func Handler(report func() *Report) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(report())
	})
	mux.HandleFunc("GET /status/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status/" {
			http.NotFound(w, r)
			return
		}
		// Equivalent mutant (deleting this line): net/http sniffs the same type from the page's <!doctype html>.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'")
		_ = WritePage(w, report(), r.URL.Query().Get("q"))
	})
	return mux
}
