package owtfake

import (
	"reflect"
	"time"
)

// room is one OWT room: its stored document plus the live conference
// state (streams, participants, initialized views).
type room struct {
	id        string
	service   string
	doc       map[string]any // without _id, __v and id
	jsonFull  []byte         // document with _id, __v and id (create, list, PUT)
	jsonLean  []byte         // document with _id and __v only (single GET)
	createdAt time.Time

	streams      map[string]*stream // forward streams by id, connecting ones included
	order        []*stream          // forward streams in insertion order
	participants []Participant
	outputs      []*output       // streaming-outs and recordings in insertion order
	log          *[]DeleteRecord // the server's deletion history (outputs that vanish)

	active    bool       // a conference runs for the room
	idleSince time.Time  // when the active room last became empty
	views     []*mixView // views initialized when the conference started
}

// mixView is a view as initialized in a running conference; it is rendered
// as the mixed stream "<roomId>-<label>".
type mixView struct {
	label         string
	audioFormat   map[string]any // nil for a video-only view
	audioOptional []any
	videoFormat   map[string]any // nil for an audio-only view
	videoParams   map[string]any
	layout        []any
	cache         [2][]byte // rendered JSON, v1.0 and v1.1; nil after a change
}

// jsonBytes returns the cached JSON rendering of the mixed stream.
func (mv *mixView) jsonBytes(roomID string, v11 bool) []byte {
	i := 0
	if v11 {
		i = 1
	}
	if mv.cache[i] == nil {
		mv.cache[i] = encodeJSON(mv.render(roomID, v11))
	}
	return mv.cache[i]
}

// newRoom makes a room holding doc.
func newRoom(id, service string, doc map[string]any, now time.Time) *room {
	r := &room{id: id, service: service, createdAt: now, streams: map[string]*stream{}}
	r.setDoc(doc)
	return r
}

// setDoc stores doc and re-renders the cached JSON forms.
func (r *room) setDoc(doc map[string]any) {
	r.doc = doc
	out := make(map[string]any, len(doc)+3)
	for k, v := range doc {
		out[k] = v
	}
	out["_id"] = r.id
	out["__v"] = 0
	r.jsonLean = encodeJSON(out)
	out["id"] = r.id
	r.jsonFull = encodeJSON(out)
}

// name returns the room name.
func (r *room) name() string {
	n, _ := r.doc["name"].(string)
	return n
}

// viewLabels returns the labels of the stored views.
func (r *room) viewLabels() []string {
	views, _ := r.doc["views"].([]any)
	labels := make([]string, 0, len(views))
	for _, v := range views {
		if m, ok := v.(map[string]any); ok {
			l, _ := m["label"].(string)
			labels = append(labels, l)
		}
	}
	return labels
}

// mediaOutAudio returns the room's mediaOut.audio formats.
func (r *room) mediaOutAudio() []any {
	mo, _ := r.doc["mediaOut"].(map[string]any)
	a, _ := mo["audio"].([]any)
	return a
}

// mediaInAllows reports whether mediaIn lists at least one format of kind.
func (r *room) mediaInAllows(kind string) bool {
	mi, _ := r.doc["mediaIn"].(map[string]any)
	list, _ := mi[kind].([]any)
	return len(list) > 0
}

// activate starts the conference if needed (views are initialized from the
// stored document at that moment) and cancels a pending idle teardown.
func (r *room) activate() {
	r.idleSince = time.Time{}
	if r.active {
		return
	}
	r.active = true
	r.views = r.views[:0]
	views, _ := r.doc["views"].([]any)
	for _, v := range views {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		mv := &mixView{layout: []any{}}
		mv.label, _ = m["label"].(string)
		if audio, ok := m["audio"].(map[string]any); ok {
			mv.audioFormat, _ = audio["format"].(map[string]any)
			mv.audioOptional = optionalFormats(r.mediaOutAudio(), mv.audioFormat)
		}
		if video, ok := m["video"].(map[string]any); ok {
			mv.videoFormat, _ = video["format"].(map[string]any)
			params, _ := video["parameters"].(map[string]any)
			mv.videoParams = map[string]any{}
			for _, k := range []string{"resolution", "framerate", "keyFrameInterval"} {
				if p, ok := params[k]; ok {
					mv.videoParams[k] = p
				}
			}
		}
		r.views = append(r.views, mv)
	}
}

// empty reports whether the room has neither inputs nor participants nor
// outputs (outputs keep a conference alive: roomIsIdle counts them).
func (r *room) empty() bool {
	return len(r.streams) == 0 && len(r.participants) == 0 && len(r.outputs) == 0
}

// noteMaybeIdle starts the idle clock when the room just became empty.
func (r *room) noteMaybeIdle(now time.Time) {
	if r.active && r.empty() && r.idleSince.IsZero() {
		r.idleSince = now
	}
}

// refresh tears the conference down once it has been idle for idle
// (0 = never).
func (r *room) refresh(now time.Time, idle time.Duration) {
	r.expireOutputs(now)
	if !r.active || idle <= 0 || r.idleSince.IsZero() || !r.empty() {
		return
	}
	if now.Sub(r.idleSince) >= idle {
		r.active = false
		r.views = nil
		r.idleSince = time.Time{}
	}
}

// view returns the initialized view with label, or nil.
func (r *room) view(label string) *mixView {
	for _, v := range r.views {
		if v.label == label {
			return v
		}
	}
	return nil
}

// mixedByID returns the initialized view whose mixed stream id is id.
func (r *room) mixedByID(id string) *mixView {
	for _, v := range r.views {
		if r.id+"-"+v.label == id {
			return v
		}
	}
	return nil
}

// readyStream returns a forward stream that is no longer connecting.
func (r *room) readyStream(id string, now time.Time) *stream {
	st := r.streams[id]
	if st == nil || st.readyAt.After(now) {
		return nil
	}
	return st
}

// addStream appends a forward stream.
func (r *room) addStream(st *stream) {
	r.streams[st.id] = st
	r.order = append(r.order, st)
}

// removeStream deletes a forward stream; it reports whether it existed.
func (r *room) removeStream(id string, now time.Time) bool {
	st, ok := r.streams[id]
	if !ok {
		return false
	}
	delete(r.streams, id)
	r.removeOutputsFedBy(id, now)
	for i, o := range r.order {
		if o == st {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
	for _, v := range r.views {
		for i, l := range v.layout {
			if m, ok := l.(map[string]any); ok && m["stream"] == id {
				delete(m, "stream")
				v.layout[i] = m
				v.cache = [2][]byte{}
			}
		}
	}
	r.noteMaybeIdle(now)
	return true
}

// optionalFormats is the list of formats minus those equal to format.
func optionalFormats(formats []any, format map[string]any) []any {
	out := make([]any, 0, len(formats))
	for _, f := range formats {
		if fm, ok := f.(map[string]any); ok && reflect.DeepEqual(fm, format) {
			continue
		}
		out = append(out, f)
	}
	return out
}
