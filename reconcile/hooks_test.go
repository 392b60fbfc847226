package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

func hook(action, app, stream, cid, param string) srsapi.Hook {
	return srsapi.Hook{Action: action, Vhost: "__defaultVhost__", App: app, Stream: stream, ClientID: cid, StreamID: "sid", Param: param}
}

// hintCounts reads hook_hints_total for every kind.
func hintCounts(m *Metrics) map[string]float64 {
	out := map[string]float64{}
	for _, k := range []string{"publish", "unpublish", "busy", "ignored", "denied", "unroutable", "parked"} {
		if v := testutil.ToFloat64(m.Hints.WithLabelValues(k)); v != 0 {
			out[k] = v
		}
	}
	return out
}

func TestOnHookAnswersAndHints(t *testing.T) {
	for _, tc := range []struct {
		name       string
		hook       srsapi.Hook
		wantCode   int // 0: accepted
		wantReason string
		wantHint   string // "": none counted
		wantQueued []string
		wantLog    []string // parts of one log record
	}{
		{name: "deny route", hook: hook(srsapi.ActionOnPublish, "private", "x", "c1", ""),
			wantCode: 403, wantReason: "denied by route 0", wantHint: "denied",
			wantLog: []string{"INFO publish refused by policy", "stream=origin/__defaultVhost__/private/x", "reason=deny route"}},
		{name: "missing token", hook: hook(srsapi.ActionOnPublish, "secure", "x", "c1", ""),
			wantCode: 401, wantReason: "missing or wrong publish token for origin/__defaultVhost__/secure/x", wantHint: "denied",
			wantLog: []string{"INFO publish refused by policy", "route=1", "reason=missing or wrong publish token"}},
		{name: "wrong token", hook: hook(srsapi.ActionOnPublish, "secure", "x", "c1", "?token=nope"),
			wantCode: 401, wantReason: "wrong publish token", wantHint: "denied"},
		{name: "right token", hook: hook(srsapi.ActionOnPublish, "secure", "x", "c1", "?token=s3cret"),
			wantHint: "publish", wantQueued: []string{"secure"}},
		{name: "ignore route", hook: hook(srsapi.ActionOnPublish, "skip", "x", "c1", ""), wantHint: "ignored"},
		{name: "routed", hook: hook(srsapi.ActionOnPublish, "live", "cam1", "c1", ""),
			wantHint: "publish", wantQueued: []string{"cam1"},
			wantLog: []string{"INFO on_publish: stream queued for its room", "room=cam1", "client_id=c1"}},
		{name: "play is not looked at", hook: hook(srsapi.ActionOnPlay, "private", "x", "c1", "")},
		{name: "stop is not looked at", hook: hook(srsapi.ActionOnStop, "live", "x", "c1", "")},
		{name: "unroutable room name: accepted, kept out of OWT", hook: hook(srsapi.ActionOnPublish, "live", strings.Repeat("n", 200), "c1", ""),
			wantHint: "unroutable", wantLog: []string{"WARN stream accepted for SRS but kept out of OWT", "room name is longer than 128"}},
		{name: "unroutable name: accepted, kept out of OWT", hook: hook(srsapi.ActionOnPublish, "live", "课堂1", "c1", ""),
			wantHint: "unroutable", wantLog: []string{"WARN stream accepted for SRS but kept out of OWT", "SRS does not decode"}},
		{name: "unroutable on a token route: token still checked", hook: hook(srsapi.ActionOnPublish, "secure", "a%20b", "c1", "?token=nope"),
			wantCode: 401, wantReason: "wrong publish token", wantHint: "denied"},
		{name: "room template fails on a token route: token still checked", hook: hook(srsapi.ActionOnPublish, "members", strings.Repeat("n", 200), "c1", "?token=nope"),
			wantCode: 401, wantReason: "wrong publish token", wantHint: "denied"},
		{name: "room template fails on a token route, right token: accepted, kept out of OWT", hook: hook(srsapi.ActionOnPublish, "members", strings.Repeat("n", 200), "c1", "?token=s3cret"),
			wantHint: "unroutable", wantLog: []string{"WARN stream accepted for SRS but kept out of OWT", "room name is longer than 128"}},
		{name: "odd name on an ignore route", hook: hook(srsapi.ActionOnPublish, "skip", "a%20b..\x01", "c1", ""), wantHint: "ignored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t, nil)
			err := te.OnHook(context.Background(), tc.hook)
			var rej *srsapi.Rejection
			switch {
			case tc.wantCode == 0 && err != nil:
				t.Fatalf("OnHook = %v, want accepted", err)
			case tc.wantCode != 0 && !errors.As(err, &rej):
				t.Fatalf("OnHook = %v, want a rejection with code %d", err, tc.wantCode)
			case tc.wantCode != 0:
				if rej.Code != tc.wantCode || !strings.Contains(rej.Reason, tc.wantReason) {
					t.Errorf("rejection %d %q, want %d containing %q", rej.Code, rej.Reason, tc.wantCode, tc.wantReason)
				}
			}
			// A follower answers the same from the policy alone.
			frej, why := Admit(te.pol(), te.cfg.Servers, tc.hook)
			switch {
			case tc.wantCode == 0 && frej != nil:
				t.Errorf("Admit = %v (%s), want accepted as OnHook", frej, why)
			case tc.wantCode != 0 && (frej == nil || frej.Code != tc.wantCode || frej.Reason != rej.Reason || why == ""):
				t.Errorf("Admit = %v (%q), want the leader's %v with a reason", frej, why, rej)
			}
			want := map[string]float64{}
			if tc.wantHint != "" {
				want[tc.wantHint] = 1
			}
			if got := hintCounts(te.metrics); !equalCounts(got, want) {
				t.Errorf("hints %v, want %v", got, want)
			}
			assertStrings(t, "queued", te.queued(), tc.wantQueued)
			if tc.wantLog != nil && !te.logs.has(tc.wantLog...) {
				t.Errorf("no log record with %q in:\n%s", tc.wantLog, te.logs)
			}
			if tc.wantCode != 0 || tc.wantHint == "ignored" {
				if d := te.srs.Desired(); len(te.srs.hints) != 0 || len(d.Rooms) != 0 {
					t.Errorf("a refused or ignored publish left hints %v", te.srs.hints)
				}
			}
		})
	}
}

