package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// Output operation kinds (diff: "+ output …", "- output …").
const (
	OpStartOutput OpKind = "start_output"
	OpStopOutput  OpKind = "stop_output"
)

// settingsChanged is the reason of the stop of an output whose settings
// changed in the policy.
const settingsChanged = "its settings changed in the policy; it is started again with the new ones"

// Rules that hold an output start.
const (
	// RuleOutputBackoff holds the restart of an output whose push keeps
	// failing (it vanished from OWT soon after it was started).
	RuleOutputBackoff = "output_backoff"
	// RuleOutputPending holds the start of an output whose earlier POST has
	// no known outcome yet (OWT may still create it).
	RuleOutputPending = "output_pending"
	// RuleOutputNoInput holds outputs until an input of the room is in view.
	RuleOutputNoInput = "no_input_in_view"
)

// OutputOWT is the part of OWT's API the output reconciler uses; the
// owtapi client implements it. An OWT without it manages no outputs.
type OutputOWT interface {
	ListStreamingOuts(ctx context.Context, room string) ([]owtapi.StreamingOut, error)
	StartStreamingOut(ctx context.Context, room string, req owtapi.StreamingOutRequest) (owtapi.StreamingOut, error)
	StopStreamingOut(ctx context.Context, room, id string) error
	ListRecordings(ctx context.Context, room string) ([]owtapi.Recording, error)
	StartRecording(ctx context.Context, room string, req owtapi.RecordingRequest) (owtapi.Recording, error)
	StopRecording(ctx context.Context, room, id string) error
}

// ListedOutput is one output OWT lists in a room.
type ListedOutput struct {
	ID        string
	Recording bool
	URL       string // streaming-out only
	From      string // the video source, else the audio source
}

// ObservedOutputs is what OWT has of a room's outputs, read from its two
// lists, with the agent's own picked out.
type ObservedOutputs struct {
	Listed bool // both lists were read
	All    []ListedOutput
	// Owned are the listed outputs the agent owns, with their records.
	Owned []OutputRecord
	// Vanished are owned outputs OWT no longer lists: their push failed or
	// their source went away.
	Vanished []OutputRecord
}

// ListOutputs reads both output lists of a room.
func ListOutputs(ctx context.Context, c OutputOWT, roomID string) ([]ListedOutput, error) {
	sos, err := c.ListStreamingOuts(ctx, roomID)
	if err != nil {
		return nil, err
	}
	recs, err := c.ListRecordings(ctx, roomID)
	if err != nil {
		return nil, err
	}
	out := make([]ListedOutput, 0, len(sos)+len(recs))
	for _, s := range sos {
		out = append(out, ListedOutput{ID: s.ID, URL: s.URL, From: trackFrom(s.Media)})
	}
	for _, r := range recs {
		out = append(out, ListedOutput{ID: r.ID, Recording: true, From: trackFrom(r.Media)})
	}
	return out, nil
}

func trackFrom(m owtapi.OutputMediaInfo) string {
	if m.Video != nil {
		return m.Video.From
	}
	if m.Audio != nil {
		return m.Audio.From
	}
	return ""
}

// ObserveOutputs matches a room's listed outputs with the journal's
// records and the desired outputs. A listed streaming-out whose URL is a
// desired one is the agent's even without a record: the URL is rendered
// from the policy and unique per room (this adopts the output of a POST
// whose answer was lost). A listed recording is the agent's only by its
// record.
func ObserveOutputs(listed []ListedOutput, records []OutputRecord, desired []policy.Output) ObservedOutputs {
	obs := ObservedOutputs{Listed: true, All: listed}
	byID := map[string]ListedOutput{}
	for _, l := range listed {
		byID[l.ID] = l
	}
	recorded := map[string]bool{}
	for _, r := range records {
		recorded[r.ID] = true
		if _, ok := byID[r.ID]; ok {
			obs.Owned = append(obs.Owned, r)
		} else {
			obs.Vanished = append(obs.Vanished, r)
		}
	}
	for _, l := range listed {
		if l.Recording || recorded[l.ID] {
			continue
		}
		for _, d := range desired {
			if !d.IsRecording() && d.URL == l.URL {
				obs.Owned = append(obs.Owned, OutputRecord{ID: l.ID, Key: d.Key(), URL: l.URL, View: d.View})
				break
			}
		}
	}
	return obs
}

// OutputContext is what the output planner needs for one room.
type OutputContext struct {
	Room   string
	RoomID string
	// Desired are the outputs the room should have (nil: none). They are
	// kept while the room has at least one desired input in view.
	Desired []policy.Output
	// InputInView reports that at least one desired input is in view.
	InputInView bool
	Observed    ObservedOutputs
	// Backoff says how long a failing output must wait before it is
	// started again (0: ready).
	Backoff func(key string) time.Duration
	// Pending says why a start must wait for an earlier POST ("" = none).
	Pending func(key string) string
}

