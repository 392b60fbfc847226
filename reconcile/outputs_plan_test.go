package reconcile

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

func TestPlanOutputs(t *testing.T) {
	push := policy.Output{View: "common", URL: "rtmp://h/mix/r", Protocol: "rtmp", Audio: &policy.OutputAudio{}, Video: &policy.OutputVideo{}}
	rec := policy.Output{View: "common", Container: "mp4", Audio: &policy.OutputAudio{}, Video: &policy.OutputVideo{}}
	owned := func(id string, o policy.Output) OutputRecord {
		return OutputRecord{ID: id, Key: o.Key(), URL: o.URL, View: o.View}
	}
	type want struct {
		kind   OpKind
		id     string
		rule   string
		reason string
	}
	tests := []struct {
		name    string
		c       OutputContext
		want    []want
		retryIn time.Duration
	}{
		{"not listed plans nothing", OutputContext{Desired: []policy.Output{push}, InputInView: true}, nil, 0},
		{"start both", OutputContext{Desired: []policy.Output{push, rec, push}, InputInView: true, Observed: ObservedOutputs{Listed: true}},
			[]want{{OpStartOutput, "", "", "declared in the policy"}, {OpStartOutput, "", "", "declared in the policy"}}, 0},
		{"in sync", OutputContext{Desired: []policy.Output{push}, InputInView: true, Observed: ObservedOutputs{Listed: true, Owned: []OutputRecord{owned("1", push)}}}, nil, 0},
		{"held until an input is in view", OutputContext{Desired: []policy.Output{push}, Observed: ObservedOutputs{Listed: true}},
			[]want{{OpStartOutput, "", RuleOutputNoInput, ""}}, 0},
		{"stopped when no input is in view", OutputContext{Desired: []policy.Output{push}, Observed: ObservedOutputs{Listed: true, Owned: []OutputRecord{owned("1", push)}}},
			[]want{{OpStopOutput, "1", "", "no input of the room is in view"}}, 0},
		{"no stream routed", OutputContext{Observed: ObservedOutputs{Listed: true, Owned: []OutputRecord{owned("2", rec), owned("1", push)}}},
			[]want{{OpStopOutput, "2", "", "no stream routed to the room"}, {OpStopOutput, "1", "", "no stream routed to the room"}}, 0},
		{"no longer declared", OutputContext{Desired: []policy.Output{rec}, InputInView: true, Observed: ObservedOutputs{Listed: true, Owned: []OutputRecord{owned("1", push), owned("2", rec)}}},
			[]want{{OpStopOutput, "1", "", "no longer declared in the policy"}}, 0},
		{"settings changed", OutputContext{Desired: []policy.Output{push}, InputInView: true, Observed: ObservedOutputs{Listed: true,
			Owned: []OutputRecord{{ID: "5", Key: push.Key(), URL: push.URL, View: "common", Spec: "rtmp  audio=none video=none"}}}},
			[]want{{OpStopOutput, "5", "", settingsChanged}}, 0},
		{"same settings", OutputContext{Desired: []policy.Output{push}, InputInView: true, Observed: ObservedOutputs{Listed: true,
			Owned: []OutputRecord{{ID: "5", Key: push.Key(), URL: push.URL, View: "common", Spec: push.Spec()}}}}, nil, 0},
		{"duplicate stopped", OutputContext{Desired: []policy.Output{push}, InputInView: true, Observed: ObservedOutputs{Listed: true, Owned: []OutputRecord{owned("9", push), owned("3", push)}}},
			[]want{{OpStopOutput, "9", "", "duplicate of 3"}}, 0},
		{"backoff", OutputContext{Desired: []policy.Output{push}, InputInView: true, Observed: ObservedOutputs{Listed: true},
			Backoff: func(string) time.Duration { return 1500 * time.Millisecond }},
			[]want{{OpStartOutput, "", RuleOutputBackoff, ""}}, 1500 * time.Millisecond},
		{"pending earlier POST", OutputContext{Desired: []policy.Output{push}, InputInView: true, Observed: ObservedOutputs{Listed: true},
			Backoff: func(string) time.Duration { return time.Second }, Pending: func(k string) string { return "wait " + k }},
			[]want{{OpStartOutput, "", RuleOutputPending, ""}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ops := PlanOutputs(tc.c)
			if len(ops) != len(tc.want) {
				t.Fatalf("ops = %+v, want %d", ops, len(tc.want))
			}
			for i, w := range tc.want {
				o := ops[i]
				if o.Kind != w.kind || o.StreamID != w.id || o.Rule != w.rule || (w.reason != "" && o.Reason != w.reason) {
					t.Errorf("op %d = %s %s rule %q reason %q, want %+v", i, o.Kind, o.StreamID, o.Rule, o.Reason, w)
				}
				if w.rule != "" && o.Held == "" {
					t.Errorf("op %d held by %s without a reason", i, w.rule)
				}
				if o.RetryIn != tc.retryIn {
					t.Errorf("op %d retry in %s, want %s", i, o.RetryIn, tc.retryIn)
				}
			}
		})
	}
}