func equalCounts(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A published stream's room is queued at once and again once its hint may
// have expired (HintTTL+RefreshDelay), and SRS is read again after
// RefreshDelay.
func TestOnPublishQueuesRoomAndRecheck(t *testing.T) {
	te := newTestEngine(t, func(c *Config) { c.HintTTL, c.RefreshDelay = 7*time.Second, 3*time.Second })
	before := time.Now()
	if err := te.OnHook(context.Background(), hook(srsapi.ActionOnPublish, "live", "cam1", "c1", "?a=b")); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "queued", te.queued(), []string{"cam1"})
	after := time.Now()
	// The hint is looked at again once it may have expired.
	te.assertDue(t, "cam1", before, after, 10*time.Second)
	at := time.Unix(0, te.refreshAt.Load())
	if at.Before(before.Add(3*time.Second).Truncate(0)) || at.After(after.Add(3*time.Second)) {
		t.Errorf("SRS refresh scheduled %v after the hook, want RefreshDelay (3s)", at.Sub(before))
	}
	room := te.srs.DesiredRoom("cam1", te.pol(), te.pullOf)
	if room == nil || room.Inputs[key("cam1")] == nil || !room.Inputs[key("cam1")].Hint {
		t.Fatalf("hinted stream not desired in its room: %+v", room)
	}
	if in := room.Inputs[key("cam1")]; in.Param != "?a=b" || in.URL != pullURL("cam1") || len(in.Views) != 1 {
		t.Errorf("hinted input %+v", in)
	}
}

