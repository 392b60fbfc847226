package srsfake

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// Options configures a fake SRS.
type Options struct {
	HookURL     string       // on_publish/on_unpublish target; "" = no hooks
	PlayHookURL string       // optional on_play/on_stop target (see Play and Stop)
	HTTPClient  *http.Client // optional; default: 30 s timeout like SRS and a new connection per hook
	Vhosts      []string     // configured vhost names; __defaultVhost__ always exists
}

// Server is an in-memory SRS 6. It is safe for concurrent use.
type Server struct {
	opts     Options
	serverID string // kept across restarts, like SRS's srs.id file

	mu        sync.Mutex
	serviceID string
	pid       string
	started   time.Time
	vhosts    map[string]*vhost // by name
	used      []*vhost          // vhosts in order of first use
	streams   map[srsapi.StreamKey]*stream
	down      bool
	status    int
	latency   time.Duration
}

type vhost struct {
	id, name string
	used     bool
}

type publishState int

const (
	statePending      publishState = iota // on_publish hook in flight
	stateActive                           // publishing
	stateUnpublishing                     // on_unpublish hook in flight
)

type stream struct {
	id, vhost, app, name string
	tcURL, param         string
	cid                  string // publisher client id
	state                publishState
	since                time.Time
}

// New returns a fake SRS with the given options.
func New(opts Options) *Server {
	s := &Server{opts: opts, serverID: newObjectID()}
	s.reset()
	return s
}

// reset starts a new "process": new service id, pid and vhost ids, no streams.
func (s *Server) reset() {
	s.serviceID = randomID(8)
	s.pid = strconv.Itoa(1000 + rand.IntN(60000))
	s.started = time.Now()
	s.vhosts = map[string]*vhost{}
	s.used = nil
	for _, name := range append([]string{srsapi.DefaultVhost}, s.opts.Vhosts...) {
		if name != "" {
			s.vhosts[name] = &vhost{id: newObjectID(), name: name}
		}
	}
	s.streams = map[srsapi.StreamKey]*stream{}
}

// Restart simulates an SRS restart: new service id, new vhost ids, all
// streams gone, no hooks sent.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

// SetDown makes every /api/ request fail by closing the connection without
// an answer (true) or restores normal answers (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetStatus makes /api/ requests answer this HTTP status (0 = normal).
func (s *Server) SetStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

// SetLatency delays every /api/ answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Identity returns the ids the API envelope carries.
func (s *Server) Identity() srsapi.Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identityLocked()
}

func (s *Server) identityLocked() srsapi.Identity {
	return srsapi.Identity{ServerID: s.serverID, ServiceID: s.serviceID, PID: s.pid}
}

// Streams returns the current stream list as the API shows it, by id.
func (s *Server) Streams() []srsapi.Stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked(time.Now())
}

