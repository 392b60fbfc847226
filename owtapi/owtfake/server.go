package owtfake

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options configures a fake OWT server.
type Options struct {
	// Services maps service id (24 hex characters) to service key; at least one.
	Services map[string]string
	// IdleTimeout drops the mixed streams of a room that has had neither
	// inputs nor participants for this long (real OWT: 30 s); 0 = never.
	IdleTimeout time.Duration
	// Seed seeds the random ids and fault decisions; 0 = time based.
	Seed int64
	// RecordingHost is the recording node address reported in each
	// recording's storage.host (default 127.0.0.1).
	RecordingHost string
}

// Server is an in-memory OWT management API; it is an http.Handler and safe
// for concurrent use.
type Server struct {
	services    map[string]string // lowercase service id -> key; immutable
	idleTimeout time.Duration

	mu           sync.Mutex
	ids          *idSource
	rooms        map[string]*room
	byService    map[string][]*room // each sorted by id ascending
	created      []CreateRecord
	deleted      []DeleteRecord
	modified     []ModifyRecord
	roomsCreated []RoomRecord
	counts       map[string]int

	outputsCreated []OutputRecord
	writes         []WriteRecord
	recordingHost  string

	faultMu sync.Mutex
	faults  faultState
}

// New returns an empty server that knows the given services.
func New(opts Options) *Server {
	s := &Server{
		services:    make(map[string]string, len(opts.Services)),
		idleTimeout: opts.IdleTimeout,
		ids:         newIDSource(opts.Seed),
		rooms:       map[string]*room{},
		byService:   map[string][]*room{},
		counts:      map[string]int{},

		recordingHost: opts.RecordingHost,
	}
	if s.recordingHost == "" {
		s.recordingHost = "127.0.0.1"
	}
	for id, key := range opts.Services {
		s.services[strings.ToLower(id)] = key
	}
	faultSeed := opts.Seed
	if faultSeed != 0 {
		faultSeed++
	}
	s.faults = newFaultState(faultSeed)
	return s
}

// call is one API request being served.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	v11     bool   // served under /v1.1
	service string // authenticated service id
	room    string
	sub     string // stream or participant id
	body    any
}

// handlerFunc serves one matched route.
type handlerFunc func(s *Server, c *call)

// ServeHTTP serves /v1/..., /v1.1/... and the control API under /control/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/control/") {
		s.serveControl(w, r)
		return
	}
	setCommonHeaders(w.Header())
	if r.Method == http.MethodOptions {
		writeText(w, "text/plain; charset=utf-8", "OK")
		return
	}
	c := &call{w: w, r: r}
	name, h := match(r.Method, splitPath(r.URL), c)
	s.mu.Lock()
	s.counts[name]++
	if r.Method != http.MethodGet && len(s.writes) < maxWrites {
		s.writes = append(s.writes, WriteRecord{Call: name, Method: r.Method, Path: r.URL.Path, UserAgent: r.Header.Get("User-Agent"), Time: time.Now()})
	}
	s.mu.Unlock()
	if isVersioned(r.URL.Path) && !s.injectFaults(w, r, name) {
		return
	}
	body, perr := readBody(r)
	if perr != nil {
		writeError(w, *perr)
		return
	}
	c.body = body
	if needsAuth(r.Method, r.URL.Path) {
		service, aerr := s.authenticate(r.Header.Get("Authorization"))
		if aerr != nil {
			writeError(w, *aerr)
			return
		}
		c.service = service
	}
	h(s, c)
}

// splitPath returns the decoded path segments, without empty ones at the ends.
func splitPath(u *url.URL) []string {
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i, p := range parts {
		if d, err := url.PathUnescape(p); err == nil {
			parts[i] = d
		}
	}
	return parts
}

// isVersioned reports whether a path is under /v1 or /v1.1 (faults apply).
func isVersioned(path string) bool {
	return path == "/v1" || path == "/v1.1" || strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v1.1/")
}

