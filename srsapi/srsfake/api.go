package srsfake

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// serverHeader is the Server header SRS 6.0.157 sends.
const serverHeader = "SRS/6.0.157(Hang)"

// ServeHTTP serves the SRS HTTP API under /api/ and the control API under
// /control/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/control/") {
		s.serveControl(w, r)
		return
	}
	s.mu.Lock()
	down, status, latency := s.down, s.status, s.latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if down {
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	w.Header().Set("Server", serverHeader)
	if status != 0 {
		http.Error(w, "fake-srs: injected status "+strconv.Itoa(status), status)
		return
	}
	s.serveAPI(w, r)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch p {
	case "/api/v1", "/api/v1/streams", "/api/v1/vhosts", "/api/v1/clients":
		redirect(w, r)
		return
	case "/api/v1/versions":
		s.writeEnvelope(w, func(e srsapi.Envelope) any {
			return srsapi.VersionsResponse{Envelope: e, Data: srsapi.Version{Major: 6, Minor: 0, Revision: 157, Version: "6.0.157"}}
		})
		return
	case "/api/v1/summaries":
		s.writeEnvelope(w, s.summary)
		return
	case "/api/v1/":
		s.writeEnvelope(w, func(e srsapi.Envelope) any { return e })
		return
	}
	switch {
	case strings.HasPrefix(p, srsapi.PathStreams):
		s.serveStreams(w, r, strings.TrimPrefix(p, srsapi.PathStreams))
	case strings.HasPrefix(p, srsapi.PathVhosts):
		s.serveVhosts(w, strings.TrimPrefix(p, srsapi.PathVhosts))
	case strings.HasPrefix(p, srsapi.PathClients):
		s.serveClients(w, r, strings.TrimPrefix(p, srsapi.PathClients))
	default:
		http.NotFound(w, r)
	}
}

// redirect answers like SRS for a list path without trailing slash.
func redirect(w http.ResponseWriter, r *http.Request) {
	loc := r.URL.Path + "/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	body := "Redirect to " + loc
	h := w.Header()
	h.Set("Connection", "Close")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Location", loc)
	w.WriteHeader(http.StatusFound)
	_, _ = w.Write([]byte(body))
}

// page applies SRS's paging: count = max(10, count), start clamped.
func page(r *http.Request, n int) (start, end int) {
	q := r.URL.Query()
	start, _ = strconv.Atoi(q.Get("start"))
	count, _ := strconv.Atoi(q.Get("count"))
	count = max(10, count)
	start = min(max(0, start), n)
	return start, min(start+count, n)
}

func (s *Server) serveStreams(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	now := time.Now()
	env := s.envelopeLocked()
	if id == "" {
		all := s.listLocked(now)
		s.mu.Unlock()
		start, end := page(r, len(all))
		writeJSON(w, srsapi.StreamsResponse{Envelope: env, Streams: all[start:end]})
		return
	}
	for _, st := range s.streams {
		if st.id == id {
			one := s.renderLocked(st, now)
			s.mu.Unlock()
			writeJSON(w, srsapi.StreamResponse{Envelope: env, Stream: &one})
			return
		}
	}
	s.mu.Unlock()
	writeNotFound(w)
}

func (s *Server) serveVhosts(w http.ResponseWriter, id string) {
	s.mu.Lock()
	env := s.envelopeLocked()
	list := make([]srsapi.Vhost, 0, len(s.used))
	for _, v := range s.used {
		list = append(list, s.vhostLocked(v))
	}
	s.mu.Unlock()
	if id == "" {
		writeJSON(w, srsapi.VhostsResponse{Envelope: env, Vhosts: list})
		return
	}
	for i := range list {
		if list[i].ID == id {
			writeJSON(w, srsapi.VhostResponse{Envelope: env, Vhost: &list[i]})
			return
		}
	}
	writeNotFound(w)
}

func (s *Server) vhostLocked(v *vhost) srsapi.Vhost {
	out := srsapi.Vhost{ID: v.id, Name: v.name, Enabled: true}
	for _, st := range s.streams {
		if st.vhost == v.name {
			out.Streams++
			out.Clients++
		}
	}
	return out
}

func (s *Server) serveClients(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	env := s.envelopeLocked()
	now := time.Now()
	var list []srsapi.ClientInfo
	keys := map[string]srsapi.StreamKey{}
	for key, st := range s.streams {
		if st.cid == "" {
			continue
		}
		keys[st.cid] = key
		list = append(list, srsapi.ClientInfo{
			ID: st.cid, Vhost: s.vhosts[st.vhost].id, Stream: st.id, IP: "127.0.0.1",
			TcURL: st.tcURL, URL: streamURL(st.vhost, st.app, st.name), Name: st.name,
			Type: "fmle-publish", Publish: true, Alive: now.Sub(st.since).Seconds(),
		})
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	if id == "" {
		if list == nil {
			list = []srsapi.ClientInfo{}
		}
		start, end := page(r, len(list))
		writeJSON(w, srsapi.ClientsResponse{Envelope: env, Clients: list[start:end]})
		return
	}
	for i := range list {
		if list[i].ID != id {
			continue
		}
		if r.Method == http.MethodDelete { // kick the publisher: on_unpublish, then gone
			key := keys[id]
			_ = s.Unpublish(r.Context(), key.Vhost, key.App, key.Stream)
			writeJSON(w, env)
			return
		}
		writeJSON(w, srsapi.ClientResponse{Envelope: env, Client: &list[i]})
		return
	}
	writeNotFound(w)
}

func (s *Server) summary(e srsapi.Envelope) any {
	pid, _ := strconv.Atoi(e.PID)
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	now := time.Now()
	return srsapi.SummariesResponse{Envelope: e, Data: srsapi.Summary{
		OK: true, NowMs: now.UnixMilli(),
		Self: srsapi.SummarySelf{Version: "6.0.157", PID: pid, PPID: 1, Argv: "./objs/srs -c conf/srs.conf", Cwd: "/usr/local/srs",
			SrsUptime: int64(now.Sub(started).Seconds())},
		System: srsapi.SummarySystem{CPUs: 1, CPUsOnline: 1, NetSampleTime: now.UnixMilli(), SrsSampleTime: now.UnixMilli()},
	}}
}

func (s *Server) envelopeLocked() srsapi.Envelope {
	return srsapi.Envelope{Code: 0, Server: s.serverID, Service: s.serviceID, PID: s.pid}
}

func (s *Server) writeEnvelope(w http.ResponseWriter, build func(srsapi.Envelope) any) {
	s.mu.Lock()
	env := s.envelopeLocked()
	s.mu.Unlock()
	writeJSON(w, build(env))
}

// writeNotFound answers like SRS for an unknown id: HTTP 200 {"code":2048}.
func writeNotFound(w http.ResponseWriter) {
	writeJSON(w, map[string]int{"code": srsapi.CodeNotFound})
}

// writeJSON writes v pretty-printed, as SRS does.
func writeJSON(w http.ResponseWriter, v any) {
	writeJSONStatus(w, http.StatusOK, v)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		http.Error(w, "fake-srs: encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
