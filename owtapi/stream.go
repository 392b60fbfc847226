package owtapi

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// UnmarshalJSON decodes a stream leniently: the id may be a JSON string or
// number, media is kept raw, unknown members are ignored.
func (s *Stream) UnmarshalJSON(b []byte) error {
	type plain Stream // no methods: avoids recursion
	var v struct {
		plain
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Stream(v.plain)
	id, err := decodeID(v.ID)
	if err != nil {
		return err
	}
	s.ID = id
	return nil
}

// decodeID accepts a string or a number (kept as written).
func decodeID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("stream id %s is neither a string nor a number", raw)
	}
	return n.String(), nil
}

// Tracks reports which media kinds the stream carries. It understands the
// v1 shape (media.audio / media.video objects, video.format), v1.1
// (video.original[]) and v5.0's unconverted media.tracks[] ({"type":...}).
// A kind that is absent, null or false is not carried.
func (s Stream) Tracks() (audio, video bool) {
	var m struct {
		Audio  json.RawMessage `json:"audio"`
		Video  json.RawMessage `json:"video"`
		Tracks []struct {
			Type string `json:"type"`
		} `json:"tracks"`
	}
	if len(s.Media) == 0 || json.Unmarshal(s.Media, &m) != nil {
		return false, false
	}
	for _, t := range m.Tracks {
		switch t.Type {
		case "audio":
			audio = true
		case "video":
			video = true
		}
	}
	return audio || kindPresent(m.Audio), video || kindPresent(m.Video)
}

// kindPresent is true for a media kind given as an object or as true.
func kindPresent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && (raw[0] == '{' || bytes.Equal(raw, []byte("true")))
}

// flexID is a stream id given as a JSON string or number.
type flexID string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	id, err := decodeID(b)
	*f = flexID(id)
	return err
}

// wireStream is Stream as decoded from a list: only the id needs lenient
// decoding, so the element is scanned once instead of twice.
type wireStream struct {
	ID    flexID          `json:"id"`
	Type  string          `json:"type"`
	Info  StreamInfo      `json:"info"`
	Media json.RawMessage `json:"media,omitempty"`
}

func (w wireStream) stream() Stream {
	return Stream{ID: string(w.ID), Type: w.Type, Info: w.Info, Media: w.Media}
}

// briefStream is a stream without its media member, attributes kept raw.
type briefStream struct {
	ID   flexID `json:"id"`
	Type string `json:"type"`
	Info struct {
		Owner       string          `json:"owner"`
		Type        string          `json:"type"`
		InViews     []string        `json:"inViews"`
		Attributes  json.RawMessage `json:"attributes"`
		Label       string          `json:"label"`
		ActiveInput string          `json:"activeInput"`
	} `json:"info"`
}

func (b briefStream) stream() Stream {
	i := b.Info
	return Stream{ID: string(b.ID), Type: b.Type, Info: StreamInfo{Owner: i.Owner, Type: i.Type, InViews: i.InViews,
		RawAttributes: i.Attributes, Label: i.Label, ActiveInput: i.ActiveInput}}
}
