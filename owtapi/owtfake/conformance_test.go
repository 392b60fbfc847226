package owtfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// defaultRoomJSON is the exact room of spec section 5.1 for {"name":"myroom"}
// (ids replaced per test).
const defaultRoomJSON = `{"name":"myroom","inputLimit":-1,"participantLimit":-1,"selectActiveAudio":false,"enableBandwidthAdaptation":false,
 "roles":[{"role":"presenter","publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true}},
          {"role":"viewer","publish":{"audio":false,"video":false},"subscribe":{"audio":true,"video":true}},
          {"role":"audio_only_presenter","publish":{"audio":true,"video":false},"subscribe":{"audio":true,"video":false}},
          {"role":"video_only_viewer","publish":{"audio":false,"video":false},"subscribe":{"audio":false,"video":true}},
          {"role":"sip","publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true}}],
 "views":[{"label":"common",
           "audio":{"format":{"codec":"opus","sampleRate":48000,"channelNum":2},"vad":true},
           "video":{"parameters":{"resolution":{"width":640,"height":480},"framerate":24,"keyFrameInterval":100},
                    "bgColor":{"r":0,"g":0,"b":0},
                    "layout":{"templates":{"base":"fluid","custom":[]},"fitPolicy":"letterbox"},
                    "format":{"codec":"vp8"},"maxInput":16,"motionFactor":0.8,"keepActiveInputPrimary":false}}],
 "mediaIn":{"audio":[{"codec":"opus","sampleRate":48000,"channelNum":2},{"codec":"isac","sampleRate":16000},{"codec":"isac","sampleRate":32000},
                     {"codec":"g722","sampleRate":16000,"channelNum":1},{"codec":"pcma"},{"codec":"pcmu"},{"codec":"aac"},{"codec":"ac3"},
                     {"codec":"nellymoser"},{"codec":"ilbc"}],
            "video":[{"codec":"h264"},{"codec":"vp8"},{"codec":"vp9"}]},
 "mediaOut":{"audio":[{"codec":"opus","sampleRate":48000,"channelNum":2},{"codec":"isac","sampleRate":16000},{"codec":"isac","sampleRate":32000},
                      {"codec":"g722","sampleRate":16000,"channelNum":1},{"codec":"pcma"},{"codec":"pcmu"},{"codec":"aac","sampleRate":48000,"channelNum":2},
                      {"codec":"ac3"},{"codec":"nellymoser"},{"codec":"ilbc"}],
             "video":{"format":[{"codec":"vp8"},{"codec":"h264","profile":"CB"},{"codec":"h264","profile":"B"},{"codec":"vp9"}],
                      "parameters":{"resolution":["x3/4","x2/3","x1/2","x1/3","x1/4","hd1080p","hd720p","svga","vga","qvga","cif"],
                                    "framerate":[6,12,15,24,30,48,60],"bitrate":["x0.8","x0.6","x0.4","x0.2"],"keyFrameInterval":[100,30,5,2,1]}}},
 "transcoding":{"video":{"parameters":{"resolution":true,"framerate":true,"bitrate":true,"keyFrameInterval":true},"format":true},"audio":true},
 "notifying":{"participantActivities":true,"streamChange":true},
 "_id":"ROOMID","__v":0,"id":"ROOMID"}`

// conformanceItem is one item of spec section 13.
type conformanceItem struct {
	name string
	opts Options
	run  func(t *testing.T, e *testEnv)
}

func TestConformance(t *testing.T) {
	items := []conformanceItem{
		{name: "13.01_missing_authorization", run: item01},
		{name: "13.02_header_parsing", run: item02},
		{name: "13.03_signature_algorithm", run: item03},
		{name: "13.04_test_vector", run: item04},
		{name: "13.05_replay_accepted", run: item05},
		{name: "13.06_bad_credentials", run: item06},
		{name: "13.07_service_id_not_objectid", run: item07},
		{name: "13.08_proxy_authorization_ignored", run: item08},
		{name: "13.09_success_status_and_content_type", run: item09},
		{name: "13.10_unknown_path", run: item10},
		{name: "13.11_malformed_json", run: item11},
		{name: "13.12_patch_room_stub", run: item12},
		{name: "13.13_create_room_invalid", run: item13},
		{name: "13.14_create_room_defaults", run: item14},
		{name: "13.15_duplicate_names", run: item15},
		{name: "13.16_room_options", run: item16},
		{name: "13.17_list_rooms_sorted", run: item17},
		{name: "13.18_list_rooms_pagination", run: item18},
		{name: "13.19_get_room", run: item19},
		{name: "13.20_put_room", run: item20},
		{name: "13.21_delete_room", run: item21},
		{name: "13.22_service_isolation", run: item22},
		{name: "13.23_idle_room_streams_empty", run: item23},
		{name: "13.24_streaming_in_validation", run: item24},
		{name: "13.25_streaming_in_response", run: item25},
		{name: "13.26_list_after_streaming_in", run: item26},
		{name: "13.27_not_mixed_automatically", run: item27},
		{name: "13.28_unreachable_url", run: item28},
		{name: "13.29_input_limit", run: item29},
		{name: "13.30_async_stream_drop", run: item30},
		{name: "13.31_get_unknown_stream", run: item31},
		{name: "13.32_media_shapes", run: item32},
		{name: "13.33_v11_no_room_check", run: item33},
		{name: "13.34_patch_body_array", run: item34},
		{name: "13.35_patch_add_view", run: item35},
		{name: "13.36_patch_add_missing_view", run: item36},
		{name: "13.37_patch_remove_view", run: item37},
		{name: "13.38_patch_replace_status", run: item38},
		{name: "13.39_patch_invalid_ops", run: item39},
		{name: "13.40_patch_unknown_stream", run: item40},
		{name: "13.41_delete_stream", run: item41},
		{name: "13.42_delete_twice", run: item42},
		{name: "13.43_idle_timeout", opts: Options{IdleTimeout: 40 * time.Millisecond}, run: item43},
		{name: "13.44_invalid_stream_id", run: item44},
	}
	if len(items) != 44 {
		t.Fatalf("checklist has %d items, want 44", len(items))
	}
	for _, it := range items {
		t.Run(it.name, func(t *testing.T) {
			t.Parallel()
			it.run(t, newEnv(t, it.opts))
		})
	}
}

