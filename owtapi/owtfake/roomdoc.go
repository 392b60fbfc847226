package owtfake

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// isRoomKey reports whether the strict Room schema keeps a top-level key.
func isRoomKey(k string) bool {
	switch k {
	case "name", "inputLimit", "participantLimit", "selectActiveAudio", "enableBandwidthAdaptation",
		"roles", "views", "mediaIn", "mediaOut", "transcoding", "notifying", "sip":
		return true
	}
	return false
}

// topDefault returns the defaults.js value for keys whose falsy value is
// replaced on create.
func topDefault(k string) any {
	switch k {
	case "roles":
		return parseConst(defaultRolesJSON)
	case "mediaIn":
		return parseConst(defaultMediaInJSON)
	case "mediaOut":
		return parseConst(defaultMediaOutJSON)
	case "views":
		return []any{map[string]any{}}
	}
	return nil
}

// newRoomDoc builds a room document from POST /v1/rooms like roomInterface.create
// and the mongoose model: unknown keys dropped, null leaves stripped, falsy
// top-level defaults replaced, schema defaults filled and values validated.
func newRoomDoc(name string, options map[string]any) (map[string]any, *apiError) {
	doc := map[string]any{}
	for k, v := range options {
		if k == "name" || !isRoomKey(k) {
			continue
		}
		if v = stripNulls(normalizeNumbers(v)); v != nil {
			doc[k] = v
		}
	}
	doc["name"] = name
	for _, k := range []string{"roles", "mediaIn", "mediaOut", "views"} {
		if isFalsy(doc[k]) {
			doc[k] = topDefault(k)
		}
	}
	if errs := applyRoomSchema(doc); len(errs) > 0 {
		e := internalError("ValidationError Room validation failed: " + strings.Join(errs, ", "))
		return nil, &e
	}
	if !viewsMatchMediaOut(doc) {
		e := internalError("Error MediaOut conflicts with View Setting")
		return nil, &e
	}
	return doc, nil
}

// updateRoomDoc shallow-merges updates onto a copy of doc (PUT /v1/rooms/{id})
// and validates the result; a model error is 400/1201 without the class name.
func updateRoomDoc(doc map[string]any, updates map[string]any) (map[string]any, *apiError) {
	next := deepCopy(doc).(map[string]any)
	for k, v := range updates {
		if !isRoomKey(k) {
			continue
		}
		if v = stripNulls(normalizeNumbers(v)); v == nil {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	for _, k := range []string{"roles", "mediaIn", "mediaOut", "views"} {
		if _, ok := next[k]; !ok {
			next[k] = topDefault(k)
		}
	}
	if errs := applyRoomSchema(next); len(errs) > 0 {
		e := badRequest("Room validation failed: " + strings.Join(errs, ", "))
		return nil, &e
	}
	return next, nil
}

// applyRoomSchema fills schema defaults into doc and returns mongoose-like
// validation messages ("path: message").
func applyRoomSchema(doc map[string]any) []string {
	var errs []string
	switch n := doc["name"].(type) {
	case string:
		if n == "" {
			errs = append(errs, "name: Path `name` is required.")
		}
	case float64:
		doc["name"] = strconv.FormatFloat(n, 'f', -1, 64)
	case nil:
		errs = append(errs, "name: Path `name` is required.")
	default:
		errs = append(errs, castMessage("name", "string", n))
	}
	for _, k := range []string{"inputLimit", "participantLimit"} {
		errs = castField(doc, k, k, -1.0, castNumber, "Number", errs)
	}
	for _, k := range []string{"selectActiveAudio", "enableBandwidthAdaptation"} {
		errs = castField(doc, k, k, false, castBool, "Boolean", errs)
	}
	for _, k := range []string{"transcoding", "notifying"} {
		def := defaultTranscodingJSON
		if k == "notifying" {
			def = defaultNotifyingJSON
		}
		switch v := doc[k].(type) {
		case nil:
			doc[k] = parseConst(def)
		case map[string]any:
			fillDefaults(v, constMap(def))
		default:
			errs = append(errs, castMessage(k, "Embedded", v))
		}
	}
	views, ok := doc["views"].([]any)
	if !ok {
		if m, isMap := doc["views"].(map[string]any); isMap {
			views = []any{m}
		} else {
			return append(errs, castMessage("views", "Array", doc["views"]))
		}
	}
	for i, v := range views {
		nv, verrs := normalizeView(i, v)
		views[i] = nv
		errs = append(errs, verrs...)
	}
	doc["views"] = views
	return errs
}

// normalizeView fills the View sub-schema defaults of view i and validates it.
func normalizeView(i int, v any) (any, []string) {
	prefix := fmt.Sprintf("views.%d.", i)
	view, ok := v.(map[string]any)
	if !ok {
		return v, []string{castMessage(strings.TrimSuffix(prefix, "."), "Embedded", v)}
	}
	var errs []string
	switch l := view["label"].(type) {
	case nil:
		view["label"] = "common"
	case string:
	case float64:
		view["label"] = strconv.FormatFloat(l, 'f', -1, 64)
	default:
		errs = append(errs, castMessage(prefix+"label", "string", l))
	}
	for _, kind := range []string{"audio", "video"} {
		def := defaultViewAudioJSON
		if kind == "video" {
			def = defaultViewVideoJSON
		}
		switch m := view[kind].(type) {
		case bool:
			if m {
				view[kind] = parseConst(def)
			}
		case nil:
			view[kind] = parseConst(def)
		case map[string]any:
			fillDefaults(m, constMap(def))
		default:
			errs = append(errs, castMessage(prefix+kind, "Embedded", m))
		}
	}
	if video, ok := view["video"].(map[string]any); ok {
		errs = castField(video, "maxInput", prefix+"video.maxInput", 16.0, castNumber, "Number", errs)
		if n, ok := video["maxInput"].(float64); ok {
			shown := strconv.FormatFloat(n, 'f', -1, 64)
			if n > 256 {
				errs = append(errs, prefix+"video.maxInput: Path `video.maxInput` ("+shown+") is more than maximum allowed value (256).")
			} else if n < 1 {
				errs = append(errs, prefix+"video.maxInput: Path `video.maxInput` ("+shown+") is less than minimum allowed value (1).")
			}
		}
		errs = castField(video, "motionFactor", prefix+"video.motionFactor", 0.8, castNumber, "Number", errs)
		if layout, ok := video["layout"].(map[string]any); ok {
			errs = checkEnum(layout, "fitPolicy", prefix+"video.layout.fitPolicy", "layout.fitPolicy", []string{"letterbox", "crop"}, errs)
			if tpl, ok := layout["templates"].(map[string]any); ok {
				errs = checkEnum(tpl, "base", prefix+"video.layout.templates.base", "layout.templates.base", []string{"fluid", "lecture", "void"}, errs)
			}
		}
	}
	return view, errs
}

// checkEnum validates a string enum member.
func checkEnum(m map[string]any, key, path, schemaPath string, allowed []string, errs []string) []string {
	v, _ := m[key].(string)
	for _, a := range allowed {
		if v == a {
			return errs
		}
	}
	return append(errs, fmt.Sprintf("%s: `%v` is not a valid enum value for path `%s`.", path, m[key], schemaPath))
}

// castField applies a mongoose-like cast to m[key], filling def when absent.
func castField(m map[string]any, key, path string, def any, cast func(any) (any, bool), typeName string, errs []string) []string {
	v, present := m[key]
	if !present || v == nil {
		m[key] = def
		return errs
	}
	out, ok := cast(v)
	if !ok {
		return append(errs, castMessage(path, typeName, v))
	}
	m[key] = out
	return errs
}

// castNumber casts like mongoose's Number type.
func castNumber(v any) (any, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case bool:
		if x {
			return 1.0, true
		}
		return 0.0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || strings.TrimSpace(x) == "" {
			return nil, false
		}
		return f, true
	}
	return nil, false
}

// castBool casts like mongoose's Boolean type.
func castBool(v any) (any, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case float64:
		if x == 1 || x == 0 {
			return x == 1, true
		}
	case string:
		switch x {
		case "true", "1", "yes":
			return true, true
		case "false", "0", "no":
			return false, true
		}
	}
	return nil, false
}

