package owtfake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLatency(t *testing.T) {
	cases := []struct {
		name            string
		latency, jitter time.Duration
		min             time.Duration
	}{
		// Large enough that an undelayed control call on a loaded machine
		// with -race stays well below them (30 ms failed in a CI run: 37 ms).
		{"fixed", 600 * time.Millisecond, 0, 600 * time.Millisecond},
		{"fixed plus jitter", 400 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.fake.SetLatency(c.latency)
			e.fake.SetLatencyJitter(c.jitter)
			start := time.Now()
			e.expect(e.do("GET", "/v1/rooms", ""), 200, "[]")
			if took := time.Since(start); took < c.min {
				t.Fatalf("call took %v, want at least %v", took, c.min)
			}
			start = time.Now()
			e.expect(e.raw("GET", "/control/counts", "", ""), 200, `{"list_rooms":1}`)
			if took := time.Since(start); took >= c.min {
				t.Fatalf("control API delayed by %v", took)
			}
		})
	}
}

func TestErrorRate(t *testing.T) {
	cases := []struct {
		name        string
		route       string
		listFails   bool
		createFails bool
	}{
		{"all routes", "", true, true},
		{"create only", RouteCreateRoom, false, true},
		{"list only", RouteListRooms, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.fake.SetErrorRate(c.route, 1.0)
			for _, req := range []struct {
				method, path, body string
				fails              bool
			}{
				{"GET", "/v1/rooms", "", c.listFails},
				{"POST", "/v1/rooms", `{"name":"x"}`, c.createFails},
			} {
				r := e.do(req.method, req.path, req.body)
				if failed := r.status == 500 && string(r.body) == opFailedBody; failed != req.fails {
					t.Errorf("%s %s: %d %s, want failure %v", req.method, req.path, r.status, r.body, req.fails)
				}
			}
			if wantRooms := map[bool]int{true: 0, false: 1}[c.createFails]; len(e.fake.Dump().Rooms) != wantRooms {
				t.Fatalf("rooms %d, want %d (an injected error changes nothing)", len(e.fake.Dump().Rooms), wantRooms)
			}
			e.fake.SetErrorRate(c.route, 0)
			e.expect(e.do("POST", "/v1/rooms/"+strings.Repeat("0", 24)+"/streaming-ins", goodIn), 404, roomNotFound)
		})
	}
}

func TestErrorRateIsProbabilistic(t *testing.T) {
	e := newEnv(t, Options{Seed: 7})
	e.fake.SetErrorRate("", 0.5)
	failed := 0
	for i := 0; i < 200; i++ {
		if e.do("GET", "/v1/rooms", "").status == 500 {
			failed++
		}
	}
	if failed < 50 || failed > 150 {
		t.Fatalf("%d of 200 calls failed at rate 0.5", failed)
	}
}

func TestDropRate(t *testing.T) {
	e := newEnv(t, Options{})
	e.fake.SetDropRate(RouteCreateRoom, 1)
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/rooms", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth())
	resp, err := e.srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped call answered %d", resp.StatusCode)
	}
	if len(e.fake.Dump().Rooms) != 0 {
		t.Fatalf("dropped call created a room")
	}
	e.expect(e.do("GET", "/v1/rooms", ""), 200, "[]")
	if got := e.fake.Counts()[RouteCreateRoom]; got != 1 {
		t.Fatalf("create_room count %d, want 1", got)
	}
}