func item01(t *testing.T, e *testEnv) {
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/rooms", ""},
		{"POST", "/v1/rooms", `{"name":"x"}`},
		{"GET", "/v1/rooms/5f1c00000000000000000001/streams", ""},
		{"GET", "/v1.1/rooms/5f1c00000000000000000001/streams", ""},
		{"DELETE", "/v1/rooms/5f1c00000000000000000001", ""},
	} {
		e.expect(e.raw(c.method, c.path, c.body, ""), 401, authBody401)
	}
	if n := len(e.fake.Dump().Rooms); n != 0 {
		t.Fatalf("unauthenticated POST created %d rooms", n)
	}
}

func item02(t *testing.T, e *testEnv) {
	sig := mauthSignature(testKey, "1,2")
	cases := []struct {
		name, header string
		status       int
	}{
		{"no realm", "mauth_signature_method=HMAC_SHA256,mauth_serviceid=" + testService + ",mauth_cnonce=2,mauth_timestamp=1,mauth_signature=" + sig, 200},
		{"any order and realm", "Mauth realm=whatever,mauth_signature=" + sig + ",mauth_timestamp=1,mauth_cnonce=2,mauth_serviceid=" + testService + ",mauth_signature_method=HMAC_SHA256", 200},
		{"six-char prefix is not checked", "XXXXX realm=r,xxxxx_signature_method=HMAC_SHA256,yyyyy_serviceid=" + testService + ",zzzzz_cnonce=2,aaaaa_timestamp=1,bbbbb_signature=" + sig, 200},
		{"value not trimmed", "mauth_signature_method=HMAC_SHA256,mauth_serviceid=" + testService + ",mauth_cnonce=2 ,mauth_timestamp=1,mauth_signature=" + sig, 401},
		{"quotes kept", `mauth_signature_method=HMAC_SHA256,mauth_serviceid=` + testService + `,mauth_cnonce="2",mauth_timestamp=1,mauth_signature=` + sig, 401},
		{"quoted method", `mauth_signature_method="HMAC_SHA256",mauth_serviceid=` + testService + `,mauth_cnonce=2,mauth_timestamp=1,mauth_signature=` + sig, 401},
	}
	for _, c := range cases {
		r := e.raw("GET", "/v1/rooms", "", c.header)
		if r.status != c.status {
			t.Errorf("%s: status %d (%s), want %d", c.name, r.status, r.body, c.status)
		}
		if c.status == 401 && string(r.body) != authBody401 {
			t.Errorf("%s: body %s", c.name, r.body)
		}
	}
}

func item03(t *testing.T, e *testEnv) {
	base := "mauth_signature_method=HMAC_SHA256,mauth_serviceid=" + testService + ",mauth_cnonce=77,mauth_timestamp=1700000000000"
	user := "YWxpY2U="
	plainSig := mauthSignature(testKey, "1700000000000,77")
	cases := []struct {
		name, header string
		status       int
	}{
		{"plain", base + ",mauth_signature=" + mauthSignature(testKey, "1700000000000,77"), 200},
		{"user and role signed", base + ",mauth_username=" + user + ",mauth_role=admin,mauth_signature=" + mauthSignature(testKey, "1700000000000,77,"+user+",admin"), 200},
		{"user and role not signed", base + ",mauth_username=" + user + ",mauth_role=admin,mauth_signature=" + plainSig, 401},
		{"user alone is not signed", base + ",mauth_username=" + user + ",mauth_signature=" + plainSig, 200},
		{"role alone is not signed", base + ",mauth_role=admin,mauth_signature=" + plainSig, 200},
		{"decoded user signed", base + ",mauth_username=" + user + ",mauth_role=admin,mauth_signature=" + mauthSignature(testKey, "1700000000000,77,alice,admin"), 401},
		{"wrong key", base + ",mauth_signature=" + mauthSignature("other", "1700000000000,77"), 401},
		{"wrong method", strings.Replace(base, "HMAC_SHA256", "HMAC_SHA1", 1) + ",mauth_signature=" + plainSig, 401},
		{"lowercase method", strings.Replace(base, "HMAC_SHA256", "hmac_sha256", 1) + ",mauth_signature=" + plainSig, 401},
		{"no signature", base, 401},
	}
	for _, c := range cases {
		r := e.raw("GET", "/v1/rooms", "", c.header)
		if r.status != c.status {
			t.Errorf("%s: status %d (%s), want %d", c.name, r.status, r.body, c.status)
		}
	}
}

func item04(t *testing.T, e *testEnv) {
	vectors := []struct{ toSign, want string }{
		{"1700000000000,12345", "MjFkMjlkNmJhNjEyZmZhNDcwNTc5MDhmOWZkYWExYmMzOWNlYmJkYTlmMDY0ZGE1YjEzMWQ0ZmIxMGZiZWNlYg=="},
		{"1700000000000,12345,YWxpY2U=,admin", "MjBhZDMzNTJmMmMyMWE3MTNkMGVlY2E0MDUyNTViNjA0OWJlOWZiOGZmZTU5NTRmOGIzYjJmZDg2ZjU4MDZmNQ=="},
	}
	for _, v := range vectors {
		if got := mauthSignature("abc", v.toSign); got != v.want {
			t.Errorf("signature of %q = %s, want %s", v.toSign, got, v.want)
		}
	}
	header := "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=5f1c0000000000000000abcd," +
		"mauth_cnonce=12345,mauth_timestamp=1700000000000,mauth_signature=" + vectors[0].want
	e.expect(e.raw("GET", "/v1/rooms", "", header), 200, "[]")
	withUser := "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=5f1c0000000000000000abcd," +
		"mauth_cnonce=12345,mauth_timestamp=1700000000000,mauth_username=YWxpY2U=,mauth_role=admin,mauth_signature=" + vectors[1].want
	e.expect(e.raw("GET", "/v1/rooms", "", withUser), 200, "[]")
}

