package owtapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// OWT error codes carried in {"error":{"code":...}} (spec section 3).
const (
	CodeNotFound            = 1001 // unknown path
	CodeServiceNotFound     = 1002
	CodeRoomNotFound        = 1003
	CodeStreamNotFound      = 1004
	CodeParticipantNotFound = 1005
	CodeUnauthorized        = 1101
	CodeForbidden           = 1102
	CodeBadRequest          = 1201
	CodeOperationFailed     = 1301 // any conference/RPC failure: ambiguous
	CodeInternal            = 2001
)

// ErrInvalidRequest marks a request the client refused to send because it
// could never succeed (for example a streaming-in without a URL).
var ErrInvalidRequest = errors.New("invalid request")

// maxMessageLen bounds the server text kept in Error.Message.
const maxMessageLen = 256

// Error is a failed OWT call. Status is the HTTP status (0 when no response
// arrived), Code and Message come from OWT's error body when it had one, Err
// is the underlying transport or decoding error.
type Error struct {
	Op      string // what was attempted, e.g. "start streaming-in"
	Room    string
	Stream  string
	Status  int
	Code    int
	Message string
	Err     error

	// Server is the base URL of the OWT management API (no credentials).
	Server string

	hint   string // what the operator can do; computed by the client
	secret string // scrubbed from Error() output
}

// Error implements error, for example
// "owt: start streaming-in in room X on http://h:3000: 500/1301 Operation failed: <hint>"
// or "owt: get stream S in room X on ...: 404/1004 Stream not found: <hint>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("owt: ")
	b.WriteString(e.Op)
	if e.Stream != "" {
		switch {
		case strings.HasSuffix(e.Op, " stream"), strings.HasSuffix(e.Op, " streaming-in"),
			strings.HasSuffix(e.Op, " streaming-out"), strings.HasSuffix(e.Op, " recording"):
			b.WriteString(" " + e.Stream)
		default:
			b.WriteString(" for stream " + e.Stream)
		}
	}
	if e.Room != "" {
		b.WriteString(" in room " + e.Room)
	}
	if e.Server != "" {
		b.WriteString(" on " + e.Server)
	}
	b.WriteString(": ")
	switch {
	case e.Status != 0 && e.Code != 0:
		fmt.Fprintf(&b, "%d/%d %s", e.Status, e.Code, e.Message)
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Message != "" {
			b.WriteString(" " + e.Message)
		}
	default:
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		if e.Status != 0 || e.Message != "" {
			b.WriteString(": ")
		}
		b.WriteString(errText(e.Err))
	}
	hint := e.hint
	if hint == "" {
		hint = hintFor(e, 0)
	}
	if hint != "" {
		b.WriteString(": " + hint)
	}
	s := b.String()
	if e.secret != "" {
		s = strings.ReplaceAll(s, e.secret, "[redacted]")
	}
	return s
}

// Unwrap returns the underlying transport or decoding error.
func (e *Error) Unwrap() error { return e.Err }