func TestStreamingInDelayHidesStream(t *testing.T) {
	e := newEnv(t, Options{})
	room := e.createRoom(`{"name":"a"}`)
	e.fake.SetStreamingInDelay(300 * time.Millisecond)
	var wg sync.WaitGroup
	var posted map[string]any
	wg.Add(1)
	go func() {
		defer wg.Done()
		posted = e.startIn(room, goodIn)
	}()
	deadline := time.Now().Add(2 * time.Second)
	for {
		st := e.fake.Dump()
		if len(st.Rooms[0].Streams) == 1 {
			if !st.Rooms[0].Streams[0].Connecting {
				t.Fatalf("stream not connecting during the delay")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream never created")
		}
		time.Sleep(5 * time.Millisecond)
	}
	list := ids(e.listStreams(room))
	if len(list) != 1 || list[0] != room+"-common" {
		t.Fatalf("connecting stream listed: %v", list)
	}
	wg.Wait()
	if got := ids(e.listStreams(room)); len(got) != 2 || got[1] != posted["id"] {
		t.Fatalf("after POST returned: %v, posted %v", got, posted["id"])
	}
}

func TestStreamingInCancelledClientStillCreates(t *testing.T) {
	e := newEnv(t, Options{})
	room := e.createRoom(`{"name":"a"}`)
	e.fake.SetStreamingInDelay(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/v1/rooms/"+room+"/streaming-ins", strings.NewReader(goodIn))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth())
	resp, err := e.srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST answered %d before the delay", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("POST error %v, want deadline exceeded", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(e.listStreams(room)) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("stream of the abandoned POST never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := e.fake.Dump().Created; len(c) != 1 || c[0].URL != "rtmp://127.0.0.1/live/a" {
		t.Fatalf("created records %v", c)
	}
}

func TestUnreachable(t *testing.T) {
	e := newEnv(t, Options{})
	room := e.createRoom(`{"name":"a"}`)
	if err := e.fake.SetUnreachable("("); err == nil {
		t.Fatalf("invalid pattern accepted")
	}
	cases := []struct {
		pattern, url string
		ok           bool
	}{
		{"", "rtmp://h/x", true},
		{"/live/bad", "rtmp://h/live/bad", false},
		{"/live/bad", "rtmp://h/live/good", true},
		{".", "rtmp://h/anything", false},
	}
	for _, c := range cases {
		if err := e.fake.SetUnreachable(c.pattern); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/v1/rooms/"+room+"/streaming-ins", `{"connection":{"url":"`+c.url+`"},"media":{"audio":"auto","video":"auto"}}`)
		if (r.status == 200) != c.ok {
			t.Errorf("pattern %q url %q: %d %s", c.pattern, c.url, r.status, r.body)
		}
	}
	if n := len(e.fake.Dump().Created); n != 2 {
		t.Fatalf("%d creations, want 2", n)
	}
}

func TestWipeKeepsHistory(t *testing.T) {
	e := newEnv(t, Options{})
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, `{"connection":{"url":"rtmp://h/a"},"media":{"audio":"auto","video":"auto"},"attributes":{"owner":"agent"}}`)["id"].(string)
	e.fake.Wipe()
	e.expect(e.do("GET", "/v1/rooms", ""), 200, "[]")
	e.expect(e.do("GET", "/v1/rooms/"+room+"/streams", ""), 404, roomNotFound)
	st := e.fake.Dump()
	if len(st.Rooms) != 0 || len(st.Created) != 1 || st.Created[0].Stream != sid || st.Created[0].Room != room {
		t.Fatalf("after wipe: %+v", st)
	}
	if attrs, _ := st.Created[0].Attributes.(map[string]any); attrs["owner"] != "agent" {
		t.Fatalf("attributes %v", st.Created[0].Attributes)
	}
	reasons := map[string]string{}
	for _, d := range st.Deleted {
		reasons[d.Kind] = d.Reason
	}
	if reasons["room"] != ReasonWipe || reasons["stream"] != ReasonWipe {
		t.Fatalf("deleted records %v", st.Deleted)
	}
	e.createRoom(`{"name":"again"}`)
}

func TestCounts(t *testing.T) {
	e := newEnv(t, Options{})
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	e.do("GET", "/v1/rooms", "")
	e.raw("GET", "/v1/rooms", "", "")
	e.do("GET", "/v1/rooms/"+room+"/streams", "")
	e.do("PATCH", "/v1/rooms/"+room+"/streams/"+sid, "[]")
	e.do("DELETE", "/v1/rooms/"+room+"/streaming-ins/"+sid, "")
	e.do("DELETE", "/v1/rooms/"+room+"/streams/"+sid, "")
	e.do("GET", "/v1/rooms/"+room+"/participants", "")
	e.do("DELETE", "/v1/rooms/"+room, "")
	want := map[string]int{RouteCreateRoom: 1, RouteStartStreamingIn: 1, RouteListRooms: 2, RouteListStreams: 1,
		RoutePatchStream: 1, RouteStopStreamingIn: 2, RouteListParticipants: 1, RouteDeleteRoom: 1}
	got := e.fake.Counts()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("count %s = %d, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	e.fake.ResetCounts()
	if got := e.fake.Counts(); len(got) != 0 {
		t.Fatalf("after reset: %v", got)
	}
}

func TestCreateRoomReplyDelay(t *testing.T) {
	e := newEnv(t, Options{})
	e.fake.SetCreateRoomReplyDelay(300 * time.Millisecond)
	done := make(chan response, 1)
	start := time.Now()
	go func() { done <- e.do("POST", "/v1/rooms", `{"name":"slow"}`) }()
	deadline := time.Now().Add(2 * time.Second)
	for {
		var list []map[string]any
		e.decode(e.do("GET", "/v1/rooms", ""), &list)
		if len(list) == 1 {
			if list[0]["name"] != "slow" {
				t.Fatalf("listed %v", list)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("room not listed while its reply is delayed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("POST answered before the delay")
	default:
	}
	r := <-done
	if took := time.Since(start); took < 300*time.Millisecond || r.status != 200 {
		t.Fatalf("POST answered %d after %v", r.status, took)
	}
	var room map[string]any
	e.decode(r, &room)
	if st := e.fake.Dump(); len(st.RoomsCreated) != 1 || st.RoomsCreated[0].Room != room["id"] || st.RoomsCreated[0].Via != ViaAPI {
		t.Fatalf("rooms_created %+v, answered %v", st.RoomsCreated, room["id"])
	}

	// A client that gives up still leaves the room behind.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/v1/rooms", strings.NewReader(`{"name":"abandoned"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth())
	if resp, err := e.srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("POST answered %d before the delay", resp.StatusCode)
	}
	if st := e.fake.Dump(); len(st.Rooms) != 2 || len(st.RoomsCreated) != 2 {
		t.Fatalf("abandoned create: rooms %d, records %d", len(st.Rooms), len(st.RoomsCreated))
	}
	e.fake.SetCreateRoomReplyDelay(0)
	start = time.Now()
	e.createRoom(`{"name":"fast"}`)
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Fatalf("delay 0 still delays: %v", took)
	}
}

func TestModifyHistory(t *testing.T) {
	e := newEnv(t, Options{})
	room := e.createRoom(`{"name":"a"}`)
	other := e.fake.CreateRoomDirect(testService, "b", nil)
	sid := e.startIn(room, goodIn)["id"].(string)
	if r := e.do("PATCH", "/v1/rooms/"+room+"/streams/"+sid, `[{"op":"remove","path":"/info/inViews","value":"common"}]`); r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	e.do("PATCH", "/v1/rooms/"+room+"/streams/nope", `[{"op":"add","path":"/info/inViews","value":"common"}]`)
	e.do("PUT", "/v1/rooms/"+room, `{"inputLimit":3}`)
	st := e.fake.Dump()
	want := []ModifyRecord{{Kind: "stream", Room: room, Stream: sid, URL: "rtmp://127.0.0.1/live/a", Op: "patch"}, {Kind: "room", Room: room, Op: "update"}}
	if len(st.Modified) != len(want) {
		t.Fatalf("modified %+v, want %+v", st.Modified, want)
	}
	for i, w := range want {
		got := st.Modified[i]
		got.Time = time.Time{}
		if got != w {
			t.Errorf("modified[%d] = %+v, want %+v", i, got, w)
		}
	}
	if len(st.RoomsCreated) != 2 || st.RoomsCreated[1].Room != other || st.RoomsCreated[1].Via != ViaControl || st.RoomsCreated[1].Name != "b" {
		t.Fatalf("rooms_created %+v", st.RoomsCreated)
	}
}