func item05(t *testing.T, e *testEnv) {
	header := signHeader(testService, testKey, "1", "1")
	for i := 0; i < 3; i++ {
		e.expect(e.raw("GET", "/v1/rooms", "", header), 200, "[]")
	}
	old := signHeader(testService, testKey, "0", "x")
	e.expect(e.raw("GET", "/v1/rooms", "", old), 200, "[]")
}

func item06(t *testing.T, e *testEnv) {
	good := signHeader(testService, testKey, "5", "6")
	for _, h := range []string{
		signHeader("5f1c00000000000000000000", testKey, "5", "6"),
		signHeader(testService, "wrong", "5", "6"),
		strings.Replace(good, ",mauth_serviceid", ", mauth_serviceid", 1),
		strings.Replace(good, ",mauth_signature=", ", mauth_signature=", 1),
		strings.Replace(good, "mauth_signature=", "mauth_signature=x", 1),
	} {
		e.expect(e.raw("GET", "/v1/rooms", "", h), 401, authBody401)
	}
}

func item07(t *testing.T, e *testEnv) {
	for _, id := range []string{"abc", `"` + testService + `"`, testService + "0", "5f1c0000000000000000abcg"} {
		r := e.raw("GET", "/v1/rooms", "", signHeader(id, testKey, "1", "2"))
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || r.status != 500 || body.Error.Code != 2001 ||
			!strings.HasPrefix(body.Error.Message, "CastError Cast to ObjectId failed for value") {
			t.Errorf("service id %s: got %d %s, want 500/2001 CastError", id, r.status, r.body)
		}
	}
}

func item08(t *testing.T, e *testEnv) {
	ctxReq, err := http.NewRequest("GET", e.srv.URL+"/v1/rooms", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctxReq.Header.Set("Proxy-Authorization", auth())
	resp, err := e.srv.Client().Do(ctxReq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("Proxy-Authorization alone: status %d, want 401", resp.StatusCode)
	}
	lower := e.raw("GET", "/v1/rooms", "", auth())
	if lower.status != 200 {
		t.Fatalf("Authorization: status %d", lower.status)
	}
}

func item09(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/rooms", `{"name":"b"}`},
		{"GET", "/v1/rooms", ""},
		{"GET", "/v1/rooms/" + room, ""},
		{"PUT", "/v1/rooms/" + room, `{"inputLimit":5}`},
		{"POST", "/v1/rooms/" + room + "/streaming-ins", goodIn},
		{"GET", "/v1/rooms/" + room + "/streams", ""},
		{"GET", "/v1/rooms/" + room + "/participants", ""},
	} {
		r := e.do(c.method, c.path, c.body)
		if r.status != 200 || r.header.Get("Content-Type") != jsonType {
			t.Errorf("%s %s: %d %q, want 200 %q", c.method, c.path, r.status, r.header.Get("Content-Type"), jsonType)
		}
	}
}

func item10(t *testing.T, e *testEnv) {
	want := `{"error":{"code":1001,"message":"Resource not found"}}`
	room := e.createRoom(`{"name":"a"}`)
	e.expect(e.raw("GET", "/v2/rooms", "", ""), 404, want)
	e.expect(e.raw("GET", "/", "", ""), 404, want)
	e.expect(e.raw("GET", "/v1/nothing", "", ""), 404, want)
	e.expect(e.do("GET", "/v1/rooms/"+room+"/nothing", ""), 404, want)
	e.expect(e.do("POST", "/v1/rooms/"+room+"/streams", "{}"), 404, want)
	e.expect(e.do("GET", "/v1/rooms/"+room+"/streams/a/b", ""), 404, want)
}

func item11(t *testing.T, e *testEnv) {
	want := `{"error":{"code":1201,"message":"Failed to parse JSON body"}}`
	room := e.createRoom(`{"name":"a"}`)
	for _, body := range []string{`{"name":`, `"name"`, `42`, `{"a":1}x`} {
		e.expect(e.do("POST", "/v1/rooms", body), 400, want)
		e.expect(e.do("PATCH", "/v1/rooms/"+room+"/streams/1", body), 400, want)
	}
}

func item12(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	e.expect(e.do("PATCH", "/v1/rooms/"+room, `{"name":"b"}`), 500, `{"error":{"code":2001,"message":"ReferenceError e is not defined"}}`)
}

func item13(t *testing.T, e *testEnv) {
	invalidBody := `{"error":{"code":1201,"message":"Invalid request body"}}`
	invalidOption := `{"error":{"code":1201,"message":"Invalid room option"}}`
	cases := []struct {
		body   string
		status int
		want   string
	}{
		{`{}`, 400, invalidBody},
		{`{"name":""}`, 400, invalidBody},
		{`{"name":5}`, 400, invalidBody},
		{`{"name":null}`, 400, invalidBody},
		{`{"name":["a"]}`, 400, invalidBody},
		{`[]`, 400, invalidBody},
		{`{"name":"x","options":"views"}`, 400, invalidOption},
		{`{"name":"x","options":5}`, 400, invalidOption},
		{`{"name":"x","options":true}`, 400, invalidOption},
		{`{"name":"x","options":[]}`, 200, ""},
		{`{"name":"x","options":null}`, 200, ""},
		{`{"name":"x","options":0}`, 200, ""},
		{`{"name":"x","options":false}`, 200, ""},
		{`{"name":"x","options":""}`, 200, ""},
	}
	for _, c := range cases {
		r := e.do("POST", "/v1/rooms", c.body)
		if r.status != c.status || (c.want != "" && string(r.body) != c.want) {
			t.Errorf("%s: got %d %s, want %d %s", c.body, r.status, r.body, c.status, c.want)
		}
	}
	if n := len(e.fake.Dump().Rooms); n != 5 {
		t.Fatalf("%d rooms created, want 5", n)
	}
}

