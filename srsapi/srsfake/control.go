package srsfake

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// maxControlBody bounds a control request body.
const maxControlBody = 64 << 10

// ControlPublish is the body of POST /control/publish.
type ControlPublish struct {
	Vhost  string `json:"vhost"`
	App    string `json:"app"`
	Stream string `json:"stream"`
	Param  string `json:"param"`
	Silent bool   `json:"silent"` // no hook (a lost hook)
}

// ControlUnpublish is the body of POST /control/unpublish.
type ControlUnpublish struct {
	Vhost  string `json:"vhost"`
	App    string `json:"app"`
	Stream string `json:"stream"`
	Silent bool   `json:"silent"`
}

// ControlFault is the body of POST /control/fault; absent fields keep their value.
type ControlFault struct {
	Down      *bool `json:"down,omitempty"`
	Status    *int  `json:"status,omitempty"`
	LatencyMs *int  `json:"latency_ms,omitempty"`
}

// ControlState is the answer of GET /control/state.
type ControlState struct {
	Server    string          `json:"server"`
	Service   string          `json:"service"`
	PID       string          `json:"pid"`
	Down      bool            `json:"down"`
	Status    int             `json:"status"`
	LatencyMs int64           `json:"latency_ms"`
	Vhosts    []string        `json:"vhosts"` // names listed by /api/v1/vhosts/
	Streams   []srsapi.Stream `json:"streams"`
}

// controlAnswer is the answer of the control POSTs.
type controlAnswer struct {
	Code     int    `json:"code"`
	Error    string `json:"error,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	StreamID string `json:"stream_id,omitempty"`
	Service  string `json:"service,omitempty"`
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/control/state" {
		if r.Method != http.MethodGet {
			writeJSONStatus(w, http.StatusMethodNotAllowed, controlAnswer{Code: 405, Error: "use GET"})
			return
		}
		writeJSON(w, s.state())
		return
	}
	if r.Method != http.MethodPost {
		writeJSONStatus(w, http.StatusMethodNotAllowed, controlAnswer{Code: 405, Error: "use POST"})
		return
	}
	switch r.URL.Path {
	case "/control/publish":
		var req ControlPublish
		if !decodeControl(w, r, &req) {
			return
		}
		if req.App == "" || req.Stream == "" {
			writeJSONStatus(w, http.StatusBadRequest, controlAnswer{Code: 400, Error: "app and stream are required"})
			return
		}
		if req.Silent {
			cid, sid := s.PublishSilently(req.Vhost, req.App, req.Stream, req.Param)
			writeJSON(w, controlAnswer{ClientID: cid, StreamID: sid})
			return
		}
		cid, sid, err := s.Publish(r.Context(), req.Vhost, req.App, req.Stream, req.Param)
		writeResult(w, err, controlAnswer{ClientID: cid, StreamID: sid})
	case "/control/unpublish":
		var req ControlUnpublish
		if !decodeControl(w, r, &req) {
			return
		}
		if req.Silent {
			s.UnpublishSilently(req.Vhost, req.App, req.Stream)
			writeJSON(w, controlAnswer{})
			return
		}
		writeResult(w, s.Unpublish(r.Context(), req.Vhost, req.App, req.Stream), controlAnswer{})
	case "/control/restart":
		s.Restart()
		writeJSON(w, controlAnswer{Service: s.Identity().ServiceID})
	case "/control/fault":
		var req ControlFault
		if !decodeControl(w, r, &req) {
			return
		}
		if req.Down != nil {
			s.SetDown(*req.Down)
		}
		if req.Status != nil {
			s.SetStatus(*req.Status)
		}
		if req.LatencyMs != nil {
			s.SetLatency(time.Duration(*req.LatencyMs) * time.Millisecond)
		}
		writeJSON(w, s.state())
	default:
		writeJSONStatus(w, http.StatusNotFound, controlAnswer{Code: 404, Error: "unknown control path; use /control/publish, /control/unpublish, /control/restart, /control/fault or /control/state"})
	}
}

// writeResult answers a control POST: 200 on success, 409 with the SRS code
// when SRS would refuse, 404 when the stream is unknown.
func writeResult(w http.ResponseWriter, err error, ok controlAnswer) {
	if err == nil {
		writeJSON(w, ok)
		return
	}
	ans := controlAnswer{Code: 1, Error: err.Error(), ClientID: ok.ClientID, StreamID: ok.StreamID}
	status := http.StatusConflict
	var pe *PublishError
	if errors.As(err, &pe) {
		ans.Code = pe.Code
		if pe.Code == CodeStreamNotFound {
			status = http.StatusNotFound
		}
	}
	writeJSONStatus(w, status, ans)
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeJSONStatus(w, http.StatusBadRequest, controlAnswer{Code: 400, Error: "bad JSON body: " + err.Error()})
		return false
	}
	return true
}

func (s *Server) state() ControlState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ControlState{Server: s.serverID, Service: s.serviceID, PID: s.pid, Down: s.down, Status: s.status,
		LatencyMs: s.latency.Milliseconds(), Vhosts: []string{}, Streams: s.listLocked(time.Now())}
	for _, v := range s.used {
		st.Vhosts = append(st.Vhosts, v.name)
	}
	return st
}
