package owtfake

import (
	"fmt"
	"sort"
	"time"
)

// Deletion reasons recorded in DeleteRecord.Reason.
const (
	ReasonAPI        = "api"         // DELETE through the REST API
	ReasonSourceLost = "source_lost" // DropStream
	ReasonWipe       = "wipe"        // Wipe (OWT restarted empty)
)

// Ways a room was created, recorded in RoomRecord.Via.
const (
	ViaAPI     = "api"     // POST /v1/rooms
	ViaControl = "control" // CreateRoomDirect (another tool)
)

// State is a snapshot of the fake: live rooms plus the full history.
type State struct {
	Rooms        []RoomState    `json:"rooms"`
	Created      []CreateRecord `json:"created"`       // every streaming-in ever created, kept across Wipe
	Deleted      []DeleteRecord `json:"deleted"`       // every stream and room deletion
	Modified     []ModifyRecord `json:"modified"`      // every PATCH of a stream and PUT of a room that reached its target
	RoomsCreated []RoomRecord   `json:"rooms_created"` // every room ever created, kept across Wipe
	// OutputsCreated is every streaming-out and recording ever created,
	// kept across Wipe; their ends are in Deleted (kind "output").
	OutputsCreated []OutputRecord `json:"outputs_created"`
	// Writes is every request other than a GET as it arrived, with the
	// client's User-Agent (the agent names its replica there): who wrote
	// what, and when. The first maxWrites are kept.
	Writes []WriteRecord `json:"writes"`
}

// maxWrites bounds State.Writes.
const maxWrites = 1 << 18

// WriteRecord is one request that may change OWT, as it arrived.
type WriteRecord struct {
	Call      string    `json:"call"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	UserAgent string    `json:"user_agent"`
	Time      time.Time `json:"time"`
}

// OutputRecord is one streaming-out or recording creation.
type OutputRecord struct {
	Service string    `json:"service"`
	Room    string    `json:"room"`
	Output  string    `json:"output"`
	Kind    string    `json:"kind"` // "streaming" or "recording"
	URL     string    `json:"url,omitempty"`
	Time    time.Time `json:"time"`
}

// OutputState is one live output in a RoomState.
type OutputState struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"` // "streaming" or "recording"
	URL       string `json:"url,omitempty"`
	Protocol  string `json:"protocol,omitempty"`
	Container string `json:"container,omitempty"`
	// Parameters are the HLS/DASH settings OWT keeps (never in REST answers).
	Parameters map[string]any `json:"parameters,omitempty"`
	AudioFrom  string         `json:"audio_from,omitempty"`
	VideoFrom  string         `json:"video_from,omitempty"`
	Connecting bool           `json:"connecting"`         // not listed yet
	FailsAt    time.Time      `json:"fails_at,omitempty"` // when its push fails (zero: never)
}

// ModifyRecord is one change request that reached an existing room or
// stream (recorded whether or not each of its operations succeeded).
type ModifyRecord struct {
	Kind   string    `json:"kind"` // "stream" or "room"
	Room   string    `json:"room"`
	Stream string    `json:"stream,omitempty"`
	URL    string    `json:"url,omitempty"`
	Op     string    `json:"op"` // "patch" (PATCH …/streams/{id}) or "update" (PUT /v1/rooms/{id})
	Time   time.Time `json:"time"`
}

// RoomRecord is one room creation.
type RoomRecord struct {
	Service string    `json:"service"`
	Room    string    `json:"room"`
	Name    string    `json:"name"`
	Via     string    `json:"via"` // ViaAPI or ViaControl
	Time    time.Time `json:"time"`
}

// RoomState is one room in a State.
type RoomState struct {
	ID           string        `json:"id"`
	Service      string        `json:"service"`
	Name         string        `json:"name"`
	Views        []string      `json:"views"`  // labels of the stored views
	Active       bool          `json:"active"` // a conference runs: mixed streams are listed
	Streams      []StreamState `json:"streams"`
	Participants []Participant `json:"participants"`
	Outputs      []OutputState `json:"outputs"`
}

// StreamState is one forward stream in a RoomState.
type StreamState struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"` // info.type: "streaming", "webrtc", ...
	Owner      string   `json:"owner"`
	URL        string   `json:"url,omitempty"`
	Attributes any      `json:"attributes,omitempty"`
	InViews    []string `json:"inViews"`
	Connecting bool     `json:"connecting"` // still hidden by the streaming-in delay
}

