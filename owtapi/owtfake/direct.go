package owtfake

import (
	"fmt"
	"strings"
	"time"
)

// CreateRoomDirect creates a room for service as if another tool had made
// it through the API; views lists the view labels (nil = the default
// "common" view, empty = no views). It returns the room id.
func (s *Server) CreateRoomDirect(service, name string, views []string) string {
	options := map[string]any{}
	if views != nil {
		list := make([]any, 0, len(views))
		for _, l := range views {
			list = append(list, map[string]any{"label": l})
		}
		options["views"] = list
	}
	doc, err := newRoomDoc(name, options)
	if err != nil {
		// Labels and names are strings; the default document always validates.
		panic("owtfake: CreateRoomDirect: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insertRoomLocked(strings.ToLower(service), doc, ViaControl).id
}

// AddForeignStream adds a ready forward stream not made by streaming-ins,
// by default a WebRTC publication; info holds its info members (type,
// owner, attributes, inViews, ...). It returns the stream id, or "" when
// the room does not exist.
func (s *Server) AddForeignStream(room string, info map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return ""
	}
	id := s.ids.streamID()
	for r.streams[id] != nil {
		id = s.ids.streamID()
	}
	r.refresh(time.Now(), s.idleTimeout)
	r.addStream(newForeignStream(id, info, r, time.Now()))
	r.activate()
	return id
}

// DropStream removes a forward stream asynchronously, as when OWT loses its
// source: no REST call sees it go.
func (s *Server) DropStream(room, stream string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return fmt.Errorf("owtfake: drop stream %s: room %s does not exist", stream, room)
	}
	st := r.streams[stream]
	if st == nil {
		return fmt.Errorf("owtfake: drop stream: stream %s is not in room %s", stream, room)
	}
	now := time.Now()
	r.removeStream(stream, now)
	s.deleted = append(s.deleted, DeleteRecord{Kind: "stream", Room: room, Stream: stream, URL: st.url, Reason: ReasonSourceLost, Time: now})
	return nil
}

// Wipe simulates OWT restarted with an empty database: every room and
// stream is gone; services, counts and the history are kept.
func (s *Server) Wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, list := range s.byService {
		for _, r := range list {
			for len(r.outputs) > 0 {
				r.removeOutputAt(0, ReasonWipe, now)
			}
			for _, st := range r.order {
				s.deleted = append(s.deleted, DeleteRecord{Kind: "stream", Room: r.id, Stream: st.id, URL: st.url, Reason: ReasonWipe, Time: now})
			}
			s.deleted = append(s.deleted, DeleteRecord{Kind: "room", Room: r.id, Reason: ReasonWipe, Time: now})
		}
	}
	s.rooms = map[string]*room{}
	s.byService = map[string][]*room{}
}

// AddParticipant puts a participant into a room (replacing one with the
// same id); the room's conference starts if needed.
func (s *Server) AddParticipant(room string, p Participant) error {
	if p.ID == "" {
		return fmt.Errorf("owtfake: add participant to room %s: the participant id is empty", room)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return fmt.Errorf("owtfake: add participant %s: room %s does not exist", p.ID, room)
	}
	r.refresh(time.Now(), s.idleTimeout)
	r.activate()
	for i, o := range r.participants {
		if o.ID == p.ID {
			r.participants[i] = p
			return nil
		}
	}
	r.participants = append(r.participants, p)
	return nil
}

// RemoveParticipant takes a participant out of a room.
func (s *Server) RemoveParticipant(room, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return fmt.Errorf("owtfake: remove participant %s: room %s does not exist", id, room)
	}
	if !r.removeParticipant(id, time.Now()) {
		return fmt.Errorf("owtfake: remove participant: %s is not in room %s", id, room)
	}
	return nil
}