// listLocked renders every stream sorted by id.
func (s *Server) listLocked(now time.Time) []srsapi.Stream {
	out := make([]srsapi.Stream, 0, len(s.streams))
	for _, st := range s.streams {
		out = append(out, s.renderLocked(st, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// renderLocked turns a stream into the API's stream object.
func (s *Server) renderLocked(st *stream, now time.Time) srsapi.Stream {
	out := srsapi.Stream{
		ID: st.id, Name: st.name, Vhost: s.vhosts[st.vhost].id, App: st.app,
		TcURL: st.tcURL, URL: streamURL(st.vhost, st.app, st.name),
		LiveMs: now.UnixMilli(), Clients: 1, SendBytes: 4386, RecvBytes: 3436,
	}
	switch st.state {
	case stateActive:
		secs := now.Sub(st.since).Seconds()
		out.Frames = int64(secs * 25)
		out.RecvBytes += int64(secs * 32000)
		out.Publish = srsapi.Publish{Active: true, CID: st.cid}
		out.Video = &srsapi.Video{Codec: "H264", Profile: "Other", Level: "1.3", Width: 320, Height: 240}
		out.Audio = &srsapi.Audio{Codec: "AAC", SampleRate: 44100, Channel: 2, Profile: "LC"}
	case stateUnpublishing:
		out.Publish = srsapi.Publish{Active: false, CID: st.cid}
	}
	return out
}

// streamURL is the API url and the hook stream_url: "/app/stream" on the
// default vhost, "vhost/app/stream" otherwise.
func streamURL(vhost, app, name string) string {
	if vhost == srsapi.DefaultVhost {
		return "/" + app + "/" + name
	}
	return vhost + "/" + app + "/" + name
}

// resolveLocked maps a vhost name to a configured vhost, falling back to the
// default vhost like SRS, and marks it used if use is set.
func (s *Server) resolveLocked(name string, use bool) *vhost {
	v, ok := s.vhosts[name]
	if !ok {
		v = s.vhosts[srsapi.DefaultVhost]
	}
	if use && !v.used {
		v.used = true
		s.used = append(s.used, v)
	}
	return v
}

// Publish publishes a stream the way an RTMP encoder would: it posts
// on_publish (if a hook URL is set) and makes the stream active only if the
// hook accepts. While the hook is pending the stream is listed with
// publish {"active":false}. A second publish of a listed stream posts
// on_publish for a new client id, then fails with CodeStreamBusy.
func (s *Server) Publish(ctx context.Context, vhostName, app, name, param string) (clientID, streamID string, err error) {
	if app == "" || name == "" {
		return "", "", &PublishError{Code: CodeInvalidArguments, Stream: vhostName + "/" + app + "/" + name, Reason: "app and stream must not be empty"}
	}
	s.mu.Lock()
	v := s.resolveLocked(vhostName, true)
	key := srsapi.StreamKey{Vhost: v.name, App: app, Stream: name}
	clientID = newClientID()
	st, busy := s.streams[key]
	if !busy {
		st = &stream{id: newObjectID(), vhost: v.name, app: app, name: name, tcURL: "rtmp://127.0.0.1:1935/" + app, param: param, state: statePending}
		s.streams[key] = st
	}
	body := s.hookBodyLocked(srsapi.ActionOnPublish, st, clientID, param)
	hookURL := s.opts.HookURL
	s.mu.Unlock()

	if hookURL != "" {
		err = s.postHook(ctx, hookURL, body)
	}
	if busy {
		if err == nil {
			err = &PublishError{Code: CodeStreamBusy, Stream: key.String(), Reason: "stream is busy: it already has a publisher"}
		}
		return clientID, st.id, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[key] != st {
		return clientID, st.id, &PublishError{Code: CodeRestarted, Stream: key.String(), Reason: "SRS restarted while on_publish was pending"}
	}
	if err != nil {
		delete(s.streams, key)
		if pe, ok := err.(*PublishError); ok {
			pe.Stream = key.String()
		}
		return clientID, st.id, err
	}
	st.state, st.cid, st.since = stateActive, clientID, time.Now()
	return clientID, st.id, nil
}

// PublishSilently makes a stream active without any hook (a lost hook). If
// the stream is already listed it becomes active with a new client id and
// keeps its stream id.
func (s *Server) PublishSilently(vhostName, app, name, param string) (clientID, streamID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.resolveLocked(vhostName, true)
	key := srsapi.StreamKey{Vhost: v.name, App: app, Stream: name}
	st, ok := s.streams[key]
	if !ok {
		st = &stream{id: newObjectID(), vhost: v.name, app: app, name: name, tcURL: "rtmp://127.0.0.1:1935/" + app, param: param}
		s.streams[key] = st
	}
	st.state, st.cid, st.since = stateActive, newClientID(), time.Now()
	return st.cid, st.id
}

// Unpublish stops a publisher: the stream is listed with active:false while
// on_unpublish is pending, then removed. Hook errors are ignored, as in SRS.
func (s *Server) Unpublish(ctx context.Context, vhostName, app, name string) error {
	s.mu.Lock()
	v := s.resolveLocked(vhostName, false)
	key := srsapi.StreamKey{Vhost: v.name, App: app, Stream: name}
	st, ok := s.streams[key]
	if !ok || st.state != stateActive {
		s.mu.Unlock()
		return &PublishError{Code: CodeStreamNotFound, Stream: key.String(), Reason: "no active publisher to unpublish"}
	}
	st.state = stateUnpublishing
	body := s.hookBodyLocked(srsapi.ActionOnUnpublish, st, st.cid, st.param)
	hookURL := s.opts.HookURL
	s.mu.Unlock()

	if hookURL != "" {
		_ = s.postHook(ctx, hookURL, body) // SRS ignores on_unpublish failures
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[key] == st {
		delete(s.streams, key)
	}
	return nil
}

// UnpublishSilently removes a stream without any hook.
func (s *Server) UnpublishSilently(vhostName, app, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.resolveLocked(vhostName, false)
	delete(s.streams, srsapi.StreamKey{Vhost: v.name, App: app, Stream: name})
}

// Play posts on_play to PlayHookURL for a player of the stream and reports
// whether SRS would accept the play. It does not change the stream list.
func (s *Server) Play(ctx context.Context, vhostName, app, name, param string) (clientID string, err error) {
	return s.playHook(ctx, srsapi.ActionOnPlay, vhostName, app, name, param, newClientID())
}

// Stop posts on_stop to PlayHookURL for the player clientID; errors are
// ignored, as in SRS.
func (s *Server) Stop(ctx context.Context, vhostName, app, name, param, clientID string) {
	_, _ = s.playHook(ctx, srsapi.ActionOnStop, vhostName, app, name, param, clientID)
}

func (s *Server) playHook(ctx context.Context, action, vhostName, app, name, param, clientID string) (string, error) {
	s.mu.Lock()
	v := s.resolveLocked(vhostName, true)
	key := srsapi.StreamKey{Vhost: v.name, App: app, Stream: name}
	st, ok := s.streams[key]
	if !ok { // SRS creates a source for a waiting player; the fake only needs an id.
		st = &stream{id: newObjectID(), vhost: v.name, app: app, name: name, tcURL: "rtmp://127.0.0.1:1935/" + app}
	}
	body := s.hookBodyLocked(action, st, clientID, param)
	hookURL := s.opts.PlayHookURL
	s.mu.Unlock()
	if hookURL == "" {
		return clientID, nil
	}
	err := s.postHook(ctx, hookURL, body)
	if pe, ok := err.(*PublishError); ok {
		pe.Stream = key.String()
	}
	if err != nil {
		return clientID, fmt.Errorf("%s: %w", action, err)
	}
	return clientID, nil
}
