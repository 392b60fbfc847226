package owtapi

import "encoding/json"

// Room is an OWT room. ID is filled from "id" or, on single GET, "_id".
type Room struct {
	ID               string          `json:"id,omitempty"`
	MongoID          string          `json:"_id,omitempty"`
	Name             string          `json:"name"`
	InputLimit       int             `json:"inputLimit"`
	ParticipantLimit int             `json:"participantLimit"`
	Views            []View          `json:"views"`
	Raw              json.RawMessage `json:"-"` // the whole document as received
}

// View is one mixed view of a room; only the label matters to the agent.
type View struct {
	Label string `json:"label"`
}

// Stream is a stream of a room, decoded leniently across OWT versions.
type Stream struct {
	ID   string     `json:"id"`
	Type string     `json:"type"` // "forward" or "mixed"
	Info StreamInfo `json:"info"`
	// Media is kept raw: v5.0 "tracks", v1 "format"/"parameters", v1.1 "original[]".
	Media json.RawMessage `json:"media,omitempty"`
}

// StreamInfo is the info member of a stream. Forward streams use Owner, Type,
// InViews and Attributes; mixed streams use Label.
type StreamInfo struct {
	Owner      string         `json:"owner,omitempty"`
	Type       string         `json:"type,omitempty"` // "streaming", "webrtc", ...
	InViews    []string       `json:"inViews,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
	// RawAttributes holds the attributes undecoded instead of Attributes in
	// the results of ListStreamsWithoutMedia, for callers that decode them
	// into their own type (far cheaper than a map per stream).
	RawAttributes json.RawMessage `json:"-"`
	Label         string          `json:"label,omitempty"`
	ActiveInput   string          `json:"activeInput,omitempty"`
}

// StreamingInRequest is the body of POST /v1/rooms/{room}/streaming-ins.
type StreamingInRequest struct {
	Connection Connection     `json:"connection"`
	Media      MediaRequest   `json:"media"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Connection says where OWT pulls from.
type Connection struct {
	URL               string `json:"url"`
	TransportProtocol string `json:"transportProtocol,omitempty"` // "tcp" | "udp"
	BufferSize        int    `json:"bufferSize,omitempty"`
}

// MediaRequest selects the tracks to pull: each is "auto", true or false.
type MediaRequest struct {
	Audio any `json:"audio"`
	Video any `json:"video"`
}

// Participant is a member of a room (GET /v1/rooms/{room}/participants).
type Participant struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	User string `json:"user"`
	// Permission is kept raw: {"publish":{...}|false,"subscribe":{...}|false}.
	Permission json.RawMessage `json:"permission,omitempty"`
}
