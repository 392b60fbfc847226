package reconcile

import (
	"context"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// Admit answers a hook as a follower replica does, from the policy alone
// (deny routes and publish tokens; no state, no OWT call). It gives the
// rejection the leader's OnHook gives for the same hook and policy, with
// its reason for the log; nil accepts.
func Admit(p *policy.Policy, servers []SRSServer, h srsapi.Hook) (*srsapi.Rejection, string) {
	if p == nil || h.Action != srsapi.ActionOnPublish {
		return nil, ""
	}
	sv := firstServer(servers)
	t, _ := p.Resolve(policy.Input{Server: sv.Name, PullBase: sv.Pull, Vhost: h.Vhost, App: h.App, Stream: h.Stream, Param: srsapi.ParseParam(h.Param)})
	return decide(t, StreamKey{Server: sv.Name, Vhost: h.Vhost, App: h.App, Stream: h.Stream}, h)
}

// firstServer is the server a hook of no known server is judged with:
// deny and the publish token depend on the route alone (routes match on
// vhost, app, stream and query, never on the server), and Resolve gives
// them even when a template fails to render, so any server decides alike.
func firstServer(servers []SRSServer) SRSServer {
	if len(servers) == 0 {
		return SRSServer{}
	}
	return servers[0]
}

// OnForwardedHook takes a hook another replica admitted and forwarded to
// this one, the leader: it is applied as OnHook applies a hook, without
// the publish token check (the follower made it; the token is not sent
// between replicas). Deny routes still apply.
func (e *Engine) OnForwardedHook(ctx context.Context, h srsapi.Hook) error {
	h.Admitted = true
	return e.OnHook(ctx, h)
}

// Heartbeat says when the resync loop last went round, and the resync
// interval it follows: a liveness check compares the two. Zero before Run.
func (e *Engine) Heartbeat() (last time.Time, interval time.Duration) {
	if n := e.loopAt.Load(); n != 0 {
		last = time.Unix(0, n)
	}
	return last, e.interval()
}

func (e *Engine) beat() { e.loopAt.Store(time.Now().UnixNano()) }