func item14(t *testing.T, e *testEnv) {
	r := e.do("POST", "/v1/rooms", `{"name":"myroom"}`)
	var room map[string]any
	e.decode(r, &room)
	id, _ := room["_id"].(string)
	if !isObjectID(id) || strings.ToLower(id) != id || room["id"] != id {
		t.Fatalf("_id %v / id %v: want equal 24 lowercase hex", room["_id"], room["id"])
	}
	jsonEqual(t, string(r.body), strings.ReplaceAll(defaultRoomJSON, "ROOMID", id))
}

func item15(t *testing.T, e *testEnv) {
	a := e.createRoom(`{"name":"dup"}`)
	b := e.createRoom(`{"name":"dup"}`)
	if a == b {
		t.Fatalf("two rooms share _id %s", a)
	}
	var list []map[string]any
	e.decode(e.do("GET", "/v1/rooms", ""), &list)
	if len(list) != 2 || list[0]["name"] != "dup" || list[1]["name"] != "dup" {
		t.Fatalf("list %v, want two rooms named dup", list)
	}
}

func item16(t *testing.T, e *testEnv) {
	var room map[string]any
	e.decode(e.do("POST", "/v1/rooms", `{"name":"x","options":{"views":[],"foo":1,"inputLimit":3}}`), &room)
	if v, ok := room["views"].([]any); !ok || len(v) != 0 {
		t.Errorf("views %v, want []", room["views"])
	}
	if _, ok := room["foo"]; ok {
		t.Errorf("unknown key foo kept")
	}
	if room["inputLimit"] != 3.0 {
		t.Errorf("inputLimit %v, want 3", room["inputLimit"])
	}
	e.decode(e.do("POST", "/v1/rooms", `{"name":"y","options":{"views":[{"video":{"maxInput":4}},{"label":"side","video":false}]}}`), &room)
	views := room["views"].([]any)
	first, second := views[0].(map[string]any), views[1].(map[string]any)
	if first["label"] != "common" || second["label"] != "side" {
		t.Fatalf("labels %v %v, want common side", first["label"], second["label"])
	}
	video := first["video"].(map[string]any)
	if video["maxInput"] != 4.0 || video["motionFactor"] != 0.8 || video["format"].(map[string]any)["codec"] != "vp8" {
		t.Errorf("view defaults not filled: %v", video)
	}
	if second["video"] != false {
		t.Errorf("audio-only view video %v, want false", second["video"])
	}
}

func item17(t *testing.T, e *testEnv) {
	var created []string
	for i := 0; i < 4; i++ {
		created = append(created, e.createRoom(fmt.Sprintf(`{"name":"r%d"}`, 3-i)))
	}
	e.fake.CreateRoomDirect(otherService, "foreign", nil)
	var list []map[string]any
	e.decode(e.do("GET", "/v1/rooms", ""), &list)
	if len(list) != 4 {
		t.Fatalf("%d rooms listed, want 4 (own service only)", len(list))
	}
	for i, r := range list {
		if r["_id"] != created[i] || r["id"] != created[i] {
			t.Fatalf("room %d: _id %v id %v, want %s", i, r["_id"], r["id"], created[i])
		}
		if i > 0 && list[i-1]["_id"].(string) >= r["_id"].(string) {
			t.Fatalf("not sorted by _id ascending")
		}
	}
}

func item18(t *testing.T, e *testEnv) {
	var all []string
	for i := 0; i < 5; i++ {
		all = append(all, e.createRoom(fmt.Sprintf(`{"name":"r%d"}`, i)))
	}
	cases := []struct {
		query      string
		start, end int
	}{
		{"", 0, 5},
		{"?per_page=2", 0, 2},
		{"?per_page=2&page=1", 0, 2},
		{"?per_page=2&page=2", 2, 4},
		{"?per_page=2&page=3", 4, 5},
		{"?per_page=2&page=4", 5, 5},
		{"?per_page=1&page=0", 0, 1},
		{"?page=2", 0, 5},
		{"?per_page=0", 0, 5},
		{"?per_page=-1", 0, 5},
		{"?per_page=abc&page=2", 0, 5},
		{"?per_page=1000", 0, 5},
	}
	for _, c := range cases {
		var list []map[string]any
		e.decode(e.do("GET", "/v1/rooms"+c.query, ""), &list)
		got := ids(nil)
		for _, r := range list {
			got = append(got, r["_id"].(string))
		}
		if want := all[c.start:c.end]; !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%q: got %v, want %v", c.query, got, want)
		}
	}
}

