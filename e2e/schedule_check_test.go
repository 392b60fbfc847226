package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// labAgentID is agent.id in the lab's agent.yaml.
const labAgentID = "srs-owt-proxy-lab"

// ownership is the agent's attribute block of a streaming-in.
type ownership struct{ agent, stream, op string }

// ownedBy reads the "srs-owt-proxy" attribute block of a streaming-in.
func ownedBy(attrs any) (ownership, bool) {
	m, _ := attrs.(map[string]any)
	root, ok := m["srs-owt-proxy"].(map[string]any)
	if !ok {
		return ownership{}, false
	}
	str := func(k string) string { s, _ := root[k].(string); return s }
	return ownership{agent: str("agent"), stream: str("stream"), op: str("op")}, true
}

// roomNames maps room id to name over the whole history.
func roomNames(st owtfake.State) map[string]string {
	names := map[string]string{}
	for _, r := range st.RoomsCreated {
		names[r.Room] = r.Name
	}
	for _, r := range st.Rooms {
		names[r.ID] = r.Name
	}
	return names
}

// stamp formats a history time for a violation message.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "still live"
	}
	return t.Format("15:04:05.000")
}

// interval is the life of one object in the fake's history, [from, to);
// a zero to means it is still alive.
type interval struct {
	id, note string
	from, to time.Time
}

// overlaps returns the pairs of intervals of one key alive at one instant.
func overlaps(list []interval) [][2]interval {
	sort.SliceStable(list, func(i, j int) bool { return list[i].from.Before(list[j].from) })
	var out [][2]interval
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			if list[i].to.IsZero() || list[j].from.Before(list[i].to) {
				out = append(out, [2]interval{list[i], list[j]})
			}
		}
	}
	return out
}

// checkNoTwoLive is invariant 1: never two live streaming-ins of the agent
// for one SRS stream in one room at the same instant. "Live" starts when
// OWT creates the streaming-in, at the POST, not when it connects: a
// stream still connecting (hidden from lists by a held POST) is already
// pulling the source, and a second POST meanwhile is exactly the
// duplicate the agent promises never to make. It ends at the deletion,
// whatever its reason (API, source lost, room deleted, wipe).
func checkNoTwoLive(st owtfake.State, agent string) []string {
	type key struct{ room, stream string }
	ended := map[key]time.Time{}
	for _, d := range st.Deleted {
		if d.Kind == "stream" {
			ended[key{d.Room, d.Stream}] = d.Time
		}
	}
	lives := map[key][]interval{}
	for _, c := range st.Created {
		own, ok := ownedBy(c.Attributes)
		if !ok || own.agent != agent {
			continue
		}
		k := key{c.Room, own.stream}
		lives[k] = append(lives[k], interval{id: c.Stream, note: "op " + own.op, from: c.Time, to: ended[key{c.Room, c.Stream}]})
	}
	names := roomNames(st)
	var out []string
	for k, list := range lives {
		for _, p := range overlaps(list) {
			out = append(out, fmt.Sprintf("invariant 1 (never two live streaming-ins of one SRS stream in one room): %s in room %q (%s): %s [%s, %s) %s and %s [%s, %s) %s",
				k.stream, names[k.room], k.room, p[0].id, stamp(p[0].from), stamp(p[0].to), p[0].note, p[1].id, stamp(p[1].from), stamp(p[1].to), p[1].note))
		}
	}
	sort.Strings(out)
	return out
}

