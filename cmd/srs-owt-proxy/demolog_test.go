package main

import (
	"bytes"
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// The demo prints the agent's operations as one line each and counts the
// lines it printed (the demo waits for them to stop); lines it does not
// show are neither printed nor counted, and a handler without a counter
// still prints.
func TestDemoLogLines(t *testing.T) {
	var out bytes.Buffer
	var n atomic.Int64
	h := &demoLog{w: &out, lines: &n}
	log := slog.New(h)
	log.Info("operation applied", "room", "lobby", "op", "start_input", "stream", "live/a", "result", "ok", "duration", time.Second)
	log.Info("output stopped", "room", "lobby", "what", "mix of view common")
	log.Debug("operation applied", "op", "stop_input")
	log.Info("something the demo does not show")
	want := "    agent + start_input  room lobby          live/a  [ok, 1s]\n" +
		"    agent - stop_output  room lobby          mix of view common\n"
	if out.String() != want || n.Load() != 2 {
		t.Errorf("printed %d line(s):\n%q\nwant 2:\n%q", n.Load(), out.String(), want)
	}
	out.Reset()
	bare := &demoLog{w: &out}
	if err := bare.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "publish refused by policy", 0)); err != nil || out.Len() == 0 {
		t.Errorf("a handler without a counter: %v, printed %q", err, out.String())
	}
}