// PlanOutputs computes the output operations of a room. It is pure.
func PlanOutputs(c OutputContext) []Op {
	if !c.Observed.Listed {
		return nil
	}
	var ops []Op
	owned := map[string][]OutputRecord{}
	for _, r := range c.Observed.Owned {
		owned[r.Key] = append(owned[r.Key], r)
	}
	want := map[string]bool{}
	for _, d := range c.Desired {
		if want[d.Key()] {
			continue
		}
		want[d.Key()] = true
		have := owned[d.Key()]
		if len(have) > 0 {
			sort.Slice(have, func(a, b int) bool { return have[a].ID < have[b].ID })
			if spec := have[0].Spec; spec != "" && spec != d.Spec() {
				// OWT cannot change them in place: stop it; the next pass
				// starts it with the new settings (its URL is then free).
				for _, old := range have {
					ops = append(ops, stopOutputOp(c, old, settingsChanged))
				}
				continue
			}
			for _, extra := range have[1:] {
				ops = append(ops, stopOutputOp(c, extra, "duplicate of "+have[0].ID))
			}
			continue
		}
		o := Op{Kind: OpStartOutput, Room: c.Room, RoomID: c.RoomID, View: d.View, URL: d.URL, Stream: d.String(),
			Reason: "declared in the policy", output: d}
		switch {
		case !c.InputInView:
			o.hold(RuleOutputNoInput, "waiting until an input of the room is in view", 0)
		case c.Pending != nil && c.Pending(d.Key()) != "":
			o.hold(RuleOutputPending, c.Pending(d.Key()), 0)
		case c.Backoff != nil && c.Backoff(d.Key()) > 0:
			left := c.Backoff(d.Key())
			o.hold(RuleOutputBackoff, fmt.Sprintf("failing: it stopped soon after it was started; starting it again in %s", left.Round(time.Millisecond)), left)
		}
		ops = append(ops, o)
	}
	if !c.InputInView {
		want = map[string]bool{}
	}
	keys := make([]string, 0, len(owned))
	for k := range owned {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if want[k] {
			continue
		}
		reason := "no longer declared in the policy"
		switch {
		case c.Desired == nil:
			reason = "no stream routed to the room"
		case !c.InputInView:
			reason = "no input of the room is in view"
		}
		for _, r := range owned[k] {
			ops = append(ops, stopOutputOp(c, r, reason))
		}
	}
	return ops
}

func stopOutputOp(c OutputContext, r OutputRecord, reason string) Op {
	label := r.URL
	if label == "" {
		label = "recording from view " + r.View
	}
	return Op{Kind: OpStopOutput, Room: c.Room, RoomID: c.RoomID, StreamID: r.ID, View: r.View, URL: r.URL,
		Stream: label, Reason: reason, outputRec: r}
}

// outputLabel is how diff shows an output op.
func outputLabel(o Op) string {
	if o.Kind == OpStartOutput {
		return o.output.String()
	}
	if o.URL != "" {
		return fmt.Sprintf("output %s from view %s (%s)", o.URL, o.View, o.StreamID)
	}
	return fmt.Sprintf("recording from view %s (%s)", o.View, o.StreamID)
}

// outputRequest builds the OWT request of a desired output of roomID.
func outputRequest(roomID string, d policy.Output) (owtapi.StreamingOutRequest, owtapi.RecordingRequest) {
	from := roomID + "-" + d.View
	var m owtapi.OutputMedia
	if a := d.Audio; a != nil {
		m.Audio = &owtapi.AudioOut{From: from}
		if a.Codec != "" {
			m.Audio.Format = &owtapi.AudioFormat{Codec: a.Codec, SampleRate: a.SampleRate, ChannelNum: a.Channels}
		}
	}
	if v := d.Video; v != nil {
		m.Video = &owtapi.VideoOut{From: from}
		if v.Codec != "" {
			m.Video.Format = &owtapi.VideoFormat{Codec: v.Codec, Profile: v.Profile}
		}
		p := owtapi.VideoParameters{Framerate: v.Framerate, KeyFrameInterval: v.KeyFrameInterval, Bitrate: v.Bitrate}
		if v.Width > 0 && v.Height > 0 {
			p.Resolution = &owtapi.Resolution{Width: v.Width, Height: v.Height}
		}
		if p != (owtapi.VideoParameters{}) {
			m.Video.Parameters = &p
		}
	}
	if d.IsRecording() {
		return owtapi.StreamingOutRequest{}, owtapi.RecordingRequest{Container: d.Container, Media: m}
	}
	return owtapi.StreamingOutRequest{URL: d.URL, Protocol: d.Protocol, Media: m}, owtapi.RecordingRequest{}
}

// isOutputFor reports whether a listed output may be the one a POST for d
// made: a streaming-out by its URL, a recording by its view.
func isOutputFor(l ListedOutput, d policy.Output, roomID string) bool {
	if d.IsRecording() != l.Recording {
		return false
	}
	if !d.IsRecording() {
		return l.URL == d.URL
	}
	return strings.HasSuffix(l.From, "-"+d.View) || l.From == roomID+"-"+d.View
}