// errText prints a transport error without the *url.Error prefix (method
// and full URL), which the Error already says.
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func hasCode(err error, status int, codes ...int) bool {
	e, ok := asError(err)
	if !ok || e.Status != status {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// IsRoomNotFound reports a 404/1003: the room does not exist (or belongs to
// another service).
func IsRoomNotFound(err error) bool { return hasCode(err, 404, CodeRoomNotFound) }

// IsStreamNotFound reports a 404/1004 (only GET of one stream answers it).
func IsStreamNotFound(err error) bool { return hasCode(err, 404, CodeStreamNotFound) }

// IsNotFound reports that the addressed room, stream or participant is
// absent (404 with 1003, 1004 or 1005). 404/1001 means an unknown path, a
// configuration problem, and is not reported.
func IsNotFound(err error) bool {
	return hasCode(err, 404, CodeRoomNotFound, CodeStreamNotFound, CodeParticipantNotFound)
}

// IsAmbiguous reports a 500/1301: OWT failed somewhere on its conference side
// (validation, missing stream, unreachable source, timeout, ...).
func IsAmbiguous(err error) bool { return hasCode(err, 500, CodeOperationFailed) }

// IsUnauthorized reports a 401/1101: unknown service id or wrong key.
func IsUnauthorized(err error) bool { return hasCode(err, 401, CodeUnauthorized) }

// IsBadRequest reports a 400/1201: OWT rejected the request body.
func IsBadRequest(err error) bool { return hasCode(err, 400, CodeBadRequest) }

// IsTimeout reports that no answer arrived in time (context deadline or a
// network timeout). The request may still have taken effect on the server.
func IsTimeout(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// IsTransport reports that no usable HTTP answer arrived: connection refused
// or reset, EOF, TLS failure, or a timeout. A cancelled context and a request
// refused locally are not transport errors.
func IsTransport(err error) bool {
	if IsTimeout(err) {
		return true
	}
	e, ok := asError(err)
	if !ok {
		return isNetErr(err)
	}
	if e.Status != 0 || e.Err == nil {
		return false
	}
	return !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, ErrInvalidRequest)
}

func isNetErr(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// hintFor says what the operator can do about e. timeout is the per-call
// timeout in force (0 if unknown).
func hintFor(e *Error, timeout time.Duration) string {
	switch {
	case e.Status == 0 && e.Err != nil:
		return transportHint(e, timeout)
	case e.Status >= 300 && e.Status < 400:
		return "OWT's management API does not redirect: check the URL scheme http/https, host and port"
	case e.Status == 401:
		return "check that the service id and key match a service in OWT's database, as created by OWT's init.sh"
	case e.Status == 403:
		return "the service lacks permission for this call"
	case e.Status == 404 && e.Code == CodeRoomNotFound:
		return "the room was deleted or belongs to another OWT service"
	case e.Status == 404 && e.Code == CodeStreamNotFound:
		return "the stream is gone; its source was lost or it was deleted"
	case e.Status == 404 && e.Code == CodeParticipantNotFound:
		return "the participant left the room"
	case e.Status == 404:
		return "unknown path: check that the URL points at OWT's management API, default port 3000"
	case e.Status == 400 && isOutputOp(e.Op):
		return "OWT rejected the output: check its view, URL and protocol, container and audio/video settings in the routing policy"
	case e.Status == 400:
		return "OWT rejected the request body: check the room options in the routing policy"
	case e.Status == 500 && e.Code == CodeOperationFailed:
		return ambiguousHint(e.Op)
	case e.Status == 500 && e.Code == CodeInternal:
		return "internal error in OWT's management API, often MongoDB or a service id that is not 24 hex characters: check the management_api log"
	case e.Code == 0 && e.Status >= 500:
		return "the server did not answer like OWT's management API: check the URL and any proxy in front of OWT"
	// Equivalent mutant: 300 is taken by the 3xx case above, so < 300 and <= 300 agree.
	case e.Code == 0 && e.Status >= 200 && e.Status < 300:
		return "the answer is not what OWT's management API sends: check the URL and OWT version"
	}
	return ""
}

// isOutputOp reports whether op addresses a streaming-out or a recording.
func isOutputOp(op string) bool {
	return strings.Contains(op, "streaming-out") || strings.Contains(op, "recording")
}

func ambiguousHint(op string) string {
	switch {
	case strings.HasPrefix(op, "start streaming-in"):
		return "OWT could not pull the source: check that the URL is reachable from OWT and its codecs are allowed by the room's mediaIn; the reason is only in OWT's conference and streaming agent logs"
	case strings.HasPrefix(op, "add to view"), strings.HasPrefix(op, "remove from view"):
		return "the stream may be gone or the view label may not exist in the room; the reason is only in OWT's conference agent log"
	case strings.HasPrefix(op, "start streaming-out"), strings.HasPrefix(op, "start recording"):
		return "the output may still have been created (OWT's conference answers within 2 s or the call fails): list the room's outputs and adopt it (a streaming-out by its URL) before starting another; otherwise the view does not exist or does not offer the requested formats or parameters, see OWT's conference agent log"
	case strings.HasPrefix(op, "stop streaming-out"), strings.HasPrefix(op, "stop recording"):
		return "the output may already be gone (a failed push or a lost source removes it silently, and OWT answers 500/1301 for a missing output): list the room's outputs"
	case strings.HasPrefix(op, "update streaming-out"), strings.HasPrefix(op, "update recording"):
		return "the output may be gone, or its new source does not offer its current format and parameters; the reason is only in OWT's conference agent log"
	case strings.HasPrefix(op, "list streaming-outs"), strings.HasPrefix(op, "list recordings"):
		return "OWT's conference did not answer the listing; the reason is only in OWT's conference agent log"
	case strings.HasPrefix(op, "stop streaming-in"):
		return "the stream may already be gone, OWT answers 500/1301 for a missing stream: confirm with a GET of the stream"
	}
	return "OWT's conference side failed; the reason is only in OWT's server logs"
}

func transportHint(e *Error, timeout time.Duration) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	switch {
	case errors.Is(e.Err, ErrInvalidRequest):
		return "fix the request; it was not sent"
	case errors.Is(e.Err, context.Canceled):
		return "the call was cancelled"
	case IsTimeout(e.Err):
		s := "OWT did not answer in time"
		if timeout > 0 {
			s += " within " + timeout.String()
		}
		return s + "; the request may still have taken effect on OWT"
	case errors.As(e.Err, &ua), errors.As(e.Err, &ci):
		return "TLS verification failed: set the OWT CA file to the CA that signed OWT's certificate"
	case errors.As(e.Err, &hn):
		return "TLS verification failed: the certificate does not name this host; use the host name from OWT's certificate"
	case errors.As(e.Err, &rh), strings.Contains(e.Err.Error(), "server gave HTTP response to HTTPS client"):
		return "the server does not speak TLS: use http:// instead of https://"
	}
	return "check that OWT's management API is running and reachable at " + e.Server
}
