package reconcile

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// The attributes carry the kept query under "query" (left out when empty)
// and never the stored query: a start_input sends AttrParam to OWT, and
// records Param in the journal in the same write as its intent.
func TestStartInputKeepsTheQueryOutOfOWT(t *testing.T) {
	r := newApplyRig(t)
	r.journal.SetRoom("r", "1", t0())
	var sent owtapi.StreamingInRequest
	r.owt.start = func(_ string, req owtapi.StreamingInRequest) (owtapi.Stream, error) {
		sent = req
		if q, ok := r.journal.Query(key("cam")); !ok || q != "?tier=gold" {
			t.Errorf("query not recorded before the POST: %q %v", q, ok)
		}
		if !strings.Contains(string(memData(r.mem)), "tier=gold") {
			t.Errorf("query not durable before the POST:\n%s", memData(r.mem))
		}
		return owtapi.Stream{ID: "new", Info: owtapi.StreamInfo{InViews: []string{}}}, nil
	}
	op := startOp("cam", false)
	op.input.Param, op.input.AttrParam = "?tier=gold", "?layout=wall"
	if res := r.apply(roomObs(), op); res[0].Outcome != "ok" {
		t.Fatalf("%+v", res)
	}
	b, _ := json.Marshal(sent.Attributes)
	if !strings.Contains(string(b), `"query":"?layout=wall"`) || strings.Contains(string(b), "tier") || strings.Contains(string(b), `"param"`) {
		t.Errorf("attributes %s", b)
	}
	op = startOp("cam2", false)
	op.input.Param = "?tier=x"
	r.apply(roomObs(), op)
	b, _ = json.Marshal(sent.Attributes)
	if strings.Contains(string(b), "query") || strings.Contains(string(b), "tier") {
		t.Errorf("attributes with nothing kept: %s", b)
	}
}

// Attributes written before issue 9 (the whole query under "param") are
// recognised as the agent's, flagged Legacy, and their query is not
// returned as the kept one.
func TestLegacyAttributes(t *testing.T) {
	legacy := map[string]any{attrRoot: map[string]any{"agent": "agent", "stream": key("cam").String(), "param": "?token=SECRET&tier=gold", "url": "u", "op": "o"}}
	fresh := Attributes("agent", key("cam"), "?layout=wall", "u", "o")
	raw := func(v map[string]any) []byte { b, _ := json.Marshal(v); return b }
	for name, parse := range map[string]func(map[string]any) (Ownership, bool){
		"decoded": ParseAttributes,
		"raw":     func(v map[string]any) (Ownership, bool) { return ParseRawAttributes(raw(v)) },
	} {
		own, ok := parse(legacy)
		if !ok || !own.Legacy || own.Param != "" || own.legacy != "?token=SECRET&tier=gold" || own.Key != key("cam") {
			t.Errorf("%s legacy: %+v %v", name, own, ok)
		}
		own, ok = parse(fresh)
		if !ok || own.Legacy || own.Param != "?layout=wall" {
			t.Errorf("%s fresh: %+v %v", name, own, ok)
		}
	}
	inputs, _ := ObserveStreams("agent", []owtapi.Stream{{ID: "s1", Type: "forward", Info: owtapi.StreamInfo{Attributes: legacy}}})
	if len(inputs) != 1 || !inputs[0].Legacy || inputs[0].Param != "" || inputs[0].legacyParam == "" {
		t.Fatalf("observed %+v", inputs)
	}
	// The engine logs each legacy input once, without its query, and
	// learns only what the policy keeps of it.
	te := newTestEngine(t, nil)
	te.learnParams(inputs)
	te.learnParams(inputs)
	n := 0
	for _, rec := range te.logs.recs {
		if strings.Contains(rec, "older srs-owt-proxy") {
			n++
		}
		if strings.Contains(rec, "SECRET") {
			t.Errorf("query logged: %s", rec)
		}
	}
	if n != 1 {
		t.Errorf("legacy input logged %d times, want once", n)
	}
	te.srs.mu.Lock()
	got := te.srs.keyParam[key("cam")]
	te.srs.mu.Unlock()
	if got != "?tier=gold" {
		t.Errorf("learned %q from a legacy attribute, want what the policy keeps (?tier=gold)", got)
	}
}

