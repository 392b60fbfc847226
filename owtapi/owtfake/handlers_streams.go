package owtfake

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"time"
)

// validIDPattern is the id syntax the RPC layer accepts (requestHandler.js:114-121).
var validIDPattern = regexp.MustCompile(`^[0-9a-zA-Z\-_]+$`)

// listStreamsLocked renders the stream list of an active room: mixed
// streams first, then forward streams that are no longer connecting.
func listStreamsLocked(r *room, v11 bool, now time.Time) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	if r != nil && r.active {
		for _, v := range r.views {
			if buf.Len() > 1 {
				buf.WriteByte(',')
			}
			buf.Write(v.jsonBytes(r.id, v11))
		}
		for _, st := range r.order {
			if !st.readyAt.After(now) {
				if buf.Len() > 1 {
					buf.WriteByte(',')
				}
				buf.Write(st.jsonBytes(v11))
			}
		}
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// handleListStreams serves GET …/rooms/{id}/streams.
func (s *Server) handleListStreams(c *call) {
	s.mu.Lock()
	r, err := s.streamRoom(c)
	var out []byte
	if err == nil {
		out = listStreamsLocked(r, c.v11, time.Now())
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	writeJSONBytes(c.w, http.StatusOK, out)
}

// findStreamLocked returns the rendered mixed or ready forward stream id.
func findStreamLocked(r *room, id string, v11 bool, now time.Time) []byte {
	if r == nil || !r.active {
		return nil
	}
	if v := r.mixedByID(id); v != nil {
		return v.jsonBytes(r.id, v11)
	}
	if st := r.readyStream(id, now); st != nil {
		return st.jsonBytes(v11)
	}
	return nil
}

// handleGetStream serves GET …/rooms/{id}/streams/{sid}.
func (s *Server) handleGetStream(c *call) {
	s.mu.Lock()
	r, err := s.streamRoom(c)
	var out []byte
	if err == nil {
		out = findStreamLocked(r, c.sub, c.v11, time.Now())
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		writeError(c.w, *err)
	case out == nil:
		writeError(c.w, errStreamNotFound)
	default:
		writeJSONBytes(c.w, http.StatusOK, out)
	}
}

// handleDeleteStream serves DELETE …/streams/{sid} and …/streaming-ins/{sid}.
func (s *Server) handleDeleteStream(c *call) {
	s.mu.Lock()
	r, err := s.streamRoom(c)
	if err == nil {
		now := time.Now()
		if r == nil || !r.active || !validIDPattern.MatchString(c.room) || !validIDPattern.MatchString(c.sub) {
			err = &errOperationFailed
		} else if st := r.streams[c.sub]; st == nil {
			err = &errOperationFailed
		} else if r.connectingOutputFedBy(c.sub, now) {
			// Quirk (outputs 15.31): removeStream throws on the connecting
			// output's missing tracks; the DELETE says 200, the stream stays.
		} else {
			r.removeStream(c.sub, now)
			s.deleted = append(s.deleted, DeleteRecord{Kind: "stream", Room: r.id, Stream: st.id, URL: st.url, Reason: ReasonAPI, Time: now})
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	c.w.WriteHeader(http.StatusOK)
}

// streamingInRequest is a validated POST …/streaming-ins body.
type streamingInRequest struct {
	url        string
	audio      any // "auto", true or false
	video      any
	attributes any
}

// parseStreamingIn validates a body against the real schema
// (restReqValidator.js:93-131); any violation is reported as false.
func parseStreamingIn(body any) (streamingInRequest, bool) {
	var req streamingInRequest
	m, ok := body.(map[string]any)
	if !ok {
		return req, false
	}
	for k := range m {
		if k != "connection" && k != "media" && k != "attributes" && k != "type" {
			return req, false
		}
	}
	conn, ok := m["connection"].(map[string]any)
	if !ok {
		return req, false
	}
	for k, v := range conn {
		switch k {
		case "url":
			if req.url, ok = v.(string); !ok || req.url == "" {
				return req, false
			}
		case "transportProtocol":
			if v != "tcp" && v != "udp" {
				return req, false
			}
		case "bufferSize":
			if _, ok := v.(interface{ Float64() (float64, error) }); !ok {
				return req, false
			}
		case "origin":
		default:
			return req, false
		}
	}
	if req.url == "" {
		return req, false
	}
	media, ok := m["media"].(map[string]any)
	if !ok || len(media) != 2 {
		return req, false
	}
	for _, kind := range []string{"audio", "video"} {
		v, present := media[kind]
		if !present || (v != "auto" && v != true && v != false) {
			return req, false
		}
	}
	req.audio, req.video = media["audio"], media["video"]
	if attrs, present := m["attributes"]; present {
		if _, ok := attrs.(map[string]any); !ok {
			return req, false
		}
		req.attributes = attrs
	}
	return req, true
}

// handleStartStreamingIn serves POST …/rooms/{id}/streaming-ins. With a
// streaming-in delay the stream exists but stays hidden until the delay has
// passed; a client that gives up meanwhile still leaves the stream behind.
func (s *Server) handleStartStreamingIn(c *call) {
	delay, unreachable := s.streamingInFaults()
	s.mu.Lock()
	r, err := s.streamRoom(c)
	if err != nil {
		s.mu.Unlock()
		writeError(c.w, *err)
		return
	}
	req, ok := parseStreamingIn(c.body)
	if !ok || r == nil || !validIDPattern.MatchString(c.room) || !s.admitStreamingInLocked(r, req) {
		s.mu.Unlock()
		writeError(c.w, errOperationFailed)
		return
	}
	if unreachable != nil && unreachable.MatchString(req.url) {
		s.mu.Unlock()
		if sleepCtx(c.r.Context(), delay) {
			writeError(c.w, errOperationFailed)
		}
		return
	}
	now := time.Now()
	id := s.ids.streamID()
	for r.streams[id] != nil {
		id = s.ids.streamID()
	}
	st := newStreamingIn(id, req.url, req.audio != false, req.video != false, req.attributes, r, now, now.Add(delay))
	r.addStream(st)
	r.activate()
	s.created = append(s.created, CreateRecord{Service: r.service, Room: r.id, Stream: id, URL: req.url,
		Attributes: req.attributes, Time: now})
	s.mu.Unlock()

	if !sleepCtx(c.r.Context(), delay) {
		return // the server side still finishes: the stream appears at readyAt
	}
	s.mu.Lock()
	alive := s.rooms[r.id] == r && r.streams[id] == st
	var out []byte
	if alive {
		out = st.jsonBytes(c.v11)
	}
	s.mu.Unlock()
	if !alive {
		writeError(c.w, errOperationFailed)
		return
	}
	writeJSONBytes(c.w, http.StatusOK, out)
}

// admitStreamingInLocked applies the conference checks: input limit, media
// enabled and allowed by mediaIn.
func (s *Server) admitStreamingInLocked(r *room, req streamingInRequest) bool {
	if req.audio == false && req.video == false {
		return false
	}
	if limit, ok := r.doc["inputLimit"].(float64); ok && limit >= 0 && float64(len(r.streams)) >= limit {
		return false
	}
	if req.audio != false && !r.mediaInAllows("audio") {
		return false
	}
	if req.video != false && !r.mediaInAllows("video") {
		return false
	}
	return true
}

// sleepCtx waits d or until ctx is done; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