func item19(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"myroom"}`)
	r := e.do("GET", "/v1/rooms/"+room, "")
	var got map[string]any
	e.decode(r, &got)
	if _, ok := got["id"]; ok {
		t.Errorf("single GET has id")
	}
	want := strings.Replace(defaultRoomJSON, `,"id":"ROOMID"`, "", 1)
	jsonEqual(t, string(r.body), strings.ReplaceAll(want, "ROOMID", room))
	foreign := e.fake.CreateRoomDirect(otherService, "foreign", nil)
	for _, id := range []string{"5f1c00000000000000000001", foreign, "not-an-id", "%22x%22"} {
		e.expect(e.do("GET", "/v1/rooms/"+id, ""), 404, roomNotFound)
	}
}

func item20(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"orig","options":{"participantLimit":7}}`)
	var got map[string]any
	e.decode(e.do("PUT", "/v1/rooms/"+room, `{"inputLimit":3,"foo":1}`), &got)
	if got["id"] != room || got["name"] != "orig" || got["inputLimit"] != 3.0 || got["participantLimit"] != 7.0 {
		t.Fatalf("after PUT: %v", got)
	}
	if _, ok := got["foo"]; ok {
		t.Errorf("unknown key kept by PUT")
	}
	e.decode(e.do("PUT", "/v1/rooms/"+room, `{"views":[{"label":"a"},{"label":"b"}]}`), &got)
	if n := len(got["views"].([]any)); n != 2 || got["inputLimit"] != 3.0 {
		t.Fatalf("views replaced wholesale: %d views, inputLimit %v", n, got["inputLimit"])
	}
	e.expect(e.do("PUT", "/v1/rooms/5f1c00000000000000000001", `{"inputLimit":1}`), 404, roomNotFound)
	e.expect(e.do("PUT", "/v1/rooms/"+room, `{"views":[{"video":{"maxInput":300}}]}`), 400,
		"{\"error\":{\"code\":1201,\"message\":\"Room validation failed: views.0.video.maxInput: Path `video.maxInput` (300) is more than maximum allowed value (256).\"}}")
	var after map[string]any
	e.decode(e.do("GET", "/v1/rooms/"+room, ""), &after)
	if n := len(after["views"].([]any)); n != 2 {
		t.Fatalf("rejected PUT changed the room: %d views", n)
	}
	r := e.do("POST", "/v1/rooms", `{"name":"big","options":{"views":[{"video":{"maxInput":1000}}]}}`)
	if r.status != 500 || !strings.Contains(string(r.body), `"code":2001`) ||
		!strings.Contains(string(r.body), "ValidationError Room validation failed: views.0.video.maxInput: Path `video.maxInput` (1000) is more than maximum allowed value (256).") {
		t.Fatalf("create with maxInput 1000: %d %s", r.status, r.body)
	}
}

func item21(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	st := e.startIn(room, goodIn)
	r := e.do("DELETE", "/v1/rooms/"+room, "")
	if r.status != 200 || string(r.body) != "Room deleted" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("DELETE room: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	e.expect(e.do("DELETE", "/v1/rooms/"+room, ""), 404, roomNotFound)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/rooms/" + room, ""},
		{"GET", "/v1/rooms/" + room + "/streams", ""},
		{"GET", "/v1/rooms/" + room + "/streams/" + st["id"].(string), ""},
		{"POST", "/v1/rooms/" + room + "/streaming-ins", goodIn},
		{"DELETE", "/v1/rooms/" + room + "/streaming-ins/" + st["id"].(string), ""},
		{"GET", "/v1/rooms/" + room + "/participants", ""},
	} {
		e.expect(e.do(c.method, c.path, c.body), 404, roomNotFound)
	}
	if n := len(e.fake.Dump().Rooms); n != 0 {
		t.Fatalf("%d rooms left", n)
	}
}

func item22(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"mine"}`)
	st := e.startIn(room, goodIn)
	sid := st["id"].(string)
	other := func(method, path, body string) response {
		return e.raw(method, path, body, signHeader(otherService, otherKey, "1", "2"))
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/rooms/" + room, ""},
		{"PUT", "/v1/rooms/" + room, `{"name":"stolen"}`},
		{"DELETE", "/v1/rooms/" + room, ""},
		{"GET", "/v1/rooms/" + room + "/streams", ""},
		{"GET", "/v1/rooms/" + room + "/streams/" + sid, ""},
		{"PATCH", "/v1/rooms/" + room + "/streams/" + sid, `[]`},
		{"DELETE", "/v1/rooms/" + room + "/streams/" + sid, ""},
		{"POST", "/v1/rooms/" + room + "/streaming-ins", goodIn},
		{"GET", "/v1/rooms/" + room + "/participants", ""},
	} {
		e.expect(other(c.method, c.path, c.body), 404, roomNotFound)
	}
	e.expect(other("GET", "/v1/rooms", ""), 200, "[]")
	if got := ids(e.listStreams(room)); len(got) != 2 || got[1] != sid {
		t.Fatalf("owner's streams changed: %v", got)
	}
}

func item23(t *testing.T, e *testEnv) {
	for _, body := range []string{`{"name":"a"}`, `{"name":"b","options":{"views":[{"label":"x"},{"label":"y"}]}}`, `{"name":"c","options":{"views":[]}}`} {
		room := e.createRoom(body)
		e.expect(e.do("GET", "/v1/rooms/"+room+"/streams", ""), 200, "[]")
	}
}

func item24(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	bad := []string{
		`{}`,
		`[]`,
		`{"url":"rtmp://h/a","transport":{"protocol":"tcp","bufferSize":8192},"media":{"audio":"auto","video":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"video":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a"}}`,
		`{"media":{"audio":"auto","video":"auto"}}`,
		`{"connection":{"url":5},"media":{"audio":"auto","video":"auto"}}`,
		`{"connection":{},"media":{"audio":"auto","video":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a","transportProtocol":"http"},"media":{"audio":"auto","video":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a","bufferSize":"big"},"media":{"audio":"auto","video":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a","extra":1},"media":{"audio":"auto","video":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":{"codec":"aac"},"video":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":"yes","video":"auto"}}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":"auto","video":"auto","data":true}}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":"auto","video":"auto"},"extra":1}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":"auto","video":"auto"},"attributes":"x"}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":false,"video":false}}`,
	}
	for _, body := range bad {
		e.expect(e.do("POST", "/v1/rooms/"+room+"/streaming-ins", body), 500, opFailedBody)
	}
	e.expect(e.do("GET", "/v1/rooms/"+room+"/streams", ""), 200, "[]")
	good := []string{
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":"auto","video":"auto"}}`,
		`{"connection":{"url":"rtsp://h/a","transportProtocol":"udp","bufferSize":4096,"origin":{"isp":"x"}},"media":{"audio":true,"video":false}}`,
		`{"connection":{"url":"rtmp://h/a"},"media":{"audio":false,"video":true},"attributes":{"k":"v"},"type":"ignored"}`,
	}
	for _, body := range good {
		e.startIn(room, body)
	}
}