func TestObserveOutputs(t *testing.T) {
	push := policy.Output{View: "common", URL: "rtmp://h/mix/r", Protocol: "rtmp"}
	other := policy.Output{View: "side", URL: "rtmp://h/mix/side"}
	listed := []ListedOutput{
		{ID: "1", URL: "rtmp://h/mix/r", From: "R-common"},
		{ID: "2", Recording: true, From: "R-common"},
		{ID: "3", URL: "rtmp://someone/else"},
		{ID: "4", Recording: true, From: "R-common"},
	}
	records := []OutputRecord{{ID: "2", Key: "k2", View: "common"}, {ID: "7", Key: "k7", URL: "rtmp://h/mix/gone"}}
	o := ObserveOutputs(listed, records, []policy.Output{push, other})
	if !o.Listed || len(o.All) != 4 {
		t.Fatalf("observed %+v", o)
	}
	var ownedIDs []string
	for _, r := range o.Owned {
		ownedIDs = append(ownedIDs, r.ID)
	}
	if strings.Join(ownedIDs, ",") != "2,1" {
		t.Errorf("owned %v, want the recorded recording and the streaming-out with a desired URL", ownedIDs)
	}
	if o.Owned[1].Key != push.Key() || o.Owned[1].View != "common" {
		t.Errorf("adopted %+v", o.Owned[1])
	}
	if len(o.Vanished) != 1 || o.Vanished[0].ID != "7" {
		t.Errorf("vanished %+v", o.Vanished)
	}
}

func TestOutputFailuresBackoff(t *testing.T) {
	f := newOutputFailures(100*time.Millisecond, 350*time.Millisecond)
	now := time.Unix(1000, 0)
	var got []time.Duration
	for i := 0; i < 4; i++ {
		got = append(got, f.vanished("r", "k", now.Add(-time.Second), now))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 350 * time.Millisecond, 350 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	if f.failing("r", "k") != 4 || f.left("r", "k", now.Add(50*time.Millisecond)) != 300*time.Millisecond || f.left("r", "k", now.Add(time.Second)) != 0 {
		t.Errorf("failing %d left %s", f.failing("r", "k"), f.left("r", "k", now.Add(50*time.Millisecond)))
	}
	// An output that lived long enough starts the count again.
	if d := f.vanished("r", "k", now.Add(-outputStable), now); d != 100*time.Millisecond {
		t.Errorf("after a stable run: %s", d)
	}
	f.vanished("r", "k2", time.Time{}, now)
	f.vanished("r2", "k", time.Time{}, now)
	f.forgetRoom("r", map[string]bool{"k": true})
	if f.failing("r", "k2") != 0 || f.failing("r", "k") == 0 || f.failing("r2", "k") == 0 {
		t.Error("forgetRoom")
	}
}

func TestOutputRequest(t *testing.T) {
	d := policy.Output{View: "common", URL: "rtmp://h/mix/r", Protocol: "rtmp",
		Audio: &policy.OutputAudio{Codec: "aac", SampleRate: 48000, Channels: 2},
		Video: &policy.OutputVideo{Codec: "h264", Profile: "CB", Width: 320, Height: 240, Framerate: 15, KeyFrameInterval: 30, Bitrate: "x0.8"}}
	so, _ := outputRequest("R", d)
	if so.URL != d.URL || so.Protocol != "rtmp" || so.Media.Audio.From != "R-common" || so.Media.Audio.Format.SampleRate != 48000 ||
		so.Media.Video.Format.Profile != "CB" || so.Media.Video.Parameters.Resolution.Width != 320 || so.Media.Video.Parameters.Bitrate != "x0.8" {
		t.Errorf("request %+v", so)
	}
	plain, _ := outputRequest("R", policy.Output{View: "v", URL: "rtsp://h/x", Protocol: "rtsp", Audio: &policy.OutputAudio{}, Video: &policy.OutputVideo{}})
	if plain.Media.Audio.Format != nil || plain.Media.Video.Format != nil || plain.Media.Video.Parameters != nil || plain.Media.Video.From != "R-v" {
		t.Errorf("plain request %+v", plain)
	}
	// Half a resolution is never sent (OWT would refuse a 0 side); the rest of the parameters are.
	for _, v := range []policy.OutputVideo{{Width: 320, Framerate: 15}, {Height: 240, Framerate: 15}} {
		half, _ := outputRequest("R", policy.Output{View: "v", URL: "rtsp://h/x", Protocol: "rtsp", Video: &v})
		if p := half.Media.Video.Parameters; p == nil || p.Resolution != nil || p.Framerate != 15 {
			t.Errorf("%dx%d: parameters %+v", v.Width, v.Height, p)
		}
	}
	_, rec := outputRequest("R", policy.Output{View: "common", Container: "mkv", Video: &policy.OutputVideo{}})
	if rec.Container != "mkv" || rec.Media.Audio != nil || rec.Media.Video.From != "R-common" {
		t.Errorf("recording request %+v", rec)
	}
}

func TestOutputOpsRender(t *testing.T) {
	push := policy.Output{View: "common", URL: "rtmp://h/mix/live-class-1", Protocol: "rtmp"}
	p := &Plan{Rooms: []RoomPlan{{Room: "live-class-1", Ops: []Op{
		{Kind: OpStartOutput, Room: "live-class-1", Stream: push.String(), URL: push.URL, View: "common", Reason: "declared in the policy", output: push},
		{Kind: OpStopOutput, Room: "live-class-1", StreamID: "5024", URL: "rtmp://h/old", View: "common", Reason: "no longer declared in the policy"},
		{Kind: OpStopOutput, Room: "live-class-1", StreamID: "1162", View: "side", Reason: "no stream routed to the room"},
	}}}}
	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  + output rtmp://h/mix/live-class-1 from view common\n        reason: declared in the policy\n",
		"  - output rtmp://h/old from view common (5024)\n",
		"  - recording from view side (1162)\n",
		"Plan: 1 to add, 0 to change, 2 to destroy.",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text plan lacks %q:\n%s", want, b.String())
		}
	}
}