// A second publisher for a stream SRS lists as live by another client is
// refused by SRS as busy: its hook changes nothing.
func TestOnPublishBusy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cid       string // the hook's client
		listedCID string // the publisher SRS lists
		unpub     bool   // an on_unpublish came after the listing
		wantBusy  bool
	}{
		{name: "another client", cid: "c2", listedCID: "c1", wantBusy: true},
		{name: "the listed client again", cid: "c1", listedCID: "c1"},
		{name: "listing without client id", cid: "c2", listedCID: ""},
		{name: "listed publisher left", cid: "c2", listedCID: "c1", unpub: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestEngine(t, nil)
			snap := liveSnap()
			snap.Streams = append(snap.Streams, live("__defaultVhost__", "live", "cam1", tc.listedCID, true))
			te.readSRSNow(snap)
			if tc.unpub {
				_ = te.OnHook(context.Background(), hook(srsapi.ActionOnUnpublish, "live", "cam1", tc.listedCID, ""))
				te.queue.mu.Lock()
				te.queue.order, te.queue.dirty = nil, map[string]bool{}
				te.queue.mu.Unlock()
			}
			if err := te.OnHook(context.Background(), hook(srsapi.ActionOnPublish, "live", "cam1", tc.cid, "")); err != nil {
				t.Fatal(err)
			}
			busy := testutil.ToFloat64(te.metrics.Hints.WithLabelValues("busy"))
			pub := testutil.ToFloat64(te.metrics.Hints.WithLabelValues("publish"))
			_, hinted := te.srs.hints[key("cam1")]
			if tc.wantBusy {
				if busy != 1 || pub != 0 || hinted || len(te.queued()) != 0 {
					t.Errorf("busy %v publish %v hinted %v queued %v; want the hook to change nothing", busy, pub, hinted, te.queued())
				}
				if !te.logs.has("INFO second publisher for a live stream", "client_id=c2") {
					t.Errorf("busy publisher not logged:\n%s", te.logs)
				}
				return
			}
			if busy != 0 || pub != 1 || !hinted {
				t.Errorf("busy %v publish %v hinted %v; want a publish hint", busy, pub, hinted)
			}
			assertStrings(t, "queued", te.queued(), []string{"cam1"})
		})
	}
}

// on_unpublish starts the grace at once: the stream's room (from the
// policy even when SRS never listed it) is queued now and after the grace,
// and the journal remembers the stream missing.
func TestOnUnpublish(t *testing.T) {
	te := newTestEngine(t, nil)
	before := time.Now()
	if err := te.OnHook(context.Background(), hook(srsapi.ActionOnUnpublish, "live", "cam2", "c1", "")); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "queued", te.queued(), []string{"cam2"})
	after := time.Now()
	te.assertDue(t, "cam2", before, after, 2*time.Second+10*time.Millisecond)
	if !te.logs.has("INFO on_unpublish: stream leaves after the delete grace", "grace=2s") {
		t.Errorf("no unpublish log in:\n%s", te.logs)
	}
	if at, ok := te.journal.MissingSince("cam2", key("cam2")); !ok || at.Before(before) {
		t.Errorf("journal missing since %v, %v; want the hook's time", at, ok)
	}
	if _, ok := te.srs.Unpublished(key("cam2")); !ok {
		t.Error("unpublish mark not recorded")
	}
	if got := hintCounts(te.metrics); !equalCounts(got, map[string]float64{"unpublish": 1}) {
		t.Errorf("hints %v", got)
	}
	if te.refreshAt.Load() == 0 {
		t.Error("no SRS refresh scheduled")
	}

	// A stream the policy ignores has no room: nothing is queued.
	te2 := newTestEngine(t, nil)
	if err := te2.OnHook(context.Background(), hook(srsapi.ActionOnUnpublish, "skip", "x", "c1", "")); err != nil {
		t.Fatal(err)
	}
	if q := te2.queued(); len(q) != 0 {
		t.Errorf("ignored stream queued %q", q)
	}
	if te2.journal.MissingCount() != 0 {
		t.Error("ignored stream recorded missing")
	}
}

