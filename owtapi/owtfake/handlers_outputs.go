package owtfake

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"
)

// Output route names for Counts and the fault knobs.
const (
	RouteListStreamingOuts = "list_streaming_outs"
	RouteStartStreamingOut = "start_streaming_out"
	RoutePatchStreamingOut = "patch_streaming_out"
	RouteStopStreamingOut  = "stop_streaming_out"
	RouteListRecordings    = "list_recordings"
	RouteStartRecording    = "start_recording"
	RoutePatchRecording    = "patch_recording"
	RouteStopRecording     = "stop_recording"
)

// matchOutputs routes the output collections; ok is false for other paths.
func matchOutputs(method, resource string) (string, handlerFunc, bool) {
	switch method + " " + resource {
	case "GET streaming-outs":
		return RouteListStreamingOuts, func(s *Server, c *call) { s.handleListOutputs(c, kindStreaming) }, true
	case "POST streaming-outs":
		return RouteStartStreamingOut, func(s *Server, c *call) { s.handleStartOutput(c, kindStreaming) }, true
	case "PATCH streaming-outs/id":
		return RoutePatchStreamingOut, (*Server).handlePatchOutput, true
	case "DELETE streaming-outs/id":
		return RouteStopStreamingOut, func(s *Server, c *call) { s.handleDeleteOutput(c, kindStreaming) }, true
	case "GET recordings":
		return RouteListRecordings, func(s *Server, c *call) { s.handleListOutputs(c, kindRecording) }, true
	case "POST recordings":
		return RouteStartRecording, func(s *Server, c *call) { s.handleStartOutput(c, kindRecording) }, true
	case "PATCH recordings/id":
		return RoutePatchRecording, (*Server).handlePatchOutput, true
	case "DELETE recordings/id":
		return RouteStopRecording, func(s *Server, c *call) { s.handleDeleteOutput(c, kindRecording) }, true
	}
	return "", nil, false
}

// handleListOutputs serves GET …/streaming-outs and …/recordings.
func (s *Server) handleListOutputs(c *call, kind string) {
	s.mu.Lock()
	r, err := s.ownedRoom(c)
	var list []any
	if err == nil {
		list = r.listOutputs(kind, time.Now())
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	writeJSON(c.w, http.StatusOK, list)
}

// handleStartOutput serves POST …/streaming-outs and …/recordings. The
// answer comes once the output leaves the connecting state (the output
// delay knob), but no later than the 2 s RPC timeout: past it the client
// gets R and the output still appears when it connects.
func (s *Server) handleStartOutput(c *call, kind string) {
	f := s.outputFaults()
	s.mu.Lock()
	r, err := s.ownedRoom(c)
	if err != nil {
		s.mu.Unlock()
		writeError(c.w, *err)
		return
	}
	var req outputRequest
	if kind == kindStreaming {
		req, err = parseStreamingOut(c.body)
	} else {
		req, err = parseRecording(c.body)
	}
	if err != nil {
		s.mu.Unlock()
		writeError(c.w, *err)
		return
	}
	now := time.Now()
	r.activate()
	o := buildOutput(r, req, now)
	if o == nil {
		r.noteMaybeIdle(now) // a failed POST re-arms the idle clock
		s.mu.Unlock()
		writeError(c.w, errOutputRPC)
		return
	}
	o.id = s.newOutputIDLocked(r)
	o.host = s.recordingHost
	o.createdAt = now
	o.readyAt = now.Add(f.delay)
	if kind == kindStreaming {
		if after, fails := f.pushFails(o.url); fails {
			o.failAt = o.readyAt.Add(after)
		}
	}
	r.outputs = append(r.outputs, o)
	s.outputsCreated = append(s.outputsCreated, OutputRecord{Service: r.service, Room: r.id, Output: o.id,
		Kind: kind, URL: o.url, Time: now})
	s.mu.Unlock()

	wait := min(f.delay, f.rpcTimeout)
	if !sleepCtx(c.r.Context(), wait) {
		return // the conference still finishes: the output appears at readyAt
	}
	if f.delay > f.rpcTimeout {
		writeError(c.w, errOutputRPC)
		return
	}
	s.mu.Lock()
	cur, _ := r.findOutput(o.id)
	alive := s.rooms[r.id] == r && cur == o
	var out []byte
	if alive {
		out = encodeJSON(o.render())
	}
	s.mu.Unlock()
	if !alive {
		writeError(c.w, errOutputRPC) // deleted while connecting: Access timeout
		return
	}
	writeJSONBytes(c.w, http.StatusOK, out)
}

// newOutputIDLocked draws an id not used by a stream or output of r.
func (s *Server) newOutputIDLocked(r *room) string {
	for {
		id := s.ids.streamID()
		if o, _ := r.findOutput(id); o == nil && r.streams[id] == nil {
			return id
		}
	}
}

// handleDeleteOutput serves DELETE …/streaming-outs/{id} and …/recordings/{id}.
func (s *Server) handleDeleteOutput(c *call, kind string) {
	s.mu.Lock()
	r, err := s.ownedRoom(c)
	if err == nil {
		now := time.Now()
		o, i := r.findOutput(c.sub)
		switch {
		case !r.active || !validIDPattern.MatchString(c.sub) || o == nil:
			err = &errOperationFailed // Subscription does NOT exist
		case o.kind != kind:
			err = &errOperationFailed // Delete type not match
		default:
			r.removeOutputAt(i, ReasonAPI, now)
			r.noteMaybeIdle(now)
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	c.w.WriteHeader(http.StatusOK)
}

// handlePatchOutput serves PATCH …/streaming-outs/{id} and …/recordings/{id};
// the collection is not checked. Every failure is F; operations before a
// failing one stay applied.
func (s *Server) handlePatchOutput(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ownedRoom(c)
	if err != nil {
		writeError(c.w, *err)
		return
	}
	now := time.Now()
	ops, ok := parseOutputPatch(c.body)
	o, _ := r.findOutput(c.sub)
	if !ok || !r.active || !validIDPattern.MatchString(c.sub) || o == nil || o.connecting(now) {
		writeError(c.w, errOperationFailed)
		return
	}
	for _, op := range ops {
		if !applyOutputOp(r, o, op, now) {
			writeError(c.w, errOperationFailed)
			return
		}
	}
	writeJSON(c.w, http.StatusOK, o.render())
}

// applyOutputOp applies one PATCH operation to o.
func applyOutputOp(r *room, o *output, op outputPatchOp, now time.Time) bool {
	track := o.audio
	if op.kind == "video" {
		track = o.video
	}
	if track == nil {
		return false
	}
	switch op.field {
	case "status":
		return false // setMute knows only WebRTC sessions
	case "from":
		from := op.value.(string)
		if from == track.from {
			return offerOf(r, from, now) != nil
		}
		if !changeSource(r, o, op.kind, from, now) {
			return false
		}
		r.moveOutputToEnd(o)
		return true
	}
	off := offerOf(r, track.from, now)
	if off == nil || off.video == nil || !off.video.paramOffered(op.field, op.value) {
		return false
	}
	if cur, has := track.params[op.field]; has && reflect.DeepEqual(cur, op.value) {
		return true // the current value: nothing to do
	}
	if track.params == nil {
		track.params = map[string]any{}
	}
	applyParam(track.params, op.field, op.value, off)
	r.moveOutputToEnd(o)
	return true
}

// outputHost returns the lower-case host name of a push URL ("" if none).
func outputHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
