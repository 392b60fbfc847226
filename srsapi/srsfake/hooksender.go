package srsfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/srsapi"
)

// UserAgent is the User-Agent SRS 6.0.157 sends with hooks.
const UserAgent = "SRS/6.0.157(Hang)"

// hookTimeout is SRS's built-in hook timeout.
const hookTimeout = 30 * time.Second

// maxHookAnswer bounds the hook answer the fake reads.
const maxHookAnswer = 1 << 20

// playHookBody has the field order of on_play: stream before tcUrl, and pageUrl.
type playHookBody struct {
	ServerID  string `json:"server_id"`
	ServiceID string `json:"service_id"`
	Action    string `json:"action"`
	ClientID  string `json:"client_id"`
	IP        string `json:"ip"`
	Vhost     string `json:"vhost"`
	App       string `json:"app"`
	Stream    string `json:"stream"`
	TcURL     string `json:"tcUrl"`
	Param     string `json:"param"`
	PageURL   string `json:"pageUrl"`
	StreamURL string `json:"stream_url"`
	StreamID  string `json:"stream_id"`
}

// hookBodyLocked renders the compact JSON SRS posts, in SRS's key order,
// without HTML escaping and without a trailing newline.
func (s *Server) hookBodyLocked(action string, st *stream, clientID, param string) []byte {
	var v any
	if action == srsapi.ActionOnPlay {
		v = playHookBody{s.serverID, s.serviceID, action, clientID, "127.0.0.1", st.vhost, st.app, st.name, st.tcURL, param, "", streamURL(st.vhost, st.app, st.name), st.id}
	} else {
		// srsapi.Hook has SRS's key order for these hooks (pageUrl is omitted when empty).
		v = srsapi.Hook{ServerID: s.serverID, ServiceID: s.serviceID, Action: action, ClientID: clientID, IP: "127.0.0.1",
			Vhost: st.vhost, App: st.app, TcURL: st.tcURL, Stream: st.name, Param: param,
			StreamURL: streamURL(st.vhost, st.app, st.name), StreamID: st.id}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // plain strings always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// postHook makes one attempt to post body, like SRS, on a new connection,
// and applies SRS's acceptance rules to the answer.
func (s *Server) postHook(ctx context.Context, url string, body []byte) error {
	client := s.opts.HTTPClient
	if client == nil {
		tr := &http.Transport{
			DialContext:        (&net.Dialer{Timeout: hookTimeout}).DialContext,
			DisableCompression: true, // SRS sends no Accept-Encoding
		}
		defer tr.CloseIdleConnections()
		client = &http.Client{Timeout: hookTimeout, Transport: tr}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &PublishError{Code: CodeHookConnect, Reason: "bad hook URL: " + err.Error()}
	}
	req.Header.Set("Connection", "Keep-Alive")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return &PublishError{Code: CodeHookConnect, Reason: "ST connect server failed: " + err.Error()}
		}
		return &PublishError{Code: CodeHookIO, Reason: "hook request failed: " + err.Error()}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxHookAnswer))
	if err != nil {
		return &PublishError{Code: CodeHookIO, Reason: "reading hook answer: " + err.Error()}
	}
	return CheckHookAnswer(resp.StatusCode, answer)
}

// CheckHookAnswer applies SRS 6's rules to a hook answer: HTTP 200 or 201,
// and a body that is exactly "0" or a JSON object whose code is the integer
// 0. It returns nil if SRS would accept, else a *PublishError with SRS's code.
func CheckHookAnswer(status int, body []byte) error {
	if status != http.StatusOK && status != http.StatusCreated {
		return &PublishError{Code: CodeHookStatus, Reason: "http: status " + strconv.Itoa(status)}
	}
	if len(body) == 0 {
		return &PublishError{Code: CodeHookResponse, Reason: "empty response"}
	}
	if string(body) == "0" {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return &PublishError{Code: CodeHookResponse, Reason: fmt.Sprintf("response %q is not json", clip(body))}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return &PublishError{Code: CodeHookResponse, Reason: fmt.Sprintf("response number code %q", clip(body))}
	}
	code, ok := obj["code"].(json.Number)
	if !ok {
		return &PublishError{Code: CodeHookObjectCode, Reason: "response object no code"}
	}
	n, err := strconv.ParseInt(code.String(), 10, 64)
	if err != nil {
		return &PublishError{Code: CodeHookObjectCode, Reason: "response object no code"}
	}
	if n != 0 {
		return &PublishError{Code: CodeHookObjectCode, Reason: fmt.Sprintf("response object code %d", n)}
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