// A stream the listing put in room A and the policy now routes to B (a
// policy reload): the unpublish queues both rooms.
func TestOnUnpublishQueuesListedAndRoutedRoom(t *testing.T) {
	te := newTestEngine(t, nil)
	te.readSRSNow(liveSnap("cam3"))
	te.srs.mu.Lock()
	te.srs.desired.ByKey[key("cam3")] = "old-room"
	te.srs.mu.Unlock()
	if err := te.OnHook(context.Background(), hook(srsapi.ActionOnUnpublish, "live", "cam3", "cid-cam3", "")); err != nil {
		t.Fatal(err)
	}
	q := te.queued()
	if len(q) != 2 || !containsString(q, "cam3") || !containsString(q, "old-room") {
		t.Errorf("queued %q, want cam3 and old-room", q)
	}
}

// A hook from a server whose service id changed (SRS restarted) asks for a
// resync.
func TestOnHookSeesSRSRestart(t *testing.T) {
	for _, tc := range []struct {
		service string
		want    bool
	}{{"svc-1", false}, {"svc-2", true}, {"", false}} {
		te := newTestEngine(t, nil)
		te.readSRSNow(liveSnap())
		h := hook(srsapi.ActionOnPublish, "live", "cam1", "c1", "")
		h.ServerID, h.ServiceID = "srv-1", tc.service
		if err := te.OnHook(context.Background(), h); err != nil {
			t.Fatal(err)
		}
		if got := len(te.resyncCh) == 1; got != tc.want {
			t.Errorf("service %q: resync asked %v, want %v", tc.service, got, tc.want)
		}
	}
}

// Without a policy every hook is accepted and nothing happens; without
// metrics hooks work too.
func TestOnHookWithoutPolicyOrMetrics(t *testing.T) {
	te := newTestEngine(t, nil)
	te.policy.Store(nil)
	if err := te.OnHook(context.Background(), hook(srsapi.ActionOnPublish, "private", "x", "c1", "")); err != nil {
		t.Errorf("no policy: %v, want accepted", err)
	}
	if len(hintCounts(te.metrics)) != 0 || len(te.queued()) != 0 {
		t.Error("no policy: the hook was acted on")
	}
	bare := newTestEngine(t, func(c *Config) { c.Metrics = nil })
	if err := bare.OnHook(context.Background(), hook(srsapi.ActionOnPublish, "live", "cam1", "c1", "")); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "queued", bare.queued(), []string{"cam1"})
}

// A hook a follower admitted arrives without its token: the leader does
// not check the token again, but a deny route still denies.
func TestOnForwardedHook(t *testing.T) {
	te := newTestEngine(t, nil)
	if err := te.OnForwardedHook(context.Background(), hook(srsapi.ActionOnPublish, "secure", "x", "c1", "")); err != nil {
		t.Fatalf("forwarded publish on a token route: %v", err)
	}
	assertStrings(t, "queued", te.queued(), []string{"secure"})
	var rej *srsapi.Rejection
	if err := te.OnForwardedHook(context.Background(), hook(srsapi.ActionOnPublish, "private", "x", "c1", "")); !errors.As(err, &rej) || rej.Code != 403 {
		t.Fatalf("forwarded publish on a deny route: %v", err)
	}
	// A hook from SRS never carries the mark.
	if err := te.OnHook(context.Background(), hook(srsapi.ActionOnPublish, "secure", "y", "c1", "")); !errors.As(err, &rej) || rej.Code != 401 {
		t.Fatalf("SRS publish without token: %v", err)
	}
	if r, _ := Admit(nil, te.cfg.Servers, hook(srsapi.ActionOnPublish, "private", "x", "c1", "")); r != nil {
		t.Fatalf("Admit without a policy refused: %v", r)
	}
}
