package srsapi

// Envelope holds the fields SRS puts in every API answer. Code 0 means
// success; 2048 means "not found". PID is a string.
type Envelope struct {
	Code    int    `json:"code"`
	Server  string `json:"server"`
	Service string `json:"service"`
	PID     string `json:"pid"`
}

func (e *Envelope) envelope() *Envelope { return e }

// Identity returns the server, service and process ids of the envelope.
func (e Envelope) Identity() Identity {
	return Identity{ServerID: e.Server, ServiceID: e.Service, PID: e.PID}
}

// StreamsResponse is the answer of GET /api/v1/streams/.
type StreamsResponse struct {
	Envelope
	Streams []Stream `json:"streams"`
}

// StreamResponse is the answer of GET /api/v1/streams/<id>.
type StreamResponse struct {
	Envelope
	Stream *Stream `json:"stream"`
}

// VhostsResponse is the answer of GET /api/v1/vhosts/.
type VhostsResponse struct {
	Envelope
	Vhosts []Vhost `json:"vhosts"`
}

// VhostResponse is the answer of GET /api/v1/vhosts/<id>.
type VhostResponse struct {
	Envelope
	Vhost *Vhost `json:"vhost"`
}

// ClientsResponse is the answer of GET /api/v1/clients/.
type ClientsResponse struct {
	Envelope
	Clients []ClientInfo `json:"clients"`
}

// ClientResponse is the answer of GET /api/v1/clients/<id>.
type ClientResponse struct {
	Envelope
	Client *ClientInfo `json:"client"`
}

// VersionsResponse is the answer of GET /api/v1/versions.
type VersionsResponse struct {
	Envelope
	Data Version `json:"data"`
}

// SummariesResponse is the answer of GET /api/v1/summaries.
type SummariesResponse struct {
	Envelope
	Data Summary `json:"data"`
}

// SRS API error codes seen in envelopes.
const (
	CodeOK       = 0
	CodeNotFound = 2048
)
