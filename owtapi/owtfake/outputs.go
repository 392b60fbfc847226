package owtfake

import (
	"time"
)

// Output kinds (the conference's subscription types).
const (
	kindStreaming = "streaming"
	kindRecording = "recording"
)

// Deletion reasons of outputs, recorded in DeleteRecord.Reason besides
// ReasonAPI, ReasonWipe and ReasonSourceLost (the stream the output was fed
// by went away).
const (
	ReasonPushFailed  = "push_failed"  // the push target could not be reached, or DropOutput
	ReasonRoomDeleted = "room_deleted" // DELETE /v1/rooms/{id}
)

// defaultRecordingPath is the recording agent's default path (agent.toml).
const defaultRecordingPath = "/tmp"

// outTrack is one media kind of an output.
type outTrack struct {
	from   string
	format map[string]any
	params map[string]any // video only; nil = absent
}

// output is a streaming-out or a recording of a room.
type output struct {
	id        string
	kind      string // kindStreaming or kindRecording
	url       string // streaming only, verbatim
	protocol  string
	params    map[string]any // hls/dash parameters; never rendered
	container string         // recording only
	host      string         // recording only
	audio     *outTrack
	video     *outTrack
	createdAt time.Time
	readyAt   time.Time // connecting (not listed) until then
	failAt    time.Time // the push fails then and the output vanishes; zero = never
}

// connecting reports whether the output is not yet listed.
func (o *output) connecting(now time.Time) bool { return o.readyAt.After(now) }

// fedBy reports whether a media kind of the output comes from stream id.
func (o *output) fedBy(id string) bool {
	return (o.audio != nil && o.audio.from == id) || (o.video != nil && o.video.from == id)
}

// render returns the subscription abstract: {id, media, url} for a
// streaming-out, {id, media, storage} for a recording.
func (o *output) render() map[string]any {
	media := map[string]any{}
	for kind, t := range map[string]*outTrack{"audio": o.audio, "video": o.video} {
		if t == nil {
			continue
		}
		m := map[string]any{"format": t.format, "from": t.from, "status": "active"}
		if t.params != nil {
			m["parameters"] = t.params
		}
		media[kind] = m
	}
	out := map[string]any{"id": o.id, "media": media}
	if o.kind == kindStreaming {
		out["url"] = o.url
	} else {
		out["storage"] = map[string]any{"host": o.host, "file": defaultRecordingPath + "/" + o.id + "." + o.container}
	}
	return out
}

// findOutput returns the output with id (connecting ones included) and its
// index, or nil.
func (r *room) findOutput(id string) (*output, int) {
	for i, o := range r.outputs {
		if o.id == id {
			return o, i
		}
	}
	return nil, -1
}

// removeOutputAt drops the output at index i and records why.
func (r *room) removeOutputAt(i int, reason string, now time.Time) {
	o := r.outputs[i]
	r.outputs = append(r.outputs[:i:i], r.outputs[i+1:]...)
	if r.log != nil {
		*r.log = append(*r.log, DeleteRecord{Kind: "output", Room: r.id, Stream: o.id, URL: o.url, Reason: reason, Time: now})
	}
}

// moveOutputToEnd re-adds an output after a successful source or parameter
// change, as the conference does (it removes and re-adds the entry).
func (r *room) moveOutputToEnd(o *output) {
	_, i := r.findOutput(o.id)
	if i < 0 {
		return
	}
	r.outputs = append(append(r.outputs[:i:i], r.outputs[i+1:]...), o)
}

// expireOutputs removes outputs whose push has failed by now. This does not
// re-arm the idle clock: onSessionAborted does not call selfClean.
func (r *room) expireOutputs(now time.Time) {
	for i := 0; i < len(r.outputs); {
		if o := r.outputs[i]; !o.failAt.IsZero() && !o.failAt.After(now) {
			r.removeOutputAt(i, ReasonPushFailed, now)
			continue
		}
		i++
	}
}

// removeOutputsFedBy terminates every output with a track from stream id
// ("Source stream loss"). Connecting outputs have no tracks yet and are
// left alone (the caller handles that quirk).
func (r *room) removeOutputsFedBy(id string, now time.Time) {
	for i := 0; i < len(r.outputs); {
		if o := r.outputs[i]; o.fedBy(id) && !o.connecting(now) {
			r.removeOutputAt(i, ReasonSourceLost, now)
			continue
		}
		i++
	}
}

// connectingOutputFedBy reports whether an output still connecting takes
// media from stream id.
func (r *room) connectingOutputFedBy(id string, now time.Time) bool {
	for _, o := range r.outputs {
		if o.fedBy(id) && o.connecting(now) {
			return true
		}
	}
	return false
}

// listOutputs returns the connected outputs of kind in insertion order.
func (r *room) listOutputs(kind string, now time.Time) []any {
	out := []any{}
	if !r.active {
		return out
	}
	for _, o := range r.outputs {
		if o.kind == kind && !o.connecting(now) {
			out = append(out, o.render())
		}
	}
	return out
}
