package main

import (
	"sort"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi/owtfake"
)

// dupStats is what the fake OWT's full history says about duplicate
// streaming-ins: two or more live at once for the same SRS stream in the
// same room.
type dupStats struct {
	// MaxLive is the most duplicates live at one instant: the sum over
	// (room, stream) of live copies minus one, at its maximum.
	MaxLive int `json:"max_live"`
	// Ever counts creations made while a copy for the same room and
	// stream was live.
	Ever int `json:"ever"`
	// Streams is how many (room, stream) pairs ever had a duplicate.
	Streams int `json:"streams"`
	// Example names one such pair ("" when none).
	Example string `json:"example,omitempty"`
}

// attrRoot is the agent's block in a streaming-in's attributes.
const attrRoot = "srs-owt-proxy"

// ownedStream is the SRS stream a streaming-in was created for: the
// agent's attributes["srs-owt-proxy"].stream, or the pull URL when the
// creation carries no such attribute.
func ownedStream(c owtfake.CreateRecord) string {
	if attrs, ok := c.Attributes.(map[string]any); ok {
		if own, ok := attrs[attrRoot].(map[string]any); ok {
			if s, ok := own["stream"].(string); ok && s != "" {
				return s
			}
		}
	}
	return "url:" + c.URL
}

// duplicateStats sweeps the creations and stream deletions of st in time
// order. A creation and a deletion at the same instant count the deletion
// first (a copy lives from its creation up to, not including, its
// deletion). Deletions of streams the history never created are ignored.
func duplicateStats(st owtfake.State) dupStats {
	type event struct {
		t      time.Time
		create bool
		id     string // room + "/" + stream id
		key    string // room + " " + SRS stream
	}
	keyOf := map[string]string{}
	var events []event
	for _, c := range st.Created {
		id := c.Room + "/" + c.Stream
		key := c.Room + " " + ownedStream(c)
		keyOf[id] = key
		events = append(events, event{t: c.Time, create: true, id: id, key: key})
	}
	for _, d := range st.Deleted {
		if d.Kind != "stream" {
			continue
		}
		id := d.Room + "/" + d.Stream
		if key, ok := keyOf[id]; ok {
			events = append(events, event{t: d.Time, id: id, key: key})
		}
	}
	sort.SliceStable(events, func(i, j int) bool {
		if !events[i].t.Equal(events[j].t) {
			return events[i].t.Before(events[j].t)
		}
		return !events[i].create && events[j].create
	})
	var s dupStats
	live := map[string]int{}
	alive := map[string]bool{}
	dupKeys := map[string]bool{}
	now := 0 // duplicates live now
	for _, e := range events {
		if e.create {
			if alive[e.id] {
				continue // the same id created twice: not a new copy
			}
			alive[e.id] = true
			if live[e.key] > 0 {
				now++
				s.Ever++
				if !dupKeys[e.key] {
					dupKeys[e.key] = true
					if s.Example == "" || e.key < s.Example {
						s.Example = e.key
					}
				}
			}
			live[e.key]++
			s.MaxLive = max(s.MaxLive, now)
			continue
		}
		if !alive[e.id] {
			continue
		}
		delete(alive, e.id)
		if live[e.key] > 1 {
			now--
		}
		live[e.key]--
	}
	s.Streams = len(dupKeys)
	return s
}

// remainingHold is how long after restart the last streaming-in created
// no later than cut (by the killed agent) stays hidden: OWT shows each
// stream hold after its creation. It is 0 when all were visible already.
func remainingHold(created []owtfake.CreateRecord, cut, restart time.Time, hold time.Duration) time.Duration {
	var last time.Time
	for _, c := range created {
		if c.Time.After(cut) {
			continue
		}
		if end := c.Time.Add(hold); end.After(last) {
			last = end
		}
	}
	return max(0, last.Sub(restart))
}

// crashWork is the OWT calls a storm still needs after a crash.
type crashWork struct {
	Rooms   int `json:"rooms"`
	Posts   int `json:"posts"`
	Patches int `json:"patches"`
}

// left is what remains of a storm into rooms new rooms with streams
// streams once done rooms were created, posted streaming-ins POSTed and
// patched streams patched into view (never below zero).
func left(rooms, streams, done, posted, patched int) crashWork {
	return crashWork{Rooms: max(0, rooms-done), Posts: max(0, streams-posted), Patches: max(0, streams-patched)}
}

// floor is the storm floor of w: every call's time over the concurrency
// slots, a room creation and a patch taking one round trip and a
// streaming-in POST the round trip plus OWT's hold.
func (w crashWork) floor(concurrency int, rt, hold time.Duration) time.Duration {
	total := time.Duration(w.Rooms+w.Patches)*rt + time.Duration(w.Posts)*(rt+hold)
	return time.Duration(float64(total) / float64(concurrency))
}

// span is when a kind of OWT write happened, relative to a start.
type span struct {
	N       int     `json:"n"`
	FirstMs float64 `json:"first_ms,omitempty"`
	LastMs  float64 `json:"last_ms,omitempty"`
}

func (s *span) add(d time.Duration) {
	ms := msf(d)
	if s.N == 0 || ms < s.FirstMs {
		s.FirstMs = ms
	}
	s.LastMs = max(s.LastMs, ms)
	s.N++
}

// writesSince is when the streaming-ins created and the streams patched
// after start happened, relative to start: where a recovery's time went.
// Patches are split by who created the stream: the killed agent (created
// no later than cut) or the restarted one.
func writesSince(st owtfake.State, start, cut time.Time) map[string]span {
	var posts, early, late span
	before := map[string]bool{}
	for _, c := range st.Created {
		if !c.Time.After(cut) {
			before[c.Room+"/"+c.Stream] = true
		}
		if c.Time.After(start) {
			posts.add(c.Time.Sub(start))
		}
	}
	for _, m := range st.Modified {
		if m.Kind != "stream" || m.Op != "patch" || !m.Time.After(start) {
			continue
		}
		if before[m.Room+"/"+m.Stream] {
			early.add(m.Time.Sub(start))
		} else {
			late.add(m.Time.Sub(start))
		}
	}
	return map[string]span{"streaming_ins_created": posts, "patched_created_by_killed_agent": early,
		"patched_created_by_restarted_agent": late}
}
