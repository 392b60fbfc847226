package policy

import (
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// viewLabelRE is what OWT accepts as a view label.
var viewLabelRE = regexp.MustCompile(`^[0-9a-zA-Z\-_]+$`)

// schema describes the allowed shape of a room option (OWT spec 5.1) so the
// policy can reject typos and wrong types before OWT does (OWT drops unknown
// keys silently and answers 500 on a wrong type).
type schema struct {
	kind   schemaKind
	fields map[string]*schema // obj
	elem   *schema            // list
	lo, hi int                // int
	re     *regexp.Regexp     // str
	enum   []string           // str
	what   string             // str: what the pattern means
}

type schemaKind int

const (
	sAny schemaKind = iota
	sObj
	sList
	sBool
	sInt
	sNum
	sStr
	sFalseOrObj // a view's audio/video: false or an object
)

func obj(fields map[string]*schema) *schema { return &schema{kind: sObj, fields: fields} }
func listOf(e *schema) *schema              { return &schema{kind: sList, elem: e} }
func intIn(lo, hi int) *schema              { return &schema{kind: sInt, lo: lo, hi: hi} }
func enumOf(v ...string) *schema            { return &schema{kind: sStr, enum: v} }

var (
	sBoolean = &schema{kind: sBool}
	sNumber  = &schema{kind: sNum}
	sString  = &schema{kind: sStr}
	sAnyVal  = &schema{kind: sAny}
)

// roomOptionsSchema is built once per parse; schemas are immutable values.
func roomOptionsSchema() *schema {
	audioFmt := obj(map[string]*schema{"codec": sString, "sampleRate": intIn(1, 1000000), "channelNum": intIn(1, 16)})
	videoFmt := obj(map[string]*schema{"codec": sString, "profile": sString})
	mediaSel := obj(map[string]*schema{"audio": sBoolean, "video": sBoolean})
	view := obj(map[string]*schema{
		"label": {kind: sStr, re: viewLabelRE, what: "letters, digits, - and _"},
		"audio": {kind: sFalseOrObj, fields: map[string]*schema{"format": audioFmt, "vad": sBoolean}},
		"video": {kind: sFalseOrObj, fields: map[string]*schema{
			"format": videoFmt,
			"parameters": obj(map[string]*schema{
				"resolution":       obj(map[string]*schema{"width": intIn(1, 16384), "height": intIn(1, 16384)}),
				"framerate":        intIn(1, 240),
				"bitrate":          sNumber,
				"keyFrameInterval": intIn(1, 1000),
			}),
			"maxInput":               intIn(1, 256),
			"motionFactor":           sNumber,
			"bgColor":                obj(map[string]*schema{"r": intIn(0, 255), "g": intIn(0, 255), "b": intIn(0, 255)}),
			"keepActiveInputPrimary": sBoolean,
			"layout": obj(map[string]*schema{
				"fitPolicy":       enumOf("letterbox", "crop"),
				"setRegionEffect": sString,
				"templates":       obj(map[string]*schema{"base": enumOf("fluid", "lecture", "void"), "custom": listOf(sAnyVal)}),
			}),
		}},
	})
	return obj(map[string]*schema{
		"inputLimit":                intIn(-1, 1<<30),
		"participantLimit":          intIn(-1, 1<<30),
		"selectActiveAudio":         sBoolean,
		"enableBandwidthAdaptation": sBoolean,
		"roles":                     listOf(obj(map[string]*schema{"role": sString, "publish": mediaSel, "subscribe": mediaSel})),
		"views":                     listOf(view),
		"mediaIn":                   obj(map[string]*schema{"audio": listOf(audioFmt), "video": listOf(videoFmt)}),
		"mediaOut": obj(map[string]*schema{
			"audio": listOf(audioFmt),
			"video": obj(map[string]*schema{
				"format": listOf(videoFmt),
				"parameters": obj(map[string]*schema{
					"resolution":       listOf(sString),
					"framerate":        listOf(intIn(1, 240)),
					"bitrate":          listOf(sString),
					"keyFrameInterval": listOf(intIn(1, 1000)),
				}),
			}),
		}),
		"transcoding": obj(map[string]*schema{
			"audio": sBoolean,
			"video": obj(map[string]*schema{
				"format": sBoolean,
				"parameters": obj(map[string]*schema{
					"resolution": sBoolean, "framerate": sBoolean, "bitrate": sBoolean, "keyFrameInterval": sBoolean,
				}),
			}),
		}),
		"notifying": obj(map[string]*schema{"participantActivities": sBoolean, "streamChange": sBoolean}),
	})
}

// convert validates n against s and returns it as a JSON-ready value
// (map[string]any, []any, string, int, float64, bool).
func (w *walker) convert(n *yaml.Node, field string, s *schema) (any, bool) {
	if !w.noAlias(n, field) {
		return nil, false
	}
	switch s.kind {
	case sObj, sFalseOrObj:
		if s.kind == sFalseOrObj && n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
			if n.Value == "false" || n.Value == "False" || n.Value == "FALSE" {
				return false, true
			}
			w.addf(n, field, "must be false or a mapping")
			return nil, false
		}
		m, ok := w.mapping(n, field, sortedKeys(s.fields)...)
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(m))
		good := true
		for _, k := range sortedKeys(s.fields) {
			v, present := m[k]
			if !present {
				continue
			}
			cv, ok := w.convert(v, join(field, k), s.fields[k])
			if !ok {
				good = false
				continue
			}
			out[k] = cv
		}
		return out, good
	case sList:
		items, ok := w.list(n, field)
		if !ok {
			return nil, false
		}
		out := make([]any, 0, len(items))
		good := true
		for i, it := range items {
			cv, ok := w.convert(it, index(field, i), s.elem)
			if !ok {
				good = false
				continue
			}
			out = append(out, cv)
		}
		return out, good
	case sBool:
		return w.boolean(n, field)
	case sInt:
		return w.integer(n, field, s.lo, s.hi)
	case sNum:
		return w.number(n, field)
	case sStr:
		v, ok := w.str(n, field)
		if !ok {
			return nil, false
		}
		if s.re != nil && !s.re.MatchString(v) {
			w.addf(n, field, "%q is not valid: use %s", v, s.what)
			return nil, false
		}
		if len(s.enum) > 0 && !contains(s.enum, v) {
			w.addf(n, field, "%q is not one of %s", v, strings.Join(s.enum, ", "))
			return nil, false
		}
		return v, true
	default:
		return w.anyValue(n, field, 0)
	}
}

