package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

func TestFakesChildServesAndCounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// No hook server: silent publishes only.
	f, err := startFakes(ctx, "http://127.0.0.1:1/api/v1/streams")
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	for _, u := range []string{f.OWTURL, f.SRSURL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("fake URL %q, want http://127.0.0.1:<port>", u)
		}
	}
	if err := f.publishMany(ctx, "t", 3, 4, 5, true); err != nil {
		t.Fatal(err)
	}
	if err := f.createRoom(ctx, "lobby", []string{view}); err != nil {
		t.Fatal(err)
	}
	st, err := f.dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Rooms) != 1 || st.Rooms[0].Name != "lobby" {
		t.Fatalf("OWT rooms = %+v, want only lobby", st.Rooms)
	}
	// Agent-like calls: two SRS reads and one OWT list (answered 401 without auth).
	for _, u := range []string{f.SRSURL + "/api/v1/streams/", f.SRSURL + "/api/v1/vhosts/", f.OWTURL + "/v1/rooms"} {
		var out any
		_ = f.call(ctx, "GET", u, "", nil, &out)
	}
	before := time.Now().UnixNano()
	a, err := f.activity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want int64
	}{
		{"srs reads", a.SRSReads, 2},
		{"owt list_rooms", int64(a.OWT[owtfake.RouteListRooms]), 1},
		{"in flight", a.InFlight, 0},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if a.LastCall == 0 || a.LastCall > before {
		t.Errorf("last call %d, want a time before %d", a.LastCall, before)
	}
	id, err := f.srsIdentity(ctx)
	if err != nil || id.ServerID == "" || id.ServiceID == "" {
		t.Errorf("SRS identity = %+v, %v; want server and service ids", id, err)
	}
	if err := f.resetCounts(ctx); err != nil {
		t.Fatal(err)
	}
	if a, err = f.activity(ctx); err != nil || a.SRSReads != 0 || len(a.OWT) != 0 || a.LastCall != 0 {
		t.Errorf("after reset: %+v, %v; want nothing counted", a, err)
	}
	f.close()
	if f.cmd.ProcessState == nil || !f.cmd.ProcessState.Success() {
		t.Errorf("child did not exit cleanly on close: %v", f.cmd.ProcessState)
	}
	if _, err := f.activity(ctx); err == nil {
		t.Error("activity answered after close; the child still runs")
	}
}

func TestFakesChildDiesWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f, err := startFakes(ctx, "http://127.0.0.1:1/api/v1/streams")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer f.close()
	cancel()
	select {
	case <-f.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("child still runs 10s after its context ended")
	}
	if f.cmd.ProcessState.Success() {
		t.Errorf("child state %v, want killed", f.cmd.ProcessState)
	}
}
