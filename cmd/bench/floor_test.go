package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFloorReplayDecodesEachShape(t *testing.T) {
	var unsigned atomic.Int64
	srs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/streams/":
			_, _ = w.Write([]byte(`{"code":0,"service":"s","streams":[{"name":"a","vhost":"v","app":"live","publish":{"active":true}},{"name":"b"}]}`))
		case "/api/v1/vhosts/":
			_, _ = w.Write([]byte(`{"code":0,"service":"s","vhosts":[{"id":"v","name":"__defaultVhost__"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srs.Close()
	owt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "MAuth realm=") || !strings.Contains(r.Header.Get("Authorization"), "mauth_signature=") {
			unsigned.Add(1)
		}
		switch {
		case r.URL.Path == "/v1/rooms":
			_, _ = w.Write([]byte(`[{"_id":"r1","name":"x","views":[{"label":"common"}]},{"_id":"r2","name":"y"}]`))
		case r.URL.Path == "/v1/rooms/r1/streams":
			_, _ = w.Write([]byte(`[{"id":"s1","type":"forward","info":{"type":"streaming","inViews":["common"],"attributes":{"srs-owt-proxy":{"agent":"a","stream":"o/v/live/a"}}}},{"id":"r1-common","type":"mixed","info":{"label":"common"}}]`))
		case r.URL.Path == "/v1/rooms/r1/participants":
			_, _ = w.Write([]byte(`[]`))
		case r.URL.Path == "/v1/rooms/bad/streams":
			_, _ = w.Write([]byte(`{"not":"a list"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer owt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := newFloorClient(owt.URL, srs.URL, 3)
	defer c.close()
	got, err := c.replay(ctx, []apiRead{{"srs", "/api/v1/streams/?start=0&count=1000"}, {"srs", "/api/v1/vhosts/"},
		{"owt", "/v1/rooms?page=1&per_page=100"}, {"owt", "/v1/rooms/r1/streams"}, {"owt", "/v1/rooms/r1/participants"}})
	if err != nil {
		t.Fatal(err)
	}
	want := floorCounts{Reads: 5, Streams: 2, Rooms: 2, Inputs: 2, Other: 1}
	if got != want {
		t.Errorf("replay decoded %+v, want %+v", got, want)
	}
	if n := unsigned.Load(); n != 0 {
		t.Errorf("%d OWT requests without an MAuth header", n)
	}
	for _, bad := range []apiRead{{"owt", "/v1/rooms/bad/streams"}, {"owt", "/v1/rooms/none/streams"}} {
		if _, err := c.replay(ctx, []apiRead{bad}); err == nil {
			t.Errorf("replay of %s: no error, want one (bad shape or HTTP 404)", bad.URI)
		}
	}
}
