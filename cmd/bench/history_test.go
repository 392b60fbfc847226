package main

import (
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// created is a streaming-in of the agent for SRS stream key in room.
func created(room, id, key string, s int) owtfake.CreateRecord {
	return owtfake.CreateRecord{Room: room, Stream: id, URL: "rtmp://127.0.0.1:1935/" + key,
		Attributes: map[string]any{attrRoot: map[string]any{"agent": "a", "stream": "origin/__defaultVhost__/" + key}}, Time: at(s)}
}

func deleted(room, id string, s int) owtfake.DeleteRecord {
	return owtfake.DeleteRecord{Kind: "stream", Room: room, Stream: id, Reason: owtfake.ReasonAPI, Time: at(s)}
}

func TestDuplicateStats(t *testing.T) {
	tests := []struct {
		name    string
		created []owtfake.CreateRecord
		deleted []owtfake.DeleteRecord
		want    dupStats
	}{
		{name: "none"},
		{name: "one each", created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r1", "b", "live/b", 1), created("r2", "c", "live/a", 2)}},
		{name: "recreated after the first was deleted",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r1", "b", "live/a", 3)},
			deleted: []owtfake.DeleteRecord{deleted("r1", "a", 2)}},
		{name: "deleted and recreated at the same instant",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r1", "b", "live/a", 2)},
			deleted: []owtfake.DeleteRecord{deleted("r1", "a", 2)}},
		{name: "two live at once",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r1", "b", "live/a", 2)},
			deleted: []owtfake.DeleteRecord{deleted("r1", "b", 3)},
			want:    dupStats{MaxLive: 1, Ever: 1, Streams: 1, Example: "r1 origin/__defaultVhost__/live/a"}},
		{name: "three copies of one stream at once",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r1", "b", "live/a", 2), created("r1", "c", "live/a", 3)},
			want:    dupStats{MaxLive: 2, Ever: 2, Streams: 1, Example: "r1 origin/__defaultVhost__/live/a"}},
		{name: "duplicates of two streams that never overlap",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r1", "b", "live/a", 2),
				created("r1", "c", "live/c", 4), created("r1", "d", "live/c", 5)},
			deleted: []owtfake.DeleteRecord{deleted("r1", "b", 3), deleted("r1", "d", 6)},
			want:    dupStats{MaxLive: 1, Ever: 2, Streams: 2, Example: "r1 origin/__defaultVhost__/live/a"}},
		{name: "duplicates of two streams that overlap",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r1", "b", "live/a", 2),
				created("r1", "c", "live/c", 2), created("r1", "d", "live/c", 3)},
			want: dupStats{MaxLive: 2, Ever: 2, Streams: 2, Example: "r1 origin/__defaultVhost__/live/a"}},
		{name: "same stream in two rooms is no duplicate",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r2", "b", "live/a", 2)}},
		{name: "history out of order",
			created: []owtfake.CreateRecord{created("r1", "b", "live/a", 2), created("r1", "a", "live/a", 1)},
			deleted: []owtfake.DeleteRecord{deleted("r1", "a", 3)},
			want:    dupStats{MaxLive: 1, Ever: 1, Streams: 1, Example: "r1 origin/__defaultVhost__/live/a"}},
		{name: "a stream deleted twice (room and stream) counts once",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1), created("r1", "b", "live/a", 2), created("r1", "c", "live/a", 5)},
			deleted: []owtfake.DeleteRecord{deleted("r1", "a", 3), deleted("r1", "a", 4)},
			want:    dupStats{MaxLive: 1, Ever: 2, Streams: 1, Example: "r1 origin/__defaultVhost__/live/a"}},
		{name: "deletions of unknown streams and rooms are ignored",
			created: []owtfake.CreateRecord{created("r1", "a", "live/a", 1)},
			deleted: []owtfake.DeleteRecord{deleted("r1", "zz", 0), {Kind: "room", Room: "r1", Time: at(0)}}},
		{name: "without attributes the URL is the key",
			created: []owtfake.CreateRecord{{Room: "r1", Stream: "a", URL: "rtmp://x/live/a", Time: at(1)},
				{Room: "r1", Stream: "b", URL: "rtmp://x/live/a", Time: at(2)}, {Room: "r1", Stream: "c", URL: "rtmp://x/live/c", Time: at(2)}},
			want: dupStats{MaxLive: 1, Ever: 1, Streams: 1, Example: "r1 url:rtmp://x/live/a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := duplicateStats(owtfake.State{Created: tc.created, Deleted: tc.deleted})
			if got != tc.want {
				t.Errorf("duplicateStats = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRemainingHold(t *testing.T) {
	hold := 3 * time.Second
	list := []owtfake.CreateRecord{created("r", "a", "live/a", 0), created("r", "b", "live/b", 2), created("r", "c", "live/c", 10)}
	tests := []struct {
		name         string
		cut, restart time.Time
		want         time.Duration
	}{
		{"last POST before the cut sets it", at(3), at(3), 2 * time.Second},
		{"POSTs after the cut do not count", at(1), at(1), 2 * time.Second},
		{"the restart gap is taken off", at(2), at(4), time.Second},
		{"all visible already", at(2), at(6), 0},
		{"nothing created before the cut", t0.Add(-time.Second), t0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := remainingHold(list, tc.cut, tc.restart, hold); got != tc.want {
				t.Errorf("remainingHold = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCrashWorkFloor(t *testing.T) {
	rt, hold := 20*time.Millisecond, 3*time.Second
	tests := []struct {
		name string
		w    crashWork
		c    int
		want time.Duration
	}{
		{"whole storm without hold is the storm floor", left(100, 1000, 0, 0, 0), 8, stormFloor(100, 1000, 8, rt) + 1000*hold/8},
		{"nothing left", left(10, 100, 10, 100, 100), 8, 0},
		{"patches only", left(10, 100, 10, 100, 0), 10, 100 * rt / 10},
		{"posts pay the hold", left(10, 100, 10, 50, 100), 50, 50 * (rt + hold) / 50},
		{"more done than needed is not negative", left(10, 100, 20, 200, 300), 8, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.floor(tc.c, rt, hold); got != tc.want {
				t.Errorf("floor = %s, want %s", got, tc.want)
			}
		})
	}
	if got := left(100, 1000, 0, 0, 0).floor(8, rt, 0); got != stormFloor(100, 1000, 8, rt) {
		t.Errorf("with no hold the floor is %s, want the storm floor %s", got, stormFloor(100, 1000, 8, rt))
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "defgh" {
		t.Errorf("tail = %q, want %q", got, "defgh")
	}
}

func TestWritesSince(t *testing.T) {
	st := owtfake.State{
		Created: []owtfake.CreateRecord{created("r", "a", "live/a", 1), created("r", "b", "live/b", 5), created("r", "c", "live/c", 3)},
		Modified: []owtfake.ModifyRecord{{Kind: "stream", Op: "patch", Room: "r", Stream: "b", Time: at(6)},
			{Kind: "room", Op: "update", Room: "r", Time: at(7)}, {Kind: "stream", Op: "patch", Room: "r", Stream: "a", Time: at(0)},
			{Kind: "stream", Op: "patch", Room: "r", Stream: "c", Time: at(8)}, {Kind: "stream", Op: "patch", Room: "r", Stream: "a", Time: at(9)}},
	}
	got := writesSince(st, at(2), at(3))
	want := map[string]span{"streaming_ins_created": {N: 2, FirstMs: 1000, LastMs: 3000},
		"patched_created_by_killed_agent":    {N: 2, FirstMs: 6000, LastMs: 7000},
		"patched_created_by_restarted_agent": {N: 1, FirstMs: 4000, LastMs: 4000}}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %+v, want %+v", k, got[k], w)
		}
	}
}