// checkNoTwinRooms is invariant 1 for rooms: two rooms with one name never
// exist at the same instant when the agent created one of them through the
// API (it must find an existing room by name, never make a second one).
func checkNoTwinRooms(st owtfake.State) []string {
	ended := map[string]time.Time{}
	for _, d := range st.Deleted {
		if d.Kind == "room" {
			ended[d.Room] = d.Time
		}
	}
	byName := map[string][]interval{}
	for _, r := range st.RoomsCreated {
		byName[r.Name] = append(byName[r.Name], interval{id: r.Room, note: "via " + r.Via, from: r.Time, to: ended[r.Room]})
	}
	var out []string
	for name, list := range byName {
		for _, p := range overlaps(list) {
			if p[0].note == "via "+owtfake.ViaControl && p[1].note == "via "+owtfake.ViaControl {
				continue
			}
			out = append(out, fmt.Sprintf("invariant 1 (never two rooms of one name): room %q: %s [%s, %s) %s and %s [%s, %s) %s",
				name, p[0].id, stamp(p[0].from), stamp(p[0].to), p[0].note, p[1].id, stamp(p[1].from), stamp(p[1].to), p[1].note))
		}
	}
	sort.Strings(out)
	return out
}

// checkForeignUntouched is invariant 3: nothing the agent does not own was
// ever modified or deleted. The agent owns the streaming-ins carrying its
// attributes and the rooms created through the API (nobody else uses the
// API here); every API deletion, PATCH or PUT of anything else is a
// violation, and each foreign object is still there as created.
func checkForeignUntouched(st owtfake.State, agent string, foreign []foreignObject) []string {
	type key struct{ room, stream string }
	owned := map[key]bool{}
	for _, c := range st.Created {
		if own, ok := ownedBy(c.Attributes); ok && own.agent == agent {
			owned[key{c.Room, c.Stream}] = true
		}
	}
	apiRooms := map[string]bool{}
	for _, r := range st.RoomsCreated {
		if r.Via == owtfake.ViaAPI {
			apiRooms[r.Room] = true
		}
	}
	names := roomNames(st)
	var out []string
	for _, d := range st.Deleted {
		if d.Reason != owtfake.ReasonAPI {
			continue
		}
		if d.Kind == "room" && !apiRooms[d.Room] {
			out = append(out, fmt.Sprintf("invariant 3 (nothing foreign touched): room %q (%s), not the agent's, deleted at %s", names[d.Room], d.Room, stamp(d.Time)))
		}
		if d.Kind == "stream" && !owned[key{d.Room, d.Stream}] {
			out = append(out, fmt.Sprintf("invariant 3 (nothing foreign touched): stream %s in room %q, not the agent's, deleted at %s", d.Stream, names[d.Room], stamp(d.Time)))
		}
	}
	for _, m := range st.Modified {
		if (m.Kind == "room" && !apiRooms[m.Room]) || (m.Kind == "stream" && !owned[key{m.Room, m.Stream}]) {
			out = append(out, fmt.Sprintf("invariant 3 (nothing foreign touched): %s %s %s in room %q, not the agent's, at %s", m.Op, m.Kind, m.Stream, names[m.Room], stamp(m.Time)))
		}
	}
	rooms := map[string]owtfake.RoomState{}
	for _, r := range st.Rooms {
		rooms[r.ID] = r
	}
	for _, f := range foreign {
		room, ok := rooms[f.room]
		if !ok || room.Name != f.name {
			if f.stream == "" {
				out = append(out, fmt.Sprintf("invariant 3 (nothing foreign touched): foreign room %q (%s) is gone", f.name, f.room))
			}
			continue
		}
		if f.stream == "" {
			continue
		}
		var found *owtfake.StreamState
		for i := range room.Streams {
			if room.Streams[i].ID == f.stream {
				found = &room.Streams[i]
			}
		}
		if found == nil {
			out = append(out, fmt.Sprintf("invariant 3 (nothing foreign touched): foreign stream %s of room %q is gone", f.stream, f.name))
			continue
		}
		got := append([]string{}, found.InViews...)
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(f.views, ",") {
			out = append(out, fmt.Sprintf("invariant 3 (nothing foreign touched): foreign stream %s of room %q in views %v, created in %v", f.stream, f.name, got, f.views))
		}
	}
	return out
}

