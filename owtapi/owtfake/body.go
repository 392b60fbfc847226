package owtfake

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// maxBodyBytes is body-parser's default limit (100 kB).
const maxBodyBytes = 100 * 1024

// readBody parses a request body like Express body-parser: JSON (strict:
// object or array at the top level) for application/json, flat fields for
// application/x-www-form-urlencoded, and an empty object otherwise.
// JSON numbers are kept as json.Number so attributes round-trip exactly.
func readBody(r *http.Request) (any, *apiError) {
	empty := map[string]any{}
	if r.Body == nil {
		return empty, nil
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "application/json" && mediaType != "application/x-www-form-urlencoded" {
		return empty, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, &errParseJSON
	}
	if len(raw) > maxBodyBytes {
		return nil, &errPayloadTooLarge
	}
	if mediaType == "application/x-www-form-urlencoded" {
		values, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, &errParseJSON
		}
		out := make(map[string]any, len(values))
		for k, v := range values {
			out[k] = v[len(v)-1]
		}
		return out, nil
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return empty, nil
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		return nil, &errParseJSON
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &errParseJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &errParseJSON
	}
	return v, nil
}
