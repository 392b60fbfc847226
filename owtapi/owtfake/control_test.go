package owtfake

import (
	"encoding/json"
	"testing"
	"time"
)

func TestControlAPI(t *testing.T) {
	e := newEnv(t, Options{})
	var created struct{ ID string }
	r := e.raw("POST", "/control/room", `{"service":"`+testService+`","name":"ext","views":["a","b"]}`, "")
	e.decode(r, &created)
	if !isObjectID(created.ID) {
		t.Fatalf("control room id %q", created.ID)
	}
	var room map[string]any
	e.decode(e.do("GET", "/v1/rooms/"+created.ID, ""), &room)
	if room["name"] != "ext" || len(room["views"].([]any)) != 2 {
		t.Fatalf("room %v", room)
	}
	e.decode(e.raw("POST", "/control/room", `{"name":"noviews","views":[]}`, ""), &created)
	e.decode(e.do("GET", "/v1/rooms/"+created.ID, ""), &room)
	if len(room["views"].([]any)) != 0 {
		t.Fatalf("views [] not kept: %v", room["views"])
	}
	noViews := created.ID

	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		{"participant", "POST", "/control/participant", `{"room":"` + noViews + `","id":"p1","role":"presenter","user":"u"}`, 200},
		{"participant missing room", "POST", "/control/participant", `{"room":"x","id":"p1"}`, 404},
		{"participant remove", "DELETE", "/control/participant", `{"room":"` + noViews + `","id":"p1"}`, 200},
		{"room unknown service", "POST", "/control/room", `{"service":"5f1c00000000000000000009","name":"x"}`, 400},
		{"room without name", "POST", "/control/room", `{}`, 400},
		{"fault", "POST", "/control/fault", `{"latency_ms":5,"jitter_ms":1,"error_rate":{"get_room":0.5},"drop_rate":{"":0.25},"streaming_in_delay_ms":20,"create_room_reply_delay_ms":30,"unreachable":"bad"}`, 200},
		{"fault bad regexp", "POST", "/control/fault", `{"unreachable":"("}`, 400},
		{"fault bad json", "POST", "/control/fault", `{`, 400},
		{"drop missing", "POST", "/control/drop-stream", `{"room":"x","stream":"y"}`, 404},
		{"unknown", "GET", "/control/nope", ``, 404},
	}
	for _, c := range cases {
		if got := e.raw(c.method, c.path, c.body, ""); got.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, got.status, got.body, c.status)
		}
	}
	var faults faultSettings
	e.decode(e.raw("GET", "/control/fault", "", ""), &faults)
	if *faults.LatencyMS != 5 || *faults.JitterMS != 1 || faults.ErrorRate["get_room"] != 0.5 || faults.DropRate[""] != 0.25 ||
		*faults.StreamingInDelayMS != 20 || *faults.CreateRoomReplyMS != 30 || *faults.Unreachable != "bad" {
		t.Fatalf("faults %+v", faults)
	}
	var after faultSettings
	e.decode(e.raw("POST", "/control/fault", `{"latency_ms":0,"drop_rate":{"":0},"streaming_in_delay_ms":0}`, ""), &after)
	if *after.LatencyMS != 0 || len(after.DropRate) != 0 || *after.Unreachable != "bad" || after.ErrorRate["get_room"] != 0.5 || *after.CreateRoomReplyMS != 30 {
		t.Fatalf("partial update changed other knobs: %+v", after)
	}

	var stream map[string]any
	e.decode(e.raw("POST", "/control/foreign-stream", `{"room":"`+noViews+`","info":{"owner":"u9"}}`, ""), &stream)
	sid, _ := stream["id"].(string)
	e.expect(e.raw("POST", "/control/drop-stream", `{"room":"`+noViews+`","stream":"`+sid+`"}`, ""), 200, `{"ok":true}`)

	var st State
	e.decode(e.raw("GET", "/control/state", "", ""), &st)
	if len(st.Rooms) != 2 || st.Deleted[0].Reason != ReasonSourceLost || st.Deleted[0].Stream != sid {
		t.Fatalf("state %+v", st)
	}
	var counts map[string]int
	e.decode(e.raw("GET", "/control/counts", "", ""), &counts)
	if counts[RouteGetRoom] != 2 {
		t.Fatalf("counts %v", counts)
	}
	e.expect(e.raw("POST", "/control/reset-counts", "", ""), 200, `{"ok":true}`)
	e.expect(e.raw("GET", "/control/counts", "", ""), 200, `{}`)
	e.expect(e.raw("POST", "/control/wipe", "", ""), 200, `{"ok":true}`)
	e.decode(e.raw("GET", "/control/state", "", ""), &st)
	if len(st.Rooms) != 0 {
		t.Fatalf("rooms after wipe: %d", len(st.Rooms))
	}
	raw, _ := json.Marshal(st)
	if len(raw) == 0 || st.Deleted[len(st.Deleted)-1].Time.After(time.Now()) {
		t.Fatalf("bad deletion time")
	}
}
