package owtfake

import (
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// layoutStreamPath is the replace path of one layout region's stream.
var layoutStreamPath = regexp.MustCompile(`^/info/layout/([0-9]+)/stream$`)

// patchOp is one validated PATCH operation.
type patchOp struct {
	op    string
	path  string
	value any
}

// parsePatch validates a PATCH body against restReqValidator.js:133-208:
// an array of {op, path, value} with exactly those keys and matching types.
func parsePatch(body any) ([]patchOp, bool) {
	list, ok := body.([]any)
	if !ok {
		return nil, false
	}
	ops := make([]patchOp, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok || len(m) != 3 {
			return nil, false
		}
		op, okOp := m["op"].(string)
		path, okPath := m["path"].(string)
		value, okValue := m["value"]
		if !okOp || !okPath || !okValue {
			return nil, false
		}
		switch {
		case path == "/info/inViews":
			if _, isStr := value.(string); !isStr || (op != "add" && op != "remove") {
				return nil, false
			}
		case path == "/media/audio/status" || path == "/media/video/status":
			if op != "replace" || (value != "active" && value != "inactive") {
				return nil, false
			}
		case path == "/info/layout":
			if _, isList := value.([]any); !isList || op != "replace" {
				return nil, false
			}
		case layoutStreamPath.MatchString(path):
			if _, isStr := value.(string); !isStr || op != "replace" {
				return nil, false
			}
		default:
			return nil, false
		}
		ops = append(ops, patchOp{op: op, path: path, value: value})
	}
	return ops, true
}

// handlePatchStream serves PATCH …/rooms/{id}/streams/{sid}. Operations run
// in order; on the first failure the answer is 500/1301 but earlier ones
// stay applied, as in the real conference.
func (s *Server) handlePatchStream(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.streamRoom(c)
	if err != nil {
		writeError(c.w, *err)
		return
	}
	ops, ok := parsePatch(c.body)
	if !ok || r == nil || !r.active || !validIDPattern.MatchString(c.room) || !validIDPattern.MatchString(c.sub) {
		writeError(c.w, errOperationFailed)
		return
	}
	now := time.Now()
	if mv := r.mixedByID(c.sub); mv != nil {
		s.modified = append(s.modified, ModifyRecord{Kind: "stream", Room: r.id, Stream: c.sub, Op: "patch", Time: now})
		for _, op := range ops {
			ok := applyMixedOp(r, mv, op, now)
			mv.cache = [2][]byte{}
			if !ok {
				writeError(c.w, errOperationFailed)
				return
			}
		}
		writeJSONBytes(c.w, http.StatusOK, mv.jsonBytes(r.id, c.v11))
		return
	}
	st := r.readyStream(c.sub, now)
	if st == nil {
		writeError(c.w, errOperationFailed)
		return
	}
	s.modified = append(s.modified, ModifyRecord{Kind: "stream", Room: r.id, Stream: st.id, URL: st.url, Op: "patch", Time: now})
	for _, op := range ops {
		ok := applyForwardOp(r, st, op)
		st.changed()
		if !ok {
			writeError(c.w, errOperationFailed)
			return
		}
	}
	writeJSONBytes(c.w, http.StatusOK, st.jsonBytes(c.v11))
}

// applyForwardOp applies one operation to a forward stream.
func applyForwardOp(r *room, st *stream, op patchOp) bool {
	switch op.path {
	case "/info/inViews":
		label := op.value.(string)
		if r.view(label) == nil {
			return false
		}
		idx := -1
		for i, l := range st.inViews {
			if l == label {
				idx = i
			}
		}
		if op.op == "add" {
			if idx < 0 {
				st.inViews = append(st.inViews, label)
			}
			return true
		}
		if idx < 0 {
			// Quirk of conference.js:1980: splice(-1, 1) drops the last element.
			idx = len(st.inViews) - 1
		}
		if idx >= 0 {
			st.inViews = append(st.inViews[:idx:idx], st.inViews[idx+1:]...)
		}
		return true
	case "/media/audio/status", "/media/video/status":
		t := st.audio
		if op.path == "/media/video/status" {
			t = st.video
		}
		if t == nil {
			return false
		}
		if t.status == op.value {
			return true
		}
		if st.infoType != "webrtc" {
			// 5.x routes mutes through the WebRTC controller only.
			return false
		}
		t.status = op.value.(string)
		return true
	}
	return false
}

// applyMixedOp applies one layout operation to a mixed stream.
func applyMixedOp(r *room, mv *mixView, op patchOp, now time.Time) bool {
	if op.path == "/info/layout" {
		layout, ok := validLayout(r, op.value.([]any), now)
		if ok {
			mv.layout = layout
		}
		return ok
	}
	m := layoutStreamPath.FindStringSubmatch(op.path)
	if m == nil {
		return false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n >= len(mv.layout) {
		return false
	}
	id := op.value.(string)
	if r.readyStream(id, now) == nil {
		return false
	}
	region, ok := mv.layout[n].(map[string]any)
	if !ok {
		return false
	}
	region["stream"] = id
	return true
}

// validLayout checks a whole layout: regions with unique ids, streams that
// are distinct forward streams of the room, streamless regions last.
func validLayout(r *room, layout []any, now time.Time) ([]any, bool) {
	out := make([]any, 0, len(layout))
	regionIDs := map[string]bool{}
	streams := map[string]bool{}
	sawEmpty := false
	for _, item := range layout {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		region, ok := m["region"].(map[string]any)
		if !ok {
			return nil, false
		}
		rid, _ := region["id"].(string)
		if rid == "" || regionIDs[rid] {
			return nil, false
		}
		regionIDs[rid] = true
		sid, hasStream := m["stream"].(string)
		if !hasStream {
			sawEmpty = true
		} else if sawEmpty || streams[sid] || r.readyStream(sid, now) == nil {
			return nil, false
		} else {
			streams[sid] = true
		}
		out = append(out, deepCopy(m))
	}
	return out, true
}