// quiesce clears every fault and checks invariant 2: with the agent running,
// OWT reaches exactly the desired state and stays there.
func (r *scheduleRun) quiesce() {
	r.clearFaults()
	if r.ha != nil {
		r.checkReplicas()
	} else {
		select {
		case <-r.agent.done:
			r.problem("the agent exited by itself: %v", r.agent.err)
			r.agent = r.startAgent()
		default:
		}
	}
	// An on_publish hint outlives a lost unpublish by the hint TTL, and is
	// dropped at the first SRS reading after it: the desired state is final
	// only then.
	time.Sleep(time.Until(r.lastHook.Add(schedHintTTL + 2*schedInterval)))
	w := r.want()
	within := schedPendingHold + 3*schedOWTTimeout + 10*schedInterval + 2*time.Second
	began := time.Now()
	took, err := lab.WaitFor(t0(), within, func() string { return lab.Check(r.owtState(), w) })
	if err != nil {
		r.problem("invariant 2 (OWT equals the desired state at quiescence): %v", err)
		r.log = append(r.log, fmt.Sprintf("%7.3fs quiescence: not converged after %s", time.Since(r.began).Seconds(), within))
		return
	}
	// Stay a delete grace and a few resyncs longer: a late wrong decision shows.
	time.Sleep(schedGrace + 3*schedInterval*11/10)
	if d := lab.Check(r.owtState(), w); d != "" {
		r.problem("invariant 2 (OWT equals the desired state at quiescence): converged after %s, then drifted: %s", took.Round(time.Millisecond), d)
	}
	r.log = append(r.log, fmt.Sprintf("%7.3fs quiescence: faults cleared, converged in %s", began.Sub(r.began).Seconds(), took.Round(time.Millisecond)))
	r.quiesceOutputs(w)
}

// verdict runs the history invariants on the fake's full history and
// returns every problem of the schedule.
func (r *scheduleRun) verdict() []string {
	st := r.owtState()
	out := append([]string{}, r.problems...)
	out = append(out, checkNoTwoLive(st, labAgentID)...)
	out = append(out, checkNoTwinRooms(st)...)
	out = append(out, checkForeignUntouched(st, labAgentID, r.foreign)...)
	out = append(out, checkNoTwoLiveOutputs(st)...)
	out = append(out, checkNoLoop(st)...)
	return out
}