func item25(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	cases := []struct {
		body       string
		attributes string
		kinds      []string
	}{
		{goodIn, "", []string{"audio", "video"}},
		{`{"connection":{"url":"rtmp://h/b"},"media":{"audio":false,"video":"auto"},"attributes":{"owner":"agent","n":12345678901234567890,"list":[1,"x"]}}`,
			`{"owner":"agent","n":12345678901234567890,"list":[1,"x"]}`, []string{"video"}},
		{`{"connection":{"url":"rtmp://h/c"},"media":{"audio":true,"video":false}}`, "", []string{"audio"}},
	}
	for _, c := range cases {
		r := e.do("POST", "/v1/rooms/"+room+"/streaming-ins", c.body)
		var st struct {
			ID    string                     `json:"id"`
			Type  string                     `json:"type"`
			Media map[string]json.RawMessage `json:"media"`
			Info  map[string]json.RawMessage `json:"info"`
		}
		e.decode(r, &st)
		n, err := strconv.ParseUint(st.ID, 10, 64)
		if err != nil || n == 0 || n >= 1e18 || st.Type != "forward" {
			t.Fatalf("id %q type %q: want decimal < 1e18 and forward", st.ID, st.Type)
		}
		wantInfo := `{"owner":"admin","type":"streaming","inViews":[]}`
		if c.attributes != "" {
			wantInfo = `{"owner":"admin","type":"streaming","inViews":[],"attributes":` + c.attributes + `}`
			if !strings.Contains(string(r.body), `"n":12345678901234567890`) {
				t.Errorf("attribute number not kept verbatim: %s", r.body)
			}
		}
		info, _ := json.Marshal(st.Info)
		jsonEqual(t, string(info), wantInfo)
		var kinds []string
		for k := range st.Media {
			kinds = append(kinds, k)
		}
		if len(kinds) != len(c.kinds) || (len(kinds) == 1 && kinds[0] != c.kinds[0]) {
			t.Errorf("media kinds %v, want %v", kinds, c.kinds)
		}
	}
}

func item26(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a","options":{"views":[{"label":"common"},{"label":"side"}]}}`)
	st := e.startIn(room, goodIn)
	r := e.do("GET", "/v1/rooms/"+room+"/streams", "")
	var list []map[string]any
	e.decode(r, &list)
	if got, want := ids(list), []string{room + "-common", room + "-side", st["id"].(string)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ids %v, want %v", got, want)
	}
	for i, label := range []string{"common", "side"} {
		m := list[i]
		data, hasData := m["data"]
		if m["type"] != "mixed" || !hasData || data != nil {
			t.Errorf("mixed %d: type %v data %v (present %v)", i, m["type"], data, hasData)
		}
		info, _ := json.Marshal(m["info"])
		jsonEqual(t, string(info), `{"label":"`+label+`","activeInput":"unknown","layout":[]}`)
	}
	mixed := list[0]["media"].(map[string]any)
	video := mixed["video"].(map[string]any)
	jsonEqual(t, string(encodeJSON(video["format"])), `{"codec":"vp8"}`)
	jsonEqual(t, string(encodeJSON(video["parameters"])), `{"resolution":{"width":640,"height":480},"framerate":24,"keyFrameInterval":100}`)
	jsonEqual(t, string(encodeJSON(mixed["audio"].(map[string]any)["format"])), `{"codec":"opus","sampleRate":48000,"channelNum":2}`)
	if _, ok := list[2]["data"]; ok {
		t.Errorf("forward stream has data")
	}
}

func item27(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	first := e.startIn(room, goodIn)
	e.startIn(room, goodIn)
	for _, s := range e.listStreams(room)[1:] {
		if views := s["info"].(map[string]any)["inViews"].([]any); len(views) != 0 {
			t.Fatalf("stream %v in views %v", s["id"], views)
		}
	}
	var one map[string]any
	e.decode(e.do("GET", "/v1/rooms/"+room+"/streams/"+first["id"].(string), ""), &one)
	if views := one["info"].(map[string]any)["inViews"].([]any); len(views) != 0 {
		t.Fatalf("inViews %v, want []", views)
	}
}

func item28(t *testing.T, e *testEnv) {
	if err := e.fake.SetUnreachable(`^rtmp://10\.255\.`); err != nil {
		t.Fatal(err)
	}
	room := e.createRoom(`{"name":"a"}`)
	e.expect(e.do("POST", "/v1/rooms/"+room+"/streaming-ins",
		`{"connection":{"url":"rtmp://10.255.0.1/live/x"},"media":{"audio":"auto","video":"auto"}}`), 500, opFailedBody)
	e.expect(e.do("GET", "/v1/rooms/"+room+"/streams", ""), 200, "[]")
	state := e.fake.Dump()
	if len(state.Rooms[0].Streams) != 0 || len(state.Created) != 0 {
		t.Fatalf("unreachable POST left %d streams, %d creations", len(state.Rooms[0].Streams), len(state.Created))
	}
	e.startIn(room, goodIn)
}

func item29(t *testing.T, e *testEnv) {
	cases := []struct {
		limit, ok int
	}{{0, 0}, {1, 1}, {2, 2}, {-1, 4}}
	for _, c := range cases {
		room := e.createRoom(fmt.Sprintf(`{"name":"a","options":{"inputLimit":%d}}`, c.limit))
		okCount := 0
		for i := 0; i < 4; i++ {
			r := e.do("POST", "/v1/rooms/"+room+"/streaming-ins", goodIn)
			switch {
			case r.status == 200:
				okCount++
			case string(r.body) != opFailedBody || r.status != 500:
				t.Fatalf("limit %d: %d %s", c.limit, r.status, r.body)
			}
		}
		if okCount != c.ok {
			t.Errorf("inputLimit %d: %d accepted, want %d", c.limit, okCount, c.ok)
		}
	}
}

