package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// OnHook takes an SRS hook: the policy may reject a publish (deny route,
// bad token); otherwise the affected room is queued and the hook answered at
// once. It never waits for OWT. It implements srsapi.HookReceiver.
func (e *Engine) OnHook(_ context.Context, h srsapi.Hook) error {
	if h.Action != srsapi.ActionOnPublish && h.Action != srsapi.ActionOnUnpublish {
		return nil
	}
	p := e.pol()
	if p == nil {
		return nil // fail open until a policy is loaded
	}
	server, restarted, conflict := e.srs.ServerFor(h.ServerID, h.ServiceID, h.Server)
	if conflict != "" {
		e.log.Warn("hook names the wrong SRS server", "server_id", h.ServerID, "stream", clipTo(hideQuery(h.Key().String()), 200), "detail", conflict)
	}
	if restarted {
		e.Resync() // SRS restarted since our last reading
	}
	if server == "" {
		return e.park(p, h)
	}
	return e.applyHook(p, h, server, time.Now())
}

// park keeps a hook from a server the agent cannot name yet, after the
// policy had its say (deny and tokens do not depend on the server): no OWT
// write until a reading tells which server it is. An SRS reading is
// scheduled at once to learn it.
func (e *Engine) park(p *policy.Policy, h srsapi.Hook) error {
	if h.Action == srsapi.ActionOnPublish {
		// On a template error t still carries the route's action and token.
		t, _ := e.resolve(p, firstServer(e.cfg.Servers).Name, h)
		if rej := e.refuse(t, StreamKey{Vhost: h.Vhost, App: h.App, Stream: h.Stream}, h); rej != nil {
			return rej
		}
	}
	if !e.srs.Park(h, time.Now()) {
		e.log.Warn("too many hooks from unidentified SRS servers; dropping this one (the next SRS listing finds the stream)",
			"server_id", h.ServerID, "stream", clipTo(hideQuery(h.Key().String()), 200), "action", h.Action)
		return nil
	}
	e.hint("parked")
	e.log.Info("hook from an SRS server not identified yet: kept, no OWT change until its API tells which server it is "+
		"(or add ?server=<name> to its hook URLs)", "server_id", h.ServerID, "stream", clipTo(hideQuery(h.Key().String()), 200), "action", h.Action)
	e.scheduleRefresh(0)
	return nil
}

func (e *Engine) resolve(p *policy.Policy, server string, h srsapi.Hook) (policy.Target, error) {
	return p.Resolve(policy.Input{Server: server, PullBase: e.pullOf(server), Vhost: h.Vhost, App: h.App, Stream: h.Stream, Param: srsapi.ParseParam(h.Param)})
}

// refuse applies the policy's deny routes and publish tokens to an
// on_publish routed to t: a rejection, or nil to accept.
func (e *Engine) refuse(t policy.Target, key StreamKey, h srsapi.Hook) *srsapi.Rejection {
	rej, why := decide(t, key, h)
	if rej != nil {
		e.hint("denied")
		e.log.Info("publish refused by policy", "stream", clipKey(key), "route", t.Route, "reason", why)
	}
	return rej
}

// decide is the policy's answer to an on_publish routed to t, the same on
// every replica: a rejection and its reason, or nil to accept.
func decide(t policy.Target, key StreamKey, h srsapi.Hook) (*srsapi.Rejection, string) {
	switch {
	case t.Action == policy.ActionDeny:
		return &srsapi.Rejection{Code: 403, Reason: fmt.Sprintf("stream %s is denied by route %d of the policy", clipKey(key), t.Route)}, "deny route"
	case !h.Admitted && !t.CheckToken(srsapi.ParseParam(h.Param)):
		return &srsapi.Rejection{Code: 401, Reason: "missing or wrong publish token for " + clipKey(key)}, "missing or wrong publish token"
	}
	return nil, ""
}

// replayParked applies the parked hooks a reading identified.
func (e *Engine) replayParked() {
	p := e.pol()
	if p == nil {
		return
	}
	for _, r := range e.srs.TakeResolved() {
		e.log.Info("hook of an SRS server now identified applied", "srs", r.Server, "stream", clipTo(hideQuery(r.Hook.Key().String()), 200), "action", r.Hook.Action)
		_ = e.applyHook(p, r.Hook, r.Server, r.At)
	}
}

// applyHook is OnHook for a hook whose server is known.
func (e *Engine) applyHook(p *policy.Policy, h srsapi.Hook, server string, now time.Time) error {
	key := StreamKey{Server: server, Vhost: h.Vhost, App: h.App, Stream: h.Stream}
	t, err := e.resolve(p, server, h)
	if h.Action == srsapi.ActionOnPublish {
		// On a template error t still carries the route's action and token.
		if rej := e.refuse(t, key, h); rej != nil {
			return rej
		}
		switch {
		case t.Action != policy.ActionRoute:
			e.hint("ignored")
			return nil
		case err != nil || t.Unroutable != "":
			// SRS keeps the stream; OWT never hears of it.
			reason := t.Unroutable
			if err != nil {
				reason = err.Error()
			}
			e.hint("unroutable")
			e.unroutable.hook(key, reason, now)
			return nil
		}
		if e.srs.Busy(key, h.ClientID) {
			e.hint("busy")
			e.log.Info("second publisher for a live stream; SRS will refuse it as busy, nothing changes", "stream", clipKey(key), "client_id", h.ClientID)
			return nil
		}
		// Only what routes read is kept, never the token (policy.StoredParam).
		stored := p.StoredParam(h.Param)
		e.srs.Published(Hint{Key: key, Published: true, ClientID: h.ClientID, Param: stored, At: now},
			&DesiredInput{Key: key, Room: t.Room, URL: t.PullURL, Views: t.Views, Media: t.Media,
				Transport: t.Transport, BufferSize: t.BufferSize, Param: stored, AttrParam: p.AttributeParam(h.Param), Hint: true})
		e.hint("publish")
		e.log.Info("on_publish: stream queued for its room", "stream", clipKey(key), "room", t.Room, "client_id", h.ClientID)
		e.queue.Add(t.Room)
		// Re-check the hint once its TTL has passed (the worker asks for a
		// fresh SRS reading if SRS still does not list the stream).
		e.queue.AddAfter(t.Room, e.cfg.HintTTL+e.cfg.RefreshDelay)
		e.scheduleRefresh(e.cfg.RefreshDelay)
		return nil
	}
	// on_unpublish: SRS ignores our answer; start the grace period now.
	e.unroutable.unpublished(key)
	rooms := map[string]bool{}
	for _, r := range e.srs.Unpublish(key, now) {
		rooms[r] = true
	}
	if err == nil && t.Room != "" {
		rooms[t.Room] = true
	}
	grace := p.Reconcile.DeleteGrace
	if j := e.cfg.Journal; j != nil {
		for r := range rooms {
			j.SetMissing(r, key, now)
		}
	}
	e.hint("unpublish")
	e.log.Info("on_unpublish: stream leaves after the delete grace", "stream", clipKey(key), "grace", grace, "client_id", h.ClientID)
	for r := range rooms {
		e.queue.Add(r)
		e.queue.AddAfter(r, grace+10*time.Millisecond)
	}
	e.scheduleRefresh(e.cfg.RefreshDelay)
	return nil
}

func (e *Engine) hint(kind string) {
	if m := e.cfg.Metrics; m != nil {
		m.Hints.WithLabelValues(kind).Inc()
	}
}
