package srsapi

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Error is a failed call to an SRS HTTP API. Status is the HTTP status (0 if
// no answer came), Code the SRS envelope code (0 if none), Err the cause.
type Error struct {
	Server string // server name from the agent configuration
	Call   string // e.g. "GET /api/v1/streams/"
	Status int
	Code   int
	Err    error
}

// Error names the server and the call, says what went wrong and what the
// operator can do about it.
func (e *Error) Error() string {
	what := ""
	switch {
	case e.Status != 0 && e.Code != 0:
		what = fmt.Sprintf("HTTP %d, SRS code %d", e.Status, e.Code)
	case e.Code != 0:
		what = fmt.Sprintf("SRS code %d", e.Code)
	case e.Status != 0:
		what = fmt.Sprintf("HTTP %d", e.Status)
	}
	msg := fmt.Sprintf("srs %q: %s", e.Server, e.Call)
	if what != "" {
		msg += ": " + what
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + " (" + e.hint() + ")"
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) hint() string {
	var netErr net.Error
	switch {
	case errors.Is(e.Err, context.Canceled):
		return "the call was cancelled"
	case errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &netErr) && netErr.Timeout()):
		return "SRS did not answer in time; check that it is not overloaded and raise the timeout if needed"
	case e.Status == 401 || e.Status == 403:
		return "check the username and password of SRS http_api auth"
	case e.Status == 404:
		return "check the API base URL; it must point at SRS http_api (e.g. http://127.0.0.1:1985)"
	case e.Status >= 500:
		return "SRS or a proxy in front of it failed; check the SRS log"
	case e.Code == CodeNotFound:
		return "SRS does not know this object; it may have just gone away"
	case e.Code != 0:
		return "SRS refused the call; check the SRS log for this error code"
	case e.Status == 0:
		return "check that SRS is running and that http_api listens at the configured address"
	}
	return "check that the URL points at an SRS 6 HTTP API"
}