func item30(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	a, b := e.startIn(room, goodIn)["id"].(string), e.startIn(room, goodIn)["id"].(string)
	if err := e.fake.DropStream(room, a); err != nil {
		t.Fatal(err)
	}
	if got := ids(e.listStreams(room)); !reflect.DeepEqual(got, []string{room + "-common", b}) {
		t.Fatalf("after drop: %v", got)
	}
	e.expect(e.do("GET", "/v1/rooms/"+room+"/streams/"+a, ""), 404, streamNotFound)
	if err := e.fake.DropStream(room, a); err == nil {
		t.Fatalf("second DropStream succeeded")
	}
}

func item31(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	e.expect(e.do("GET", "/v1/rooms/"+room+"/streams/123", ""), 404, streamNotFound)
	e.startIn(room, goodIn)
	for _, sid := range []string{"123", room + "-nope", "a.b"} {
		e.expect(e.do("GET", "/v1/rooms/"+room+"/streams/"+sid, ""), 404, streamNotFound)
		e.expect(e.do("GET", "/v1.1/rooms/"+room+"/streams/"+sid, ""), 404, streamNotFound)
	}
}

func item32(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	for _, path := range []string{"/streams/" + sid, "/streams/" + room + "-common"} {
		var v1, v11 map[string]any
		e.decode(e.do("GET", "/v1/rooms/"+room+path, ""), &v1)
		e.decode(e.do("GET", "/v1.1/rooms/"+room+path, ""), &v11)
		video1 := v1["media"].(map[string]any)["video"].(map[string]any)
		video11 := v11["media"].(map[string]any)["video"].(map[string]any)
		if _, ok := video1["original"]; ok || video1["format"] == nil || video1["parameters"] == nil {
			t.Errorf("%s v1 video: %v", path, video1)
		}
		orig, ok := video11["original"].([]any)
		if !ok || len(orig) != 1 || video11["format"] != nil || video11["parameters"] != nil {
			t.Fatalf("%s v1.1 video: %v", path, video11)
		}
		o := orig[0].(map[string]any)
		if !reflect.DeepEqual(o["format"], video1["format"]) || !reflect.DeepEqual(o["parameters"], video1["parameters"]) {
			t.Errorf("%s: original %v vs v1 %v/%v", path, o, video1["format"], video1["parameters"])
		}
	}
	var st map[string]any
	e.decode(e.do("POST", "/v1.1/rooms/"+room+"/streaming-ins", goodIn), &st)
	if _, ok := st["media"].(map[string]any)["video"].(map[string]any)["original"]; !ok {
		t.Errorf("v1.1 POST answer lacks original: %v", st)
	}
	jsonEqual(t, string(encodeJSON(video1Of(t, e, room, sid)["format"])), `{"codec":"h264","profile":"CB"}`)
}

// video1Of returns media.video of a stream in the v1 shape.
func video1Of(t *testing.T, e *testEnv, room, sid string) map[string]any {
	var st map[string]any
	e.decode(e.do("GET", "/v1/rooms/"+room+"/streams/"+sid, ""), &st)
	return st["media"].(map[string]any)["video"].(map[string]any)
}

func item33(t *testing.T, e *testEnv) {
	e.expect(e.do("GET", "/v1.1/rooms/5f1c00000000000000000001/streams", ""), 200, "[]")
	e.expect(e.do("GET", "/v1.1/rooms/not-a-room/streams", ""), 200, "[]")
	e.expect(e.do("GET", "/v1/rooms/5f1c00000000000000000001/streams", ""), 404, roomNotFound)
}

func item34(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	path := "/v1/rooms/" + room + "/streams/" + sid
	e.expect(e.do("PATCH", path, `{"op":"add","path":"/info/inViews","value":"common"}`), 500, opFailedBody)
	before := e.do("GET", path, "")
	after := e.do("PATCH", path, `[]`)
	if after.status != 200 {
		t.Fatalf("PATCH []: %d %s", after.status, after.body)
	}
	jsonEqual(t, string(after.body), string(before.body))
}

func item35(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	path := "/v1/rooms/" + room + "/streams/" + sid
	for i := 0; i < 2; i++ {
		var st map[string]any
		e.decode(e.do("PATCH", path, `[{"op":"add","path":"/info/inViews","value":"common"}]`), &st)
		if got := st["info"].(map[string]any)["inViews"]; !reflect.DeepEqual(got, []any{"common"}) {
			t.Fatalf("attempt %d: inViews %v", i, got)
		}
	}
	list := e.listStreams(room)
	if got := list[1]["info"].(map[string]any)["inViews"]; !reflect.DeepEqual(got, []any{"common"}) {
		t.Fatalf("listed inViews %v", got)
	}
}

func item36(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	e.expect(e.do("PATCH", "/v1/rooms/"+room+"/streams/"+sid, `[{"op":"add","path":"/info/inViews","value":"nope"}]`), 500, opFailedBody)
	bare := e.createRoom(`{"name":"b","options":{"views":[]}}`)
	sid2 := e.startIn(bare, goodIn)["id"].(string)
	if got := ids(e.listStreams(bare)); !reflect.DeepEqual(got, []string{sid2}) {
		t.Fatalf("room without views lists %v", got)
	}
	e.expect(e.do("PATCH", "/v1/rooms/"+bare+"/streams/"+sid2, `[{"op":"add","path":"/info/inViews","value":"common"}]`), 500, opFailedBody)
}

func item37(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a","options":{"views":[{"label":"a"},{"label":"b"},{"label":"c"}]}}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	path := "/v1/rooms/" + room + "/streams/" + sid
	patch := func(op, label string) response {
		return e.do("PATCH", path, fmt.Sprintf(`[{"op":%q,"path":"/info/inViews","value":%q}]`, op, label))
	}
	inViews := func(r response) []any {
		var st map[string]any
		e.decode(r, &st)
		return st["info"].(map[string]any)["inViews"].([]any)
	}
	patch("add", "a")
	patch("add", "b")
	if got := inViews(patch("remove", "a")); !reflect.DeepEqual(got, []any{"b"}) {
		t.Fatalf("remove a: %v", got)
	}
	patch("add", "a")
	if got := inViews(patch("remove", "c")); !reflect.DeepEqual(got, []any{"b"}) {
		t.Fatalf("quirk: remove c (not in inViews [b a]) should drop the last element: %v", got)
	}
	e.expect(patch("remove", "zzz"), 500, opFailedBody)
}

