package owtfake

import (
	"reflect"
	"testing"
)

func TestParticipants(t *testing.T) {
	e := newEnv(t, Options{})
	room := e.createRoom(`{"name":"a"}`)
	e.expect(e.do("GET", "/v1/rooms/"+room+"/participants", ""), 200, "[]")
	e.expect(e.do("GET", "/v1/rooms/5f1c00000000000000000001/participants", ""), 404, roomNotFound)
	e.expect(e.do("GET", "/v1/rooms/"+room+"/participants/nobody", ""), 404, `{"error":{"code":1005,"message":"Participant not found"}}`)
	if err := e.fake.AddParticipant("5f1c00000000000000000001", Participant{ID: "x"}); err == nil {
		t.Fatalf("participant added to a missing room")
	}
	cases := []struct {
		p    Participant
		want string
	}{
		{Participant{ID: "p1", Role: "presenter", User: "alice"},
			`{"id":"p1","role":"presenter","user":"alice","permission":{"publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true}}}`},
		{Participant{ID: "p2", Role: "viewer", User: "bob"},
			`{"id":"p2","role":"viewer","user":"bob","permission":{"publish":false,"subscribe":{"audio":true,"video":true}}}`},
		{Participant{ID: "p3", Role: "unknown-role", User: "eve"},
			`{"id":"p3","role":"unknown-role","user":"eve","permission":{"publish":false,"subscribe":false}}`},
	}
	for _, c := range cases {
		if err := e.fake.AddParticipant(room, c.p); err != nil {
			t.Fatal(err)
		}
		r := e.do("GET", "/v1/rooms/"+room+"/participants/"+c.p.ID, "")
		if r.status != 200 {
			t.Fatalf("get %s: %d %s", c.p.ID, r.status, r.body)
		}
		jsonEqual(t, string(r.body), c.want)
	}
	var list []map[string]any
	e.decode(e.do("GET", "/v1/rooms/"+room+"/participants", ""), &list)
	if got := ids(list); !reflect.DeepEqual(got, []string{"p1", "p2", "p3"}) {
		t.Fatalf("list %v", got)
	}
	// A participant makes the room active: its mixed streams are listed.
	if got := ids(e.listStreams(room)); !reflect.DeepEqual(got, []string{room + "-common"}) {
		t.Fatalf("streams of a room with participants: %v", got)
	}
	e.expect(e.do("DELETE", "/v1/rooms/"+room+"/participants/p2", ""), 200, "")
	if err := e.fake.RemoveParticipant(room, "p3"); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.RemoveParticipant(room, "p3"); err == nil {
		t.Fatalf("second removal succeeded")
	}
	e.decode(e.do("GET", "/v1/rooms/"+room+"/participants", ""), &list)
	if got := ids(list); !reflect.DeepEqual(got, []string{"p1"}) {
		t.Fatalf("list after removals %v", got)
	}
}

func TestForeignStream(t *testing.T) {
	e := newEnv(t, Options{})
	room := e.createRoom(`{"name":"a"}`)
	if id := e.fake.AddForeignStream("5f1c00000000000000000001", nil); id != "" {
		t.Fatalf("stream %s added to a missing room", id)
	}
	id := e.fake.AddForeignStream(room, map[string]any{"owner": "user-7", "type": "webrtc", "attributes": map[string]any{"k": "v"}})
	var st map[string]any
	e.decode(e.do("GET", "/v1/rooms/"+room+"/streams/"+id, ""), &st)
	info := st["info"].(map[string]any)
	if info["owner"] != "user-7" || info["type"] != "webrtc" || !reflect.DeepEqual(info["attributes"], map[string]any{"k": "v"}) {
		t.Fatalf("info %v", info)
	}
	if n := len(e.fake.Dump().Created); n != 0 {
		t.Fatalf("foreign stream recorded as a streaming-in creation")
	}
}