// castMessage renders a mongoose CastError message.
func castMessage(path, typeName string, v any) string {
	jsType := "Object"
	shown := string(encodeJSON(v))
	switch x := v.(type) {
	case string:
		jsType = "string"
	case float64:
		jsType = "number"
		shown = `"` + strconv.FormatFloat(x, 'f', -1, 64) + `"`
	case bool:
		jsType = "boolean"
		shown = `"` + strconv.FormatBool(x) + `"`
	case []any:
		jsType = "Array"
		shown = `"` + shown + `"`
	default:
		shown = `"` + shown + `"`
	}
	return fmt.Sprintf("%s: Cast to %s failed for value %s (type %s) at path %q", path, typeName, shown, jsType, path[strings.LastIndex(path, ".")+1:])
}

// viewsMatchMediaOut checks that every view's audio and video format is
// offered in mediaOut (roomInterface.js:23-55).
func viewsMatchMediaOut(doc map[string]any) bool {
	mediaOut, _ := doc["mediaOut"].(map[string]any)
	outAudio, _ := mediaOut["audio"].([]any)
	outVideoMap, _ := mediaOut["video"].(map[string]any)
	outVideo, _ := outVideoMap["format"].([]any)
	views, _ := doc["views"].([]any)
	for _, v := range views {
		view, _ := v.(map[string]any)
		if audio, ok := view["audio"].(map[string]any); ok {
			if !formatOffered(audio["format"], outAudio, "codec", "sampleRate", "channelNum") {
				return false
			}
		}
		if video, ok := view["video"].(map[string]any); ok {
			if !formatOffered(video["format"], outVideo, "codec", "profile") {
				return false
			}
		}
	}
	return true
}

// formatOffered reports whether format equals one of offered on the given fields.
func formatOffered(format any, offered []any, fields ...string) bool {
	f, _ := format.(map[string]any)
	for _, o := range offered {
		om, _ := o.(map[string]any)
		same := true
		for _, field := range fields {
			if fmt.Sprint(f[field]) != fmt.Sprint(om[field]) {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

// fillDefaults copies every key of def that dst lacks (or holds null),
// recursing into objects present on both sides.
func fillDefaults(dst, def map[string]any) {
	for k, dv := range def {
		cur, ok := dst[k]
		if !ok || cur == nil {
			dst[k] = deepCopy(dv)
			continue
		}
		if cm, ok := cur.(map[string]any); ok {
			if dm, ok := dv.(map[string]any); ok {
				fillDefaults(cm, dm)
			}
		}
	}
}

// isFalsy reports JavaScript falsiness of a decoded JSON value.
func isFalsy(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case string:
		return x == ""
	}
	return false
}

// stripNulls removes null object members recursively; a null value itself
// becomes nil.
func stripNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = stripNulls(e)
		}
	case []any:
		for i, e := range x {
			x[i] = stripNulls(e)
		}
	}
	return v
}

// normalizeNumbers turns json.Number leaves into float64, in place where possible.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// deepCopy copies decoded JSON values.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