func item38(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	videoOnly := e.startIn(room, `{"connection":{"url":"rtmp://h/v"},"media":{"audio":false,"video":"auto"}}`)["id"].(string)
	webrtc := e.fake.AddForeignStream(room, map[string]any{"owner": "user-1", "type": "webrtc"})
	replace := func(id, kind, value string) response {
		return e.do("PATCH", "/v1/rooms/"+room+"/streams/"+id, fmt.Sprintf(`[{"op":"replace","path":"/media/%s/status","value":%q}]`, kind, value))
	}
	if r := replace(sid, "audio", "active"); r.status != 200 {
		t.Fatalf("same value: %d %s", r.status, r.body)
	}
	e.expect(replace(sid, "video", "inactive"), 500, opFailedBody)
	e.expect(replace(videoOnly, "audio", "active"), 500, opFailedBody)
	var st map[string]any
	e.decode(replace(webrtc, "audio", "inactive"), &st)
	if got := st["media"].(map[string]any)["audio"].(map[string]any)["status"]; got != "inactive" {
		t.Fatalf("webrtc mute: status %v", got)
	}
}

func item39(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	for _, body := range []string{
		`[{"op":"move","path":"/info/inViews","value":"common"}]`,
		`[{"op":"add","path":"/info/foo","value":"common"}]`,
		`[{"op":"add","path":"/info/inViews","value":5}]`,
		`[{"op":"add","path":"/info/inViews","value":"common","extra":1}]`,
		`[{"op":"remove","path":"/info/inViews"}]`,
		`[{"op":"replace","path":"/media/audio/status","value":"muted"}]`,
		`[{"op":"add","path":"/media/audio/status","value":"active"}]`,
		`["add"]`,
		`[{"op":"replace","path":"/info/layout","value":[]}]`,
	} {
		e.expect(e.do("PATCH", "/v1/rooms/"+room+"/streams/"+sid, body), 500, opFailedBody)
	}
}

func item40(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	e.expect(e.do("PATCH", "/v1/rooms/"+room+"/streams/123", `[]`), 500, opFailedBody)
	e.startIn(room, goodIn)
	e.expect(e.do("PATCH", "/v1/rooms/"+room+"/streams/123", `[{"op":"add","path":"/info/inViews","value":"common"}]`), 500, opFailedBody)
}

func item41(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	a, b := e.startIn(room, goodIn)["id"].(string), e.startIn(room, goodIn)["id"].(string)
	webrtc := e.fake.AddForeignStream(room, map[string]any{"owner": "u"})
	for _, p := range []string{"/streaming-ins/" + a, "/streams/" + b, "/streaming-ins/" + webrtc} {
		r := e.do("DELETE", "/v1/rooms/"+room+p, "")
		if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != "" {
			t.Fatalf("DELETE %s: %d %q %q", p, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	if got := ids(e.listStreams(room)); !reflect.DeepEqual(got, []string{room + "-common"}) {
		t.Fatalf("after deletes: %v", got)
	}
}

func item42(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	e.startIn(room, goodIn)
	e.expect(e.do("DELETE", "/v1/rooms/"+room+"/streams/"+sid, ""), 200, "")
	e.expect(e.do("DELETE", "/v1/rooms/"+room+"/streams/"+sid, ""), 500, opFailedBody)
	e.expect(e.do("DELETE", "/v1/rooms/"+room+"/streaming-ins/"+sid, ""), 500, opFailedBody)
	e.expect(e.do("DELETE", "/v1/rooms/"+room+"/streaming-ins/999", ""), 500, opFailedBody)
	idle := e.createRoom(`{"name":"b"}`)
	e.expect(e.do("DELETE", "/v1/rooms/"+idle+"/streams/999", ""), 500, opFailedBody)
}

func item43(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	sid := e.startIn(room, goodIn)["id"].(string)
	e.expect(e.do("DELETE", "/v1/rooms/"+room+"/streams/"+sid, ""), 200, "")
	if got := ids(e.listStreams(room)); !reflect.DeepEqual(got, []string{room + "-common"}) {
		t.Fatalf("right after the last input left: %v", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.listStreams(room)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("mixed streams still listed after the idle timeout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A participant keeps the room active; the default (0) never drops.
	if err := e.fake.AddParticipant(room, Participant{ID: "p1", Role: "viewer", User: "bob"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(80 * time.Millisecond)
	if got := ids(e.listStreams(room)); !reflect.DeepEqual(got, []string{room + "-common"}) {
		t.Fatalf("room with a participant: %v", got)
	}
	never := newEnv(t, Options{})
	r2 := never.createRoom(`{"name":"b"}`)
	sid2 := never.startIn(r2, goodIn)["id"].(string)
	never.expect(never.do("DELETE", "/v1/rooms/"+r2+"/streams/"+sid2, ""), 200, "")
	time.Sleep(80 * time.Millisecond)
	if got := ids(never.listStreams(r2)); !reflect.DeepEqual(got, []string{r2 + "-common"}) {
		t.Fatalf("IdleTimeout 0 dropped mixed streams: %v", got)
	}
}

func item44(t *testing.T, e *testEnv) {
	room := e.createRoom(`{"name":"a"}`)
	e.startIn(room, goodIn)
	for _, sid := range []string{"a.b", "a%20b", "%C3%A9", "a:b"} {
		e.expect(e.do("PATCH", "/v1/rooms/"+room+"/streams/"+sid, `[]`), 500, opFailedBody)
		e.expect(e.do("DELETE", "/v1/rooms/"+room+"/streams/"+sid, ""), 500, opFailedBody)
		e.expect(e.do("DELETE", "/v1/rooms/"+room+"/streaming-ins/"+sid, ""), 500, opFailedBody)
	}
}
