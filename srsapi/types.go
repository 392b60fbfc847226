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
	// Server is the configured SRS server name the hook URL names
	// (?server=<name>), "" when it names none. Not part of SRS's body.
	Server string `json:"-"`
	// Admitted marks a hook another replica of the agent already answered
	// from the policy with its full param (publish token included) and
	// forwarded without the token: the token check is not repeated. Never
	// set from an SRS body.
	Admitted bool `json:"-"`
}

// Stream is one entry of GET /api/v1/streams/. Vhost is the vhost ID.
type Stream struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Vhost     string  `json:"vhost"`
	App       string  `json:"app"`
	TcURL     string  `json:"tcUrl"`
	URL       string  `json:"url"`
	LiveMs    int64   `json:"live_ms"`
	Clients   int     `json:"clients"`
	Frames    int64   `json:"frames"`
	SendBytes int64   `json:"send_bytes"`
	RecvBytes int64   `json:"recv_bytes"`
	Kbps      Kbps    `json:"kbps"`
	Publish   Publish `json:"publish"`
	Video     *Video  `json:"video"`
	Audio     *Audio  `json:"audio"`
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

// ClientInfo is one entry of GET /api/v1/clients/: a publisher or a player.
// Vhost is the vhost ID and Stream the stream ID; ID equals the stream's
// publish.cid for a publisher and the hook's client_id.
type ClientInfo struct {
	ID        string  `json:"id"`
	Vhost     string  `json:"vhost"`
	Stream    string  `json:"stream"`
	IP        string  `json:"ip"`
	PageURL   string  `json:"pageUrl"`
	SwfURL    string  `json:"swfUrl"`
	TcURL     string  `json:"tcUrl"`
	URL       string  `json:"url"`
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Publish   bool    `json:"publish"`
	Alive     float64 `json:"alive"`
	SendBytes int64   `json:"send_bytes"`
	RecvBytes int64   `json:"recv_bytes"`
	Kbps      Kbps    `json:"kbps"`
}

// Summary is the data of GET /api/v1/summaries.
type Summary struct {
	OK     bool          `json:"ok"`
	NowMs  int64         `json:"now_ms"`
	Self   SummarySelf   `json:"self"`
	System SummarySystem `json:"system"`
}

// SummarySelf describes the SRS process. PID is a number here, unlike the
// envelope's string pid.
type SummarySelf struct {
	Version    string  `json:"version"`
	PID        int     `json:"pid"`
	PPID       int     `json:"ppid"`
	Argv       string  `json:"argv"`
	Cwd        string  `json:"cwd"`
	MemKbyte   int64   `json:"mem_kbyte"`
	MemPercent float64 `json:"mem_percent"`
	CPUPercent float64 `json:"cpu_percent"`
	SrsUptime  int64   `json:"srs_uptime"`
}

// SummarySystem describes the host SRS runs on (field names as SRS spells them).
type SummarySystem struct {
	CPUPercent      float64 `json:"cpu_percent"`
	DiskReadKBps    int64   `json:"disk_read_KBps"`
	DiskWriteKBps   int64   `json:"disk_write_KBps"`
	DiskBusyPercent float64 `json:"disk_busy_percent"`
	MemRAMKbyte     int64   `json:"mem_ram_kbyte"`
	MemRAMPercent   float64 `json:"mem_ram_percent"`
	MemSwapKbyte    int64   `json:"mem_swap_kbyte"`
	MemSwapPercent  float64 `json:"mem_swap_percent"`
	CPUs            int     `json:"cpus"`
	CPUsOnline      int     `json:"cpus_online"`
	Uptime          float64 `json:"uptime"`
	IldeTime        float64 `json:"ilde_time"`
	Load1m          float64 `json:"load_1m"`
	Load5m          float64 `json:"load_5m"`
	Load15m         float64 `json:"load_15m"`
	NetSampleTime   int64   `json:"net_sample_time"`
	NetRecvBytes    int64   `json:"net_recv_bytes"`
	NetSendBytes    int64   `json:"net_send_bytes"`
	NetRecviBytes   int64   `json:"net_recvi_bytes"`
	NetSendiBytes   int64   `json:"net_sendi_bytes"`
	SrsSampleTime   int64   `json:"srs_sample_time"`
	SrsRecvBytes    int64   `json:"srs_recv_bytes"`
	SrsSendBytes    int64   `json:"srs_send_bytes"`
	ConnSys         int     `json:"conn_sys"`
	ConnSysEt       int     `json:"conn_sys_et"`
	ConnSysTw       int     `json:"conn_sys_tw"`
	ConnSysUDP      int     `json:"conn_sys_udp"`
	ConnSrs         int     `json:"conn_srs"`
}