// The journal keeps stored queries across a reopen, and forgets those of
// streams with neither an input nor an open intent.
func TestJournalQueries(t *testing.T) {
	ctx := context.Background()
	mem := &store.Memory{}
	j, err := OpenJournal(ctx, mem, "agent")
	if err != nil {
		t.Fatal(err)
	}
	j.SetQuery(key("a"), "?tier=1")
	j.SetQuery(key("b"), "?tier=2")
	j.SetQuery(key("c"), "?tier=3")
	j.SetQuery(key("c"), "?tier=3") // no change
	j.SetQuery(key("d"), "")        // nothing to forget
	if err := j.Begin(ctx, Intent{ID: "i", Kind: IntentInput, Room: "r", Stream: key("b"), At: t0()}); err != nil {
		t.Fatal(err)
	}
	j2, err := OpenJournal(ctx, mem, "agent")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"a": "?tier=1", "b": "?tier=2", "c": "?tier=3"} {
		if q, ok := j2.Query(key(k)); !ok || q != want {
			t.Errorf("reopened query of %s = %q %v", k, q, ok)
		}
	}
	j2.PruneQueries([]RoomStream{{Room: "r", Key: key("a")}})
	_, a := j2.Query(key("a"))
	_, b := j2.Query(key("b"))
	_, c := j2.Query(key("c"))
	if !a || !b || c {
		t.Errorf("after prune: a %v b %v (open intent) c %v", a, b, c)
	}
	j2.SetQuery(key("a"), "")
	if _, ok := j2.Query(key("a")); ok {
		t.Error("empty query kept")
	}
	if err := j2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(memData(mem)), "tier=3") {
		t.Errorf("pruned query still written:\n%s", memData(mem))
	}
}

// Unroutable streams reported by hooks leave on their on_unpublish, or
// once listings stop showing them and their hook is older than the hint TTL.
func TestUnroutableSetLifetime(t *testing.T) {
	te := newTestEngine(t, nil)
	u := newUnroutableSet(te.log, NewMetrics(nil), 10e9)
	now := t0()
	u.hook(key("a"), "why", now)
	u.hook(key("b"), "why", now)
	u.hook(key("b"), "why", now) // same reason: neither logged nor counted again
	u.unpublished(key("a"))
	if got := testutil.ToFloat64(u.m.PolicyErrors); got != 1 {
		t.Errorf("unroutable_streams after an unpublish = %v, want 1", got)
	}
	u.listing(map[StreamKey]string{}, now.Add(5e9))
	if got := u.snapshot(); len(got) != 1 || got[0].Key != key("b") {
		t.Fatalf("within the TTL: %+v", got)
	}
	u.listing(map[StreamKey]string{}, now.Add(11e9))
	if got := u.snapshot(); len(got) != 0 {
		t.Errorf("after the TTL: %+v", got)
	}
	if got := testutil.ToFloat64(u.m.UnroutableTotal); got != 2 {
		t.Errorf("unroutable_total = %v, want 2", got)
	}
	if got := testutil.ToFloat64(u.m.PolicyErrors); got != 0 {
		t.Errorf("unroutable_streams = %v, want 0", got)
	}
	if n := strings.Count(strings.Join(te.logs.recs, "\n"), "kept out of OWT"); n != 2 {
		t.Errorf("logged %d times, want once per stream", n)
	}
}

// memData is what a memory store holds now.
func memData(m *store.Memory) []byte {
	b, _ := m.Load(context.Background())
	return b
}

func TestClipKey(t *testing.T) {
	k := StreamKey{Server: "o", Vhost: "v", App: "a"} // "o/v/a/" is 6 bytes
	k.Stream = strings.Repeat("s", 194)
	if clipKey(k) != k.String() {
		t.Errorf("200 bytes clipped")
	}
	k.Stream += "s"
	if got := clipKey(k); got != k.String()[:200]+"..." {
		t.Errorf("201 bytes: %q", got)
	}
	if got := clipTo(strings.Repeat("é", 200), 201); got != strings.Repeat("é", 100)+"..." {
		t.Errorf("a cut splits a character: %q", got)
	}
	if s := strings.Repeat("x", 128); clip(s) != s || clip(s+"y") != s+"..." {
		t.Errorf("clip at 128/129: %q %q", clip(s), clip(s+"y"))
	}
}
