package srsapi

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// okBody is the answer SRS accepts. It has no trailing newline on purpose:
// SRS rejects "0\n".
const okBody = `{"code":0}`

// WriteOK answers a hook so that SRS accepts it: HTTP 200, application/json,
// body exactly {"code":0}.
func WriteOK(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, []byte(okBody))
}

// WriteReject answers a hook with HTTP 200 and {"code":code,"msg":reason},
// which makes SRS refuse the publish or play. A code of 0 would be an
// acceptance, so it is replaced by 1.
func WriteReject(w http.ResponseWriter, code int, reason string) {
	if code == 0 {
		code = 1
	}
	writeJSON(w, http.StatusOK, codeMsg(code, reason))
}

// writeError answers a bad hook request with status and {"code":status,"msg":reason}.
func writeError(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, codeMsg(status, reason))
}

func codeMsg(code int, msg string) []byte {
	m, _ := json.Marshal(msg)       // a string always marshals
	b := make([]byte, 0, len(m)+32) // capacity only: +-1 is an equivalent mutant
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"msg":`...)
	b = append(b, m...)
	return append(b, '}')
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
