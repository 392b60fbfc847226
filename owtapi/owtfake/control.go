package owtfake

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
)

// maxControlBody bounds control API request bodies.
const maxControlBody = 1 << 20

// serveControl serves the unauthenticated JSON control API under /control/.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /control/state":
		writeJSON(w, http.StatusOK, s.Dump())
	case "GET /control/counts":
		writeJSON(w, http.StatusOK, s.Counts())
	case "POST /control/reset-counts":
		s.ResetCounts()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	case "GET /control/fault":
		writeJSON(w, http.StatusOK, s.currentFaults())
	case "POST /control/fault":
		var f faultSettings
		if !decodeControl(w, r, &f) {
			return
		}
		if err := s.applyFaults(f); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.currentFaults())
	case "GET /control/outputs":
		writeJSON(w, http.StatusOK, s.Outputs())
	case "POST /control/drop-output":
		var req struct{ Room, Output string }
		if !decodeControl(w, r, &req) {
			return
		}
		if err := s.DropOutput(req.Room, req.Output); err != nil {
			controlError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	case "POST /control/wipe":
		s.Wipe()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	case "POST /control/drop-stream":
		var req struct{ Room, Stream string }
		if !decodeControl(w, r, &req) {
			return
		}
		if err := s.DropStream(req.Room, req.Stream); err != nil {
			controlError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	case "POST /control/participant", "DELETE /control/participant":
		var req struct {
			Room string `json:"room"`
			Participant
		}
		if !decodeControl(w, r, &req) {
			return
		}
		var err error
		if r.Method == http.MethodPost {
			err = s.AddParticipant(req.Room, req.Participant)
		} else {
			err = s.RemoveParticipant(req.Room, req.ID)
		}
		if err != nil {
			controlError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	case "POST /control/room":
		var req struct {
			Service string    `json:"service"`
			Name    string    `json:"name"`
			Views   *[]string `json:"views"`
		}
		if !decodeControl(w, r, &req) {
			return
		}
		service, ok := s.pickService(req.Service)
		if !ok {
			controlError(w, http.StatusBadRequest, "service "+req.Service+" is not configured; pass one of the configured service ids")
			return
		}
		if req.Name == "" {
			controlError(w, http.StatusBadRequest, "name is required")
			return
		}
		var views []string
		if req.Views != nil {
			views = append([]string{}, (*req.Views)...)
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": s.CreateRoomDirect(service, req.Name, views)})
	case "POST /control/foreign-stream":
		var req struct {
			Room string         `json:"room"`
			Info map[string]any `json:"info"`
		}
		if !decodeControl(w, r, &req) {
			return
		}
		id := s.AddForeignStream(req.Room, req.Info)
		if id == "" {
			controlError(w, http.StatusNotFound, "room "+req.Room+" does not exist")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id})
	default:
		controlError(w, http.StatusNotFound, "unknown control endpoint "+route)
	}
}

// pickService resolves a control request's service; "" means the only
// configured one (or the smallest id when there are several).
func (s *Server) pickService(service string) (string, bool) {
	if service != "" {
		service = strings.ToLower(service)
		_, ok := s.services[service]
		return service, ok
	}
	ids := make([]string, 0, len(s.services))
	for id := range s.services {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return "", false
	}
	sort.Strings(ids)
	return ids[0], true
}

// decodeControl decodes a JSON control body (empty = all defaults).
func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody))
	if err != nil {
		controlError(w, http.StatusBadRequest, "cannot read the request body: "+err.Error())
		return false
	}
	if len(raw) == 0 {
		return true
	}
	if err := json.Unmarshal(raw, v); err != nil {
		controlError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// controlError writes a control API error.
func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}
