package owtfake

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"time"
)

// handleListRooms serves GET /v1/rooms with the optional per_page/page query.
func (s *Server) handleListRooms(c *call) {
	q := c.r.URL.Query()
	perPage := jsNumberOrZero(q.Get("per_page"))
	page := jsNumberOrZero(q.Get("page"))
	s.mu.Lock()
	rooms := s.byService[c.service]
	start, end := 0, len(rooms)
	if perPage > 0 {
		skip := 0.0
		if page > 0 {
			skip = (page - 1) * perPage
		}
		start = clampIndex(skip, len(rooms))
		end = clampIndex(skip+perPage, len(rooms))
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := start; i < end; i++ {
		if i > start {
			buf.WriteByte(',')
		}
		buf.Write(rooms[i].jsonFull)
	}
	buf.WriteByte(']')
	s.mu.Unlock()
	writeJSONBytes(c.w, http.StatusOK, buf.Bytes())
}

// jsNumberOrZero is Number(x) || 0 for a query value.
func jsNumberOrZero(v string) float64 {
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return 0
	}
	return f
}

// clampIndex converts a float offset into a slice index in [0, n].
func clampIndex(f float64, n int) int {
	f = math.Ceil(f)
	if f < 0 {
		return 0
	}
	if f > float64(n) {
		return n
	}
	return int(f)
}

// handleCreateRoom serves POST /v1/rooms.
func (s *Server) handleCreateRoom(c *call) {
	body, _ := c.body.(map[string]any)
	name, ok := body["name"].(string)
	if !ok || name == "" {
		writeError(c.w, errInvalidBody)
		return
	}
	options := map[string]any{}
	if opt := body["options"]; !isFalsy(opt) {
		switch o := opt.(type) {
		case map[string]any:
			options = o
		case []any:
			// Arrays pass the typeof check and carry no option keys.
		default:
			writeError(c.w, errInvalidRoomOption)
			return
		}
	}
	doc, err := newRoomDoc(name, options)
	if err != nil {
		writeError(c.w, *err)
		return
	}
	s.mu.Lock()
	r := s.insertRoomLocked(c.service, doc, ViaAPI)
	out := r.jsonFull
	s.mu.Unlock()
	if !sleepCtx(c.r.Context(), s.createRoomReplyDelay()) {
		return // the room stays created
	}
	writeJSONBytes(c.w, http.StatusOK, out)
}

// insertRoomLocked stores a new room for service and records its creation
// (via is ViaAPI or ViaControl). Callers hold s.mu.
func (s *Server) insertRoomLocked(service string, doc map[string]any, via string) *room {
	now := time.Now()
	r := newRoom(s.ids.objectID(now), service, doc, now)
	r.log = &s.deleted
	s.rooms[r.id] = r
	s.byService[service] = append(s.byService[service], r)
	s.roomsCreated = append(s.roomsCreated, RoomRecord{Service: service, Room: r.id, Name: r.name(), Via: via, Time: now})
	return r
}

// handleGetRoom serves GET /v1/rooms/{id} (lean document, no "id").
func (s *Server) handleGetRoom(c *call) {
	s.mu.Lock()
	r, err := s.ownedRoom(c)
	var out []byte
	if err == nil {
		out = r.jsonLean
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	writeJSONBytes(c.w, http.StatusOK, out)
}

// handleUpdateRoom serves PUT /v1/rooms/{id}: a top-level shallow merge.
func (s *Server) handleUpdateRoom(c *call) {
	updates, _ := c.body.(map[string]any)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ownedRoom(c)
	if err != nil {
		writeError(c.w, *err)
		return
	}
	doc, err := updateRoomDoc(r.doc, updates)
	if err != nil {
		writeError(c.w, *err)
		return
	}
	r.setDoc(doc)
	s.modified = append(s.modified, ModifyRecord{Kind: "room", Room: r.id, Op: "update", Time: time.Now()})
	writeJSONBytes(c.w, http.StatusOK, r.jsonFull)
}

// handleDeleteRoom serves DELETE /v1/rooms/{id}.
func (s *Server) handleDeleteRoom(c *call) {
	s.mu.Lock()
	r, err := s.ownedRoom(c)
	if err == nil {
		s.deleteRoomLocked(r, ReasonAPI, time.Now())
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	writeText(c.w, "text/html; charset=utf-8", "Room deleted")
}

// deleteRoomLocked removes a room and everything in it, recording the
// deletions. Callers hold s.mu.
func (s *Server) deleteRoomLocked(r *room, reason string, now time.Time) {
	outReason := reason
	if reason == ReasonAPI {
		outReason = ReasonRoomDeleted
	}
	for len(r.outputs) > 0 {
		r.removeOutputAt(0, outReason, now)
	}
	for _, st := range r.order {
		s.deleted = append(s.deleted, DeleteRecord{Kind: "stream", Room: r.id, Stream: st.id, URL: st.url, Reason: reason, Time: now})
	}
	s.deleted = append(s.deleted, DeleteRecord{Kind: "room", Room: r.id, Reason: reason, Time: now})
	delete(s.rooms, r.id)
	list := s.byService[r.service]
	for i, o := range list {
		if o == r {
			s.byService[r.service] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
}

// handlePatchRoom emulates the broken PATCH /v1/rooms/{id} stub.
func (s *Server) handlePatchRoom(c *call) {
	writeError(c.w, errPatchRoom)
}
