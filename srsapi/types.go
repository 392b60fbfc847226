package srsapi

// Hook actions sent by SRS 6.
const (
	ActionOnPublish   = "on_publish"
	ActionOnUnpublish = "on_unpublish"
	ActionOnPlay      = "on_play"
	ActionOnStop      = "on_stop"
)

// DefaultVhost is the name SRS gives the default vhost.
const DefaultVhost = "__defaultVhost__"

// Hook is the body SRS 6 posts for on_publish, on_unpublish, on_play and on_stop.
// Vhost is the vhost NAME (the API lists ids instead).
type Hook struct {
	ServerID  string `json:"server_id"`
	ServiceID string `json:"service_id"`
	Action    string `json:"action"`
	ClientID  string `json:"client_id"`
	IP        string `json:"ip"`
	Vhost     string `json:"vhost"`
	App       string `json:"app"`
	TcURL     string `json:"tcUrl"`
	Stream    string `json:"stream"`
	Param     string `json:"param"`
	StreamURL string `json:"stream_url"`
	StreamID  string `json:"stream_id"`
	PageURL   string `json:"pageUrl,omitempty"` // on_play only
}

// Stream is one entry of GET /api/v1/streams/. Vhost is the vhost ID.
type Stream struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Vhost     string   `json:"vhost"`
	App       string   `json:"app"`
	TcURL     string   `json:"tcUrl"`
	URL       string   `json:"url"`
	LiveMs    int64    `json:"live_ms"`
	Clients   int      `json:"clients"`
	Frames    int64    `json:"frames"`
	SendBytes int64    `json:"send_bytes"`
	RecvBytes int64    `json:"recv_bytes"`
	Kbps      Kbps     `json:"kbps"`
	Publish   Publish  `json:"publish"`
	Video     *Video   `json:"video"`
	Audio     *Audio   `json:"audio"`
}

// Kbps is SRS's 30 s bitrate window.
type Kbps struct {
	Recv30s int64 `json:"recv_30s"`
	Send30s int64 `json:"send_30s"`
}

// Publish says whether a publisher is active; CID is its client id (the hook's client_id).
type Publish struct {
	Active bool   `json:"active"`
	CID    string `json:"cid,omitempty"`
}

// Video describes the published video track.
type Video struct {
	Codec   string `json:"codec"`
	Profile string `json:"profile"`
	Level   string `json:"level"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
}

// Audio describes the published audio track.
type Audio struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sample_rate"`
	Channel    int    `json:"channel"`
	Profile    string `json:"profile"`
}

// Vhost is one entry of GET /api/v1/vhosts/.
type Vhost struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Enabled   bool   `json:"enabled"`
	Clients   int    `json:"clients"`
	Streams   int    `json:"streams"`
	SendBytes int64  `json:"send_bytes"`
	RecvBytes int64  `json:"recv_bytes"`
	Kbps      Kbps   `json:"kbps"`
	HLS       struct {
		Enabled bool `json:"enabled"`
	} `json:"hls"`
}

// Version is GET /api/v1/versions.
type Version struct {
	Major    int    `json:"major"`
	Minor    int    `json:"minor"`
	Revision int    `json:"revision"`
	Version  string `json:"version"`
}

// Identity is the server and service id SRS puts in every API envelope.
// ServiceID changes on every SRS start.
type Identity struct {
	ServerID  string
	ServiceID string
	PID       string
}

// LiveStream is a stream of a Snapshot with its vhost resolved to a name.
type LiveStream struct {
	Stream
	VhostName string
}

// Snapshot is one consistent reading of an SRS server: every page of the
// stream list, with vhost ids resolved to names.
type Snapshot struct {
	Identity
	Streams []LiveStream
}
