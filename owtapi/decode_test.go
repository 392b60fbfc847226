package owtapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestDecodeRoom(t *testing.T) {
	const rid = "6b05f3f2a02915a554fca0f2"
	tests := []struct {
		file string
	}{
		{"room.json"},            // POST / list: has id and _id
		{"room_single_get.json"}, // single GET: _id only
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			doc := []byte(testdata(t, tt.file))
			r, err := decodeRoom(doc)
			if err != nil {
				t.Fatal(err)
			}
			if r.ID != rid || r.MongoID != rid || r.Name != "myroom" || r.InputLimit != -1 || r.ParticipantLimit != -1 {
				t.Errorf("room = %+v", r)
			}
			if len(r.Views) != 1 || r.Views[0].Label != "common" {
				t.Errorf("views = %+v", r.Views)
			}
			if !bytes.Equal(r.Raw, doc) {
				t.Errorf("Raw differs from the document")
			}
			var raw map[string]any
			if err := json.Unmarshal(r.Raw, &raw); err != nil || raw["__v"] != 0.0 {
				t.Errorf("Raw lost __v: %v %v", raw["__v"], err)
			}
		})
	}
}

func TestDecodeStream(t *testing.T) {
	tests := []struct {
		file      string
		id, typ   string
		info      StreamInfo
		audio     bool
		video     bool
		wantInRaw string
	}{
		{
			file: "streaming_in_v1.json", id: "548386327382046400", typ: "forward",
			info:  StreamInfo{Owner: "admin", Type: "streaming", InViews: []string{}},
			audio: true, video: true, wantInRaw: `"format":{"codec":"h264","profile":"CB"}`,
		},
		{
			file: "streaming_in_v1_1.json", id: "548386327382046400", typ: "forward",
			info: StreamInfo{Owner: "admin", Type: "streaming", InViews: []string{"common"},
				Attributes: map[string]any{"owner": "srs-owt-proxy", "key": "__defaultVhost__/live/cam1"}},
			audio: true, video: true, wantInRaw: `"original":[`,
		},
		{
			file: "streaming_in_v5_0_tracks.json", id: "548386327382046401", typ: "forward",
			info:  StreamInfo{Owner: "admin", Type: "streaming", InViews: []string{}},
			audio: false, video: true, wantInRaw: `"tracks":[`,
		},
		{
			file: "mixed_v1.json", id: "6b05f3f2a02915a554fca0f2-common", typ: "mixed",
			info:  StreamInfo{Label: "common", ActiveInput: "unknown"},
			audio: true, video: true, wantInRaw: `"codec":"vp8"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var s Stream
			if err := json.Unmarshal([]byte(testdata(t, tt.file)), &s); err != nil {
				t.Fatal(err)
			}
			if s.ID != tt.id || s.Type != tt.typ {
				t.Errorf("id/type = %q/%q, want %q/%q", s.ID, s.Type, tt.id, tt.typ)
			}
			if !reflect.DeepEqual(s.Info, tt.info) {
				t.Errorf("info = %+v, want %+v", s.Info, tt.info)
			}
			if a, v := s.Tracks(); a != tt.audio || v != tt.video {
				t.Errorf("Tracks() = %v,%v, want %v,%v", a, v, tt.audio, tt.video)
			}
			if !bytes.Contains(s.Media, []byte(tt.wantInRaw)) {
				t.Errorf("Media lacks %s", tt.wantInRaw)
			}
		})
	}
}

func TestTracks(t *testing.T) {
	tests := []struct {
		name         string
		media        string
		audio, video bool
	}{
		{"none", ``, false, false},
		{"empty object", `{}`, false, false},
		{"audio only v1", `{"audio":{"status":"active","format":{"codec":"aac"}}}`, true, false},
		{"video only v1", `{"video":{"format":{"codec":"h264"}}}`, false, true},
		{"v1.1 original", `{"video":{"original":[{"format":{"codec":"vp8"}}]}}`, false, true},
		{"old docs false", `{"audio":false,"video":{"format":{"codec":"vp8"}}}`, false, true},
		{"null kind", `{"audio":null}`, false, false},
		{"v5.0 tracks both", `{"tracks":[{"type":"audio"},{"type":"video"}]}`, true, true},
		{"v5.0 tracks audio", `{"tracks":[{"type":"audio","format":{"codec":"opus"}}]}`, true, false},
		{"not JSON", `nope`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, v := Stream{Media: json.RawMessage(tt.media)}.Tracks()
			if a != tt.audio || v != tt.video {
				t.Errorf("Tracks() = %v,%v, want %v,%v", a, v, tt.audio, tt.video)
			}
		})
	}
}

func TestStreamIDLenient(t *testing.T) {
	tests := []struct {
		doc, want string
		wantErr   bool
	}{
		{`{"id":"123"}`, "123", false},
		{`{"id":548386327382046400}`, "548386327382046400", false},
		{`{"id":null}`, "", false},
		{`{}`, "", false},
		{`{"id":{"x":1}}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			var s Stream
			err := json.Unmarshal([]byte(tt.doc), &s)
			if (err != nil) != tt.wantErr || s.ID != tt.want {
				t.Errorf("id = %q, err = %v; want %q, error %v", s.ID, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDecodeParticipants(t *testing.T) {
	var ps []Participant
	if err := json.Unmarshal([]byte(testdata(t, "participants.json")), &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].ID != "p2" || string(ps[1].Permission) != `{"publish":false,"subscribe":{"audio":true,"video":true}}` {
		t.Errorf("participants = %+v", ps)
	}
}
