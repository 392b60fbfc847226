package owtfake

import (
	"net/http"
	"time"
)

// Participant is a member of a room, e.g. a WebRTC user; Role should be
// one of the room's roles (presenter, viewer, ...).
type Participant struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	User string `json:"user"`
}

// renderParticipant returns the participant object with the permission
// derived from the room's role definition.
func renderParticipant(r *room, p Participant) map[string]any {
	publish, subscribe := any(false), any(false)
	roles, _ := r.doc["roles"].([]any)
	for _, ro := range roles {
		m, ok := ro.(map[string]any)
		if !ok || m["role"] != p.Role {
			continue
		}
		publish, subscribe = permission(m["publish"]), permission(m["subscribe"])
	}
	return map[string]any{"id": p.ID, "role": p.Role, "user": p.User,
		"permission": map[string]any{"publish": publish, "subscribe": subscribe}}
}

// permission renders {audio, video} or false when neither is allowed.
func permission(v any) any {
	m, _ := v.(map[string]any)
	audio, _ := m["audio"].(bool)
	video, _ := m["video"].(bool)
	if !audio && !video {
		return false
	}
	return map[string]any{"audio": audio, "video": video}
}

// handleListParticipants serves GET /v1/rooms/{id}/participants.
func (s *Server) handleListParticipants(c *call) {
	s.mu.Lock()
	r, err := s.ownedRoom(c)
	out := []any{}
	if err == nil && r.active {
		for _, p := range r.participants {
			out = append(out, renderParticipant(r, p))
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	writeJSON(c.w, http.StatusOK, out)
}

// handleGetParticipant serves GET /v1/rooms/{id}/participants/{pid}.
func (s *Server) handleGetParticipant(c *call) {
	s.mu.Lock()
	r, err := s.ownedRoom(c)
	var out map[string]any
	if err == nil {
		for _, p := range r.participants {
			if p.ID == c.sub {
				out = renderParticipant(r, p)
			}
		}
		if out == nil {
			err = &errParticipantNotFound
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	writeJSON(c.w, http.StatusOK, out)
}

// handleDropParticipant serves DELETE /v1/rooms/{id}/participants/{pid}.
func (s *Server) handleDropParticipant(c *call) {
	s.mu.Lock()
	r, err := s.ownedRoom(c)
	if err == nil && !r.removeParticipant(c.sub, time.Now()) {
		err = &errParticipantNotFound
	}
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	c.w.WriteHeader(http.StatusOK)
}

// removeParticipant drops participant id; it reports whether it was there.
func (r *room) removeParticipant(id string, now time.Time) bool {
	for i, p := range r.participants {
		if p.ID == id {
			r.participants = append(r.participants[:i:i], r.participants[i+1:]...)
			r.noteMaybeIdle(now)
			return true
		}
	}
	return false
}