// needsAuth mirrors api.js: MAuth on /v1/rooms*, /v1.1/rooms*, /services*
// and /v1.1/stream-engine* for GET, POST, DELETE, PUT and PATCH.
func needsAuth(method, path string) bool {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	for _, p := range []string{"/v1/rooms", "/v1.1/rooms", "/services", "/v1.1/stream-engine"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// Route names used by Counts and the fault knobs.
const (
	RouteListRooms        = "list_rooms"
	RouteCreateRoom       = "create_room"
	RouteGetRoom          = "get_room"
	RouteUpdateRoom       = "update_room"
	RoutePatchRoom        = "patch_room"
	RouteDeleteRoom       = "delete_room"
	RouteListStreams      = "list_streams"
	RouteGetStream        = "get_stream"
	RouteStartStreamingIn = "start_streaming_in"
	RouteStopStreamingIn  = "stop_streaming_in" // DELETE …/streaming-ins/{id} and …/streams/{id}
	RoutePatchStream      = "patch_stream"
	RouteListParticipants = "list_participants"
	RouteGetParticipant   = "get_participant"
	RouteDropParticipant  = "delete_participant"
	RouteRoomSubresource  = "room_subresource" // other /rooms/{id}/… paths (404/1001 after the room check)
	RouteNotFound         = "not_found"
)

// match finds the route of a request and fills the path parameters of c.
func match(method string, segs []string, c *call) (string, handlerFunc) {
	if len(segs) < 2 || (segs[0] != "v1" && segs[0] != "v1.1") || segs[1] != "rooms" {
		return RouteNotFound, (*Server).handleNotFound
	}
	c.v11 = segs[0] == "v1.1"
	switch len(segs) {
	case 2:
		switch method {
		case http.MethodGet:
			return RouteListRooms, (*Server).handleListRooms
		case http.MethodPost:
			return RouteCreateRoom, (*Server).handleCreateRoom
		}
		return RouteNotFound, (*Server).handleNotFound
	case 3:
		c.room = segs[2]
		switch method {
		case http.MethodGet:
			return RouteGetRoom, (*Server).handleGetRoom
		case http.MethodPut:
			return RouteUpdateRoom, (*Server).handleUpdateRoom
		case http.MethodDelete:
			return RouteDeleteRoom, (*Server).handleDeleteRoom
		case http.MethodPatch:
			return RoutePatchRoom, (*Server).handlePatchRoom
		}
		return RouteNotFound, (*Server).handleNotFound
	}
	c.room = segs[2]
	if len(segs) <= 5 {
		if len(segs) == 5 {
			c.sub = segs[4]
		}
		resource := segs[3]
		if len(segs) == 5 {
			resource += "/id"
		}
		if name, h, ok := matchOutputs(method, resource); ok {
			return name, h
		}
		switch method + " " + resource {
		case "GET streams":
			return RouteListStreams, (*Server).handleListStreams
		case "GET streams/id":
			return RouteGetStream, (*Server).handleGetStream
		case "PATCH streams/id":
			return RoutePatchStream, (*Server).handlePatchStream
		case "DELETE streams/id", "DELETE streaming-ins/id":
			return RouteStopStreamingIn, (*Server).handleDeleteStream
		case "POST streaming-ins":
			return RouteStartStreamingIn, (*Server).handleStartStreamingIn
		case "GET participants":
			return RouteListParticipants, (*Server).handleListParticipants
		case "GET participants/id":
			return RouteGetParticipant, (*Server).handleGetParticipant
		case "DELETE participants/id":
			return RouteDropParticipant, (*Server).handleDropParticipant
		}
	}
	return RouteRoomSubresource, (*Server).handleRoomSubresource
}

// handleNotFound answers an unknown path.
func (s *Server) handleNotFound(c *call) {
	writeError(c.w, errResourceNotFound)
}

// handleRoomSubresource runs the v1 room check, then answers 404/1001.
func (s *Server) handleRoomSubresource(c *call) {
	s.mu.Lock()
	_, err := s.ownedRoom(c)
	s.mu.Unlock()
	if err != nil {
		writeError(c.w, *err)
		return
	}
	writeError(c.w, errResourceNotFound)
}

// ownedRoom is the v1 room check: the room must belong to the caller's
// service. Callers hold s.mu.
func (s *Server) ownedRoom(c *call) (*room, *apiError) {
	r := s.rooms[c.room]
	if r == nil || r.service != c.service {
		return nil, &errRoomNotFound
	}
	r.refresh(time.Now(), s.idleTimeout)
	return r, nil
}

// streamRoom is the room lookup of the stream routes: the v1 room check,
// or under /v1.1 no ownership check at all (nil, nil when absent).
func (s *Server) streamRoom(c *call) (*room, *apiError) {
	if !c.v11 {
		return s.ownedRoom(c)
	}
	r := s.rooms[c.room]
	if r != nil {
		r.refresh(time.Now(), s.idleTimeout)
	}
	return r, nil
}