// CreateRecord is one streaming-in creation.
type CreateRecord struct {
	Service    string    `json:"service"`
	Room       string    `json:"room"`
	Stream     string    `json:"stream"`
	URL        string    `json:"url"`
	Attributes any       `json:"attributes,omitempty"`
	Time       time.Time `json:"time"`
}

// DeleteRecord is one stream or room deletion.
type DeleteRecord struct {
	Kind   string    `json:"kind"` // "stream" or "room"
	Room   string    `json:"room"`
	Stream string    `json:"stream,omitempty"`
	URL    string    `json:"url,omitempty"`
	Reason string    `json:"reason"` // ReasonAPI, ReasonSourceLost or ReasonWipe
	Time   time.Time `json:"time"`
}

// Dump returns a snapshot of all rooms (sorted by id) and the history.
func (s *Server) Dump() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	st := State{
		Rooms:        make([]RoomState, 0, len(s.rooms)),
		Created:      make([]CreateRecord, 0, len(s.created)),
		Deleted:      append([]DeleteRecord(nil), s.deleted...),
		Modified:     append([]ModifyRecord{}, s.modified...),
		RoomsCreated: append([]RoomRecord{}, s.roomsCreated...),

		OutputsCreated: append([]OutputRecord{}, s.outputsCreated...),
		Writes:         append([]WriteRecord{}, s.writes...),
	}
	for _, c := range s.created {
		c.Attributes = deepCopy(c.Attributes)
		st.Created = append(st.Created, c)
	}
	for _, r := range s.rooms {
		r.refresh(now, s.idleTimeout)
		rs := RoomState{ID: r.id, Service: r.service, Name: r.name(), Views: r.viewLabels(), Active: r.active,
			Streams: make([]StreamState, 0, len(r.order)), Participants: append([]Participant{}, r.participants...)}
		for _, f := range r.order {
			rs.Streams = append(rs.Streams, StreamState{ID: f.id, Type: f.infoType, Owner: f.owner, URL: f.url,
				Attributes: deepCopy(f.attributes), InViews: append([]string{}, f.inViews...), Connecting: f.readyAt.After(now)})
		}
		rs.Outputs = outputStates(r, now)
		st.Rooms = append(st.Rooms, rs)
	}
	sort.Slice(st.Rooms, func(i, j int) bool { return st.Rooms[i].ID < st.Rooms[j].ID })
	if st.Deleted == nil {
		st.Deleted = []DeleteRecord{}
	}
	return st
}

// outputStates describes the live outputs of r.
func outputStates(r *room, now time.Time) []OutputState {
	out := make([]OutputState, 0, len(r.outputs))
	for _, o := range r.outputs {
		os := OutputState{ID: o.id, Kind: o.kind, URL: o.url, Protocol: o.protocol, Container: o.container,
			Connecting: o.connecting(now), FailsAt: o.failAt, Parameters: deepCopyMap(o.params)}
		if o.audio != nil {
			os.AudioFrom = o.audio.from
		}
		if o.video != nil {
			os.VideoFrom = o.video.from
		}
		out = append(out, os)
	}
	return out
}

// deepCopyMap copies a JSON-like map (nil stays nil).
func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return deepCopy(m).(map[string]any)
}

// RoomOutputs is the live outputs of one room, as the control API dumps them.
type RoomOutputs struct {
	Room    string        `json:"room"`
	Name    string        `json:"name"`
	Outputs []OutputState `json:"outputs"`
}

// Outputs returns the live outputs of every room that has any (rooms sorted
// by id), connecting ones included.
func (s *Server) Outputs() []RoomOutputs {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := []RoomOutputs{}
	for _, r := range s.rooms {
		r.refresh(now, s.idleTimeout)
		if len(r.outputs) > 0 {
			out = append(out, RoomOutputs{Room: r.id, Name: r.name(), Outputs: outputStates(r, now)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Room < out[j].Room })
	return out
}

// DropOutput removes a live output at once without any REST call, as a
// fatal push error or the peer going away does.
func (s *Server) DropOutput(room, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[room]
	if r == nil {
		return fmt.Errorf("owtfake: drop output %s: room %s does not exist", id, room)
	}
	o, i := r.findOutput(id)
	if o == nil {
		return fmt.Errorf("owtfake: drop output: output %s is not in room %s", id, room)
	}
	r.removeOutputAt(i, ReasonPushFailed, time.Now())
	return nil
}

// Counts returns the number of requests handled per route name (Route*
// constants), failed and fault-injected ones included.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetCounts sets every route count back to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	s.counts = map[string]int{}
	s.mu.Unlock()
}
