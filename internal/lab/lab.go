// Package lab runs the in-memory SRS and OWT on loopback and checks what
// OWT holds against what a test or the demo expects. The demo, the
// end-to-end tests and the benchmark share it.
package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi/srsfake"
)

// Service credentials of the lab's OWT.
const (
	ServiceID  = "5f0000000000000000000001"
	ServiceKey = "lab-service-key"
)

// Lab is an in-memory SRS and OWT served on 127.0.0.1.
type Lab struct {
	OWT     *owtfake.Server
	SRS     *srsfake.Server
	OWTURL  string
	SRSURL  string
	servers []*http.Server
}

// Start serves a fake OWT and a fake SRS whose hooks go to hookURL.
func Start(hookURL string, vhosts ...string) (*Lab, error) {
	l := &Lab{
		OWT: owtfake.New(owtfake.Options{Services: map[string]string{ServiceID: ServiceKey}, Seed: 1}),
		SRS: srsfake.New(srsfake.Options{HookURL: hookURL, Vhosts: vhosts}),
	}
	var err error
	if l.OWTURL, err = l.serve(l.OWT); err != nil {
		return nil, err
	}
	if l.SRSURL, err = l.serve(l.SRS); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// StartWithHookListener binds a listener on 127.0.0.1:0 for the agent's
// hooks and starts a lab whose SRS posts its hooks there.
func StartWithHookListener(vhosts ...string) (*Lab, net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	l, err := Start("http://"+ln.Addr().String()+"/api/v1/streams", vhosts...)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return l, ln, nil
}

func (l *Lab) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	l.servers = append(l.servers, s)
	go func() { _ = s.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops both servers.
func (l *Lab) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range l.servers {
		_ = s.Shutdown(ctx)
	}
}

// AgentYAML is an agent.yaml for the lab with the given hook and metrics
// addresses, state file and policy path.
func (l *Lab) AgentYAML(hookAddr, metricsAddr, stateFile, policyFile string) string {
	return fmt.Sprintf(`srs:
  - name: origin
    api: %s
    pull: rtmp://127.0.0.1:1935
owt:
  url: %s
  service_id: %s
  service_key_env: OWT_SERVICE_KEY
hooks:
  listen: %s
agent:
  id: srs-owt-proxy-lab
  state_file: %s
  metrics_listen: %s
policy: %s
`, l.SRSURL, l.OWTURL, ServiceID, hookAddr, stateFile, metricsAddr, policyFile)
}

// Want is the expected content of OWT: room name -> streams ("app/stream")
// that must be pulled into it and be in every one of Views.
type Want struct {
	Rooms map[string][]string
	Views []string
	// Keep lists rooms that must still exist though nothing is expected in
	// them (rooms the agent does not own).
	Keep []string
}

// Check compares OWT with w and returns what differs ("" when equal):
// missing or duplicate rooms, missing, duplicate or extra inputs, inputs
// out of view, and leftover rooms or inputs of the agent.
func Check(st owtfake.State, w Want) string {
	var diffs []string
	byName := map[string][]owtfake.RoomState{}
	for _, r := range st.Rooms {
		byName[r.Name] = append(byName[r.Name], r)
	}
	for name, streams := range w.Rooms {
		rs := byName[name]
		if len(rs) == 0 {
			diffs = append(diffs, fmt.Sprintf("room %q missing", name))
			continue
		}
		if len(rs) > 1 {
			diffs = append(diffs, fmt.Sprintf("room %q exists %d times", name, len(rs)))
		}
		have := map[string][]owtfake.StreamState{}
		for _, s := range rs[0].Streams {
			if s.Type == "streaming" {
				have[StreamOf(s.URL)] = append(have[StreamOf(s.URL)], s)
			}
		}
		for _, want := range streams {
			got := have[want]
			delete(have, want)
			switch {
			case len(got) == 0:
				diffs = append(diffs, fmt.Sprintf("room %q: %s not pulled", name, want))
			case len(got) > 1:
				diffs = append(diffs, fmt.Sprintf("room %q: %s pulled %d times", name, want, len(got)))
			default:
				for _, v := range w.Views {
					if !contains(got[0].InViews, v) {
						diffs = append(diffs, fmt.Sprintf("room %q: %s not in view %q", name, want, v))
					}
				}
			}
		}
		for s := range have {
			diffs = append(diffs, fmt.Sprintf("room %q: unexpected input %s", name, s))
		}
	}
	for _, r := range st.Rooms {
		if _, ok := w.Rooms[r.Name]; ok || contains(w.Keep, r.Name) {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("unexpected room %q (%d streams)", r.Name, len(r.Streams)))
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// StreamOf returns "app/stream" of an rtmp pull URL built by the default template.
func StreamOf(url string) string {
	u := strings.TrimPrefix(url, "rtmp://")
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

// Duplicates counts streaming-ins ever created twice for one room and URL
// while the first was still alive (from the fake's full history).
func Duplicates(st owtfake.State) int {
	type k struct{ room, url string }
	alive := map[k]map[string]bool{}
	deleted := map[string]bool{}
	events := []struct {
		t      time.Time
		create bool
		room   string
		stream string
		url    string
	}{}
	for _, c := range st.Created {
		events = append(events, struct {
			t      time.Time
			create bool
			room   string
			stream string
			url    string
		}{c.Time, true, c.Room, c.Stream, c.URL})
	}
	for _, d := range st.Deleted {
		if d.Kind == "stream" {
			events = append(events, struct {
				t      time.Time
				create bool
				room   string
				stream string
				url    string
			}{d.Time, false, d.Room, d.Stream, d.URL})
		}
		if d.Kind == "room" {
			deleted[d.Room] = true
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].t.Before(events[j].t) })
	dups := 0
	for _, e := range events {
		key := k{e.room, e.url}
		if alive[key] == nil {
			alive[key] = map[string]bool{}
		}
		if e.create {
			if len(alive[key]) > 0 {
				dups++
			}
			alive[key][e.stream] = true
		} else {
			delete(alive[key], e.stream)
		}
	}
	return dups
}

// WaitFor polls cond every 20 ms until it returns "" or the timeout passes;
// it returns the time taken, or an error with the last difference.
func WaitFor(ctx context.Context, timeout time.Duration, cond func() string) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		if last = cond(); last == "" {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), errors.New("not converged after " + timeout.String() + ": " + last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
