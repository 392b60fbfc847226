package reconcile

import (
	"sort"
	"time"
)

// IntentOutput is an output (streaming-out or recording) about to be started.
const IntentOutput IntentKind = "start_output"

// OutputRecord is an output the agent started (or adopted), by room. OWT
// outputs carry no attributes: this record, and for a streaming-out its
// URL, are the only proof that an output is the agent's.
type OutputRecord struct {
	ID      string    `json:"id"`
	Key     string    `json:"key"`           // policy.Output.Key: the URL of a streaming-out
	URL     string    `json:"url,omitempty"` // streaming-out only
	View    string    `json:"view"`
	Started time.Time `json:"started"`
	// Spec is policy.Output.Spec of what was started ("" when adopted by
	// URL without knowing it).
	Spec string `json:"spec,omitempty"`
}

// Outputs returns the outputs the agent owns in room, by id order.
func (j *Journal) Outputs(room string) []OutputRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := append([]OutputRecord(nil), j.doc.Outputs[room]...)
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// OutputRooms returns the rooms in which the agent owns outputs, sorted.
func (j *Journal) OutputRooms() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]string, 0, len(j.doc.Outputs))
	for r := range j.doc.Outputs {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// OwnedOutputs counts the outputs the agent owns, over all rooms.
func (j *Journal) OwnedOutputs() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, l := range j.doc.Outputs {
		n += len(l)
	}
	return n
}

// OutputStarted records an output as the agent's and closes its intent
// (intentID may be "") in one change.
func (j *Journal) OutputStarted(intentID, room string, rec OutputRecord) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.doc.Outputs == nil {
		j.doc.Outputs = map[string][]OutputRecord{}
	}
	list := j.doc.Outputs[room]
	replaced := false
	for i, r := range list {
		if r.ID == rec.ID {
			list[i], replaced = rec, true
		}
	}
	if !replaced {
		list = append(list, rec)
	}
	j.doc.Outputs[room] = list
	if intentID != "" {
		for i, in := range j.doc.Intents {
			if in.ID == intentID {
				j.doc.Intents = append(j.doc.Intents[:i], j.doc.Intents[i+1:]...)
				break
			}
		}
	}
	j.changed()
}

// ForgetOutput drops an output's record (stopped, or gone from OWT).
func (j *Journal) ForgetOutput(room, id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	list := j.doc.Outputs[room]
	for i, r := range list {
		if r.ID == id {
			list = append(list[:i:i], list[i+1:]...)
			if len(list) == 0 {
				delete(j.doc.Outputs, room)
			} else {
				j.doc.Outputs[room] = list
			}
			j.changed()
			return
		}
	}
}

// OutputIntents returns the open output intents of room.
func (j *Journal) OutputIntents(room string) []Intent {
	var out []Intent
	for _, in := range j.Intents() {
		if in.Kind == IntentOutput && in.Room == room {
			out = append(out, in)
		}
	}
	return out
}
