package owtfake

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// apiError is an OWT error answer: HTTP status plus the JSON error body.
type apiError struct {
	status  int
	code    int
	message string
}

// Error implements error.
func (e apiError) Error() string { return e.message }

// Error answers exactly as the real management API does (spec sections 2.5 and 3).
var (
	errAuth                = apiError{http.StatusUnauthorized, 1101, `WWW-Authenticate: MAuth realm="http://marte3.dit.upm.es"`}
	errResourceNotFound    = apiError{http.StatusNotFound, 1001, "Resource not found"}
	errRoomNotFound        = apiError{http.StatusNotFound, 1003, "Room not found"}
	errStreamNotFound      = apiError{http.StatusNotFound, 1004, "Stream not found"}
	errParticipantNotFound = apiError{http.StatusNotFound, 1005, "Participant not found"}
	errInvalidBody         = apiError{http.StatusBadRequest, 1201, "Invalid request body"}
	errInvalidRoomOption   = apiError{http.StatusBadRequest, 1201, "Invalid room option"}
	errParseJSON           = apiError{http.StatusBadRequest, 1201, "Failed to parse JSON body"}
	errOperationFailed     = apiError{http.StatusInternalServerError, 1301, "Operation failed"}
	errPatchRoom           = apiError{http.StatusInternalServerError, 2001, "ReferenceError e is not defined"}
	errPayloadTooLarge     = apiError{http.StatusInternalServerError, 2001, "PayloadTooLargeError request entity too large"}
)

// internalError is a 500/2001 answer with "<ErrorName> <message>".
func internalError(message string) apiError {
	return apiError{http.StatusInternalServerError, 2001, message}
}

// badRequest is a 400/1201 answer with a custom message.
func badRequest(message string) apiError {
	return apiError{http.StatusBadRequest, 1201, message}
}

// encodeJSON marshals v like JSON.stringify: no HTML escaping, no newline.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only values built by this package are encoded; they always marshal.
		panic("owtfake: cannot encode response: " + err.Error())
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// writeJSONBytes writes an already encoded JSON body with Express' content type.
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON encodes v and writes it with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONBytes(w, status, encodeJSON(v))
}

// writeError writes an OWT error body.
func writeError(w http.ResponseWriter, e apiError) {
	writeJSON(w, e.status, map[string]any{"error": map[string]any{"code": e.code, "message": e.message}})
}

// writeText writes a text body with the given content type, as Express res.send does.
func writeText(w http.ResponseWriter, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// setCommonHeaders adds the CORS, HSTS and nosniff headers every answer carries.
func setCommonHeaders(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PATCH, PUT, DELETE")
	h.Set("Access-Control-Allow-Headers", "origin, authorization, content-type")
	h.Set("Strict-Transport-Security", "max-age=1024000; includeSubDomain")
	h.Set("X-Content-Type-Options", "nosniff")
}
