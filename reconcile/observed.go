package reconcile

import (
	"sort"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

// Input is a streaming-in that this agent owns.
type Input struct {
	ID      string
	Key     StreamKey
	InViews []string
	URL     string
	// Param is the stored form of the publish query (policy.StoredParam):
	// from the agent's store, or the kept query of the attributes.
	Param string
	Op    string
	// Legacy: written before issue 9 with the whole publish query in its
	// attributes (which OWT shows to the room); legacyParam is never logged,
	// stored or shown, only reduced by policy.StoredParam.
	Legacy      bool
	legacyParam string
}

// ObservedRoom is what OWT has for one room name, reduced to what the agent
// may act on.
type ObservedRoom struct {
	Name   string
	ID     string // "" when the room does not exist
	Exists bool
	// Owned: the agent created it (recorded in the journal).
	Owned bool
	// NameIDs are the ids of every room of this name in the last room
	// listing: a room create records them, so that after a crash the room
	// it made is told apart from those that were there before.
	NameIDs []string
	// Listed: its streams were read successfully; when false nothing in it
	// may be deleted.
	Listed bool
	Views  []string // labels of the room's views, nil when unknown
	Inputs []Input  // streaming-ins owned by this agent
	// Foreign counts forward streams the agent does not own.
	Foreign int
	// Participants in the room; -1 when not read.
	Participants int
}

// ObserveStreams reduces a room's stream list to the agent's inputs and a
// count of everything else.
func ObserveStreams(agent string, streams []owtapi.Stream) (inputs []Input, foreign int) {
	for _, s := range streams {
		if s.Type == "mixed" {
			continue
		}
		own, ok := ParseAttributes(s.Info.Attributes)
		if s.Info.RawAttributes != nil {
			own, ok = ParseRawAttributes(s.Info.RawAttributes)
		}
		if !ok || own.Agent != agent {
			foreign++
			continue
		}
		inputs = append(inputs, Input{ID: s.ID, Key: own.Key, InViews: append([]string(nil), s.Info.InViews...),
			URL: own.URL, Param: own.Param, Op: own.Op, Legacy: own.Legacy, legacyParam: own.legacy})
	}
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].ID < inputs[j].ID })
	return inputs, foreign
}

// ViewLabels returns the labels of a room's views.
func ViewLabels(r owtapi.Room) []string {
	out := make([]string, 0, len(r.Views))
	for _, v := range r.Views {
		out = append(out, v.Label)
	}
	return out
}

// Clone returns a deep copy, so that a worker can change it privately.
func (o *ObservedRoom) Clone() *ObservedRoom {
	c := *o
	c.Views = append([]string(nil), o.Views...)
	c.NameIDs = append([]string(nil), o.NameIDs...)
	c.Inputs = make([]Input, len(o.Inputs))
	for i, in := range o.Inputs {
		in.InViews = append([]string(nil), in.InViews...)
		c.Inputs[i] = in
	}
	return &c
}

func (o *ObservedRoom) input(id string) *Input {
	for i := range o.Inputs {
		if o.Inputs[i].ID == id {
			return &o.Inputs[i]
		}
	}
	return nil
}

// InView reports whether the room holds an owned input for key that is in
// every one of views.
func (o *ObservedRoom) InView(key StreamKey, views []string) bool {
	if o == nil {
		return false
	}
	for _, in := range o.Inputs {
		if in.Key == key && containsAll(in.InViews, views) {
			return true
		}
	}
	return false
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !contains(have, w) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