// anyValue converts any alias-free YAML value.
func (w *walker) anyValue(n *yaml.Node, field string, depth int) (any, bool) {
	if !w.noAlias(n, field) {
		return nil, false
	}
	if depth > 32 {
		w.addf(n, field, "nested too deeply")
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		m, ok := w.mapping(n, field)
		if !ok {
			return nil, false
		}
		out := make(map[string]any, len(m))
		for k, v := range m {
			cv, ok := w.anyValue(v, join(field, k), depth+1)
			if !ok {
				return nil, false
			}
			out[k] = cv
		}
		return out, true
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, it := range n.Content {
			cv, ok := w.anyValue(it, index(field, i), depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, cv)
		}
		return out, true
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, true
		case "!!bool":
			return w.boolean(n, field)
		case "!!int":
			return w.integer(n, field, -1<<31, 1<<31-1)
		case "!!float":
			return w.number(n, field)
		}
		return n.Value, true
	}
	w.addf(n, field, "unsupported value")
	return nil, false
}

// viewLabels returns the labels of the views in room options ("common" for a
// view without a label) and whether the options list views at all.
func viewLabels(opts map[string]any) ([]string, bool) {
	raw, ok := opts["views"].([]any)
	if !ok {
		return nil, false
	}
	labels := make([]string, 0, len(raw))
	for _, v := range raw {
		label := "common"
		if m, ok := v.(map[string]any); ok {
			if l, ok := m["label"].(string); ok {
				label = l
			}
		}
		labels = append(labels, label)
	}
	return labels, true
}

func sortedKeys(m map[string]*schema) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// deepCopy copies a JSON-ready value so callers may modify a Target freely.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}
