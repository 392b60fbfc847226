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
	server, restarted := e.srs.ServerFor(h.ServerID, h.ServiceID)
	if restarted {
		e.Resync() // SRS restarted since our last reading
	}
	key := StreamKey{Server: server, Vhost: h.Vhost, App: h.App, Stream: h.Stream}
	t, err := p.Resolve(policy.Input{Server: server, PullBase: e.pullOf(server), Vhost: h.Vhost, App: h.App, Stream: h.Stream, Param: srsapi.ParseParam(h.Param)})
	now := time.Now()
	if h.Action == srsapi.ActionOnPublish {
		switch {
		case t.Action == policy.ActionDeny:
			e.hint("denied")
			e.log.Info("publish refused by policy", "stream", clipKey(key), "route", t.Route, "reason", "deny route")
			return &srsapi.Rejection{Code: 403, Reason: fmt.Sprintf("stream %s is denied by route %d of the policy", clipKey(key), t.Route)}
		case !t.CheckToken(srsapi.ParseParam(h.Param)):
			e.hint("denied")
			e.log.Info("publish refused by policy", "stream", clipKey(key), "route", t.Route, "reason", "missing or wrong publish token")
			return &srsapi.Rejection{Code: 401, Reason: "missing or wrong publish token for " + clipKey(key)}
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
			e.log.Info("second publisher for a live stream; SRS will refuse it as busy, nothing changes", "stream", key.String(), "client_id", h.ClientID)
			return nil
		}
		// Only what routes read is kept, never the token (policy.StoredParam).
		stored := p.StoredParam(h.Param)
		e.srs.Published(Hint{Key: key, Published: true, ClientID: h.ClientID, Param: stored, At: now},
			&DesiredInput{Key: key, Room: t.Room, URL: t.PullURL, Views: t.Views, Media: t.Media,
				Transport: t.Transport, BufferSize: t.BufferSize, Param: stored, AttrParam: p.AttributeParam(h.Param), Hint: true})
		e.hint("publish")
		e.log.Info("on_publish: stream queued for its room", "stream", key.String(), "room", t.Room, "client_id", h.ClientID)
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
	e.log.Info("on_unpublish: stream leaves after the delete grace", "stream", key.String(), "grace", grace, "client_id", h.ClientID)
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