// TestScheduleCheckers feeds each history checker a history that breaks
// its invariant and one that keeps it: the checkers can fail.
func TestScheduleCheckers(t *testing.T) {
	at := func(ms int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, ms*int(time.Millisecond), time.UTC) }
	attrs := func(agent, stream, op string) any {
		return map[string]any{"srs-owt-proxy": map[string]any{"agent": agent, "stream": stream, "op": op}}
	}
	key := "origin/__defaultVhost__/live/a0"
	foreign := []foreignObject{{room: "rf", name: "wall"}, {room: "rf", stream: "sf", name: "wall", views: []string{"common"}}}
	liveRoom := owtfake.RoomState{ID: "rf", Name: "wall", Streams: []owtfake.StreamState{{ID: "sf", Type: "webrtc", InViews: []string{"common"}}}}
	base := owtfake.State{Rooms: []owtfake.RoomState{liveRoom},
		RoomsCreated: []owtfake.RoomRecord{{Room: "rf", Name: "wall", Via: owtfake.ViaControl, Time: at(0)}, {Room: "r1", Name: "live-a0", Via: owtfake.ViaAPI, Time: at(1)}}}
	cases := []struct {
		name  string
		edit  func(st *owtfake.State)
		check func(st owtfake.State) []string
		fails bool
	}{
		{"one stream, stopped, started again", func(st *owtfake.State) {
			st.Created = []owtfake.CreateRecord{{Room: "r1", Stream: "s1", Attributes: attrs(labAgentID, key, "o1"), Time: at(10)}, {Room: "r1", Stream: "s2", Attributes: attrs(labAgentID, key, "o2"), Time: at(20)}}
			st.Deleted = []owtfake.DeleteRecord{{Kind: "stream", Room: "r1", Stream: "s1", Reason: owtfake.ReasonAPI, Time: at(20)}}
		}, func(st owtfake.State) []string { return checkNoTwoLive(st, labAgentID) }, false},
		{"second POST while the first connects", func(st *owtfake.State) {
			st.Created = []owtfake.CreateRecord{{Room: "r1", Stream: "s1", Attributes: attrs(labAgentID, key, "o1"), Time: at(10)}, {Room: "r1", Stream: "s2", Attributes: attrs(labAgentID, key, "o2"), Time: at(20)}}
			st.Deleted = []owtfake.DeleteRecord{{Kind: "stream", Room: "r1", Stream: "s1", Reason: owtfake.ReasonAPI, Time: at(30)}}
		}, func(st owtfake.State) []string { return checkNoTwoLive(st, labAgentID) }, true},
		{"another agent's stream does not count", func(st *owtfake.State) {
			st.Created = []owtfake.CreateRecord{{Room: "r1", Stream: "s1", Attributes: attrs(labAgentID, key, "o1"), Time: at(10)}, {Room: "r1", Stream: "s2", Attributes: attrs("other", key, "o2"), Time: at(20)}}
		}, func(st owtfake.State) []string { return checkNoTwoLive(st, labAgentID) }, false},
		{"agent room next to the foreign room of that name", func(st *owtfake.State) {
			st.RoomsCreated = append(st.RoomsCreated, owtfake.RoomRecord{Room: "r2", Name: "wall", Via: owtfake.ViaAPI, Time: at(5)})
		}, checkNoTwinRooms, true},
		{"room deleted, then created again", func(st *owtfake.State) {
			st.RoomsCreated = append(st.RoomsCreated, owtfake.RoomRecord{Room: "r3", Name: "live-a0", Via: owtfake.ViaAPI, Time: at(50)})
			st.Deleted = []owtfake.DeleteRecord{{Kind: "room", Room: "r1", Reason: owtfake.ReasonAPI, Time: at(40)}}
		}, checkNoTwinRooms, false},
		{"untouched", func(st *owtfake.State) {},
			func(st owtfake.State) []string { return checkForeignUntouched(st, labAgentID, foreign) }, false},
		{"foreign stream patched", func(st *owtfake.State) {
			st.Modified = []owtfake.ModifyRecord{{Kind: "stream", Room: "rf", Stream: "sf", Op: "patch", Time: at(9)}}
		}, func(st owtfake.State) []string { return checkForeignUntouched(st, labAgentID, foreign) }, true},
		{"foreign room deleted", func(st *owtfake.State) {
			st.Rooms = nil
			st.Deleted = []owtfake.DeleteRecord{{Kind: "room", Room: "rf", Reason: owtfake.ReasonAPI, Time: at(9)}}
		}, func(st owtfake.State) []string { return checkForeignUntouched(st, labAgentID, foreign) }, true},
		{"foreign stream out of its view", func(st *owtfake.State) {
			st.Rooms = []owtfake.RoomState{{ID: "rf", Name: "wall", Streams: []owtfake.StreamState{{ID: "sf", Type: "webrtc"}}}}
		}, func(st owtfake.State) []string { return checkForeignUntouched(st, labAgentID, foreign) }, true},
		{"own stream stopped", func(st *owtfake.State) {
			st.Created = []owtfake.CreateRecord{{Room: "rf", Stream: "s1", Attributes: attrs(labAgentID, key, "o1"), Time: at(10)}}
			st.Deleted = []owtfake.DeleteRecord{{Kind: "stream", Room: "rf", Stream: "s1", Reason: owtfake.ReasonAPI, Time: at(20)}}
			st.Modified = []owtfake.ModifyRecord{{Kind: "stream", Room: "rf", Stream: "s1", Op: "patch", Time: at(15)}}
		}, func(st owtfake.State) []string { return checkForeignUntouched(st, labAgentID, foreign) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := base
			st.RoomsCreated = append([]owtfake.RoomRecord{}, base.RoomsCreated...)
			c.edit(&st)
			got := c.check(st)
			if (len(got) > 0) != c.fails {
				t.Fatalf("violations %q, want failure %v", got, c.fails)
			}
		})
	}
}
