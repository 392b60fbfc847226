package srsfake

import "fmt"

// SRS error codes the fake reports, as real SRS logs them.
const (
	CodeStreamBusy       = 1028 // the stream already has a publisher
	CodeHookConnect      = 1018 // hook server unreachable ("ST connect server failed")
	CodeHookIO           = 1011 // hook timed out or the connection broke
	CodeHookResponse     = 3008 // hook body not "0" (number, text, empty, not JSON)
	CodeHookObjectCode   = 3064 // hook object without an integer code 0
	CodeHookStatus       = 4005 // hook HTTP status not 200/201
	CodeRestarted        = 1    // the fake restarted while the hook was pending
	CodeStreamNotFound   = 2048
	CodeInvalidArguments = 400
)

// PublishError is a refused publish (or a failed unpublish request). Code is
// the SRS error code; Reason says why, in SRS's words where it has them.
type PublishError struct {
	Code   int
	Stream string // vhost/app/stream
	Reason string
}

// Error says which stream was refused, with which SRS code and why.
func (e *PublishError) Error() string {
	return fmt.Sprintf("srsfake: publish of %s rejected: SRS error %d: %s", e.Stream, e.Code, e.Reason)
}
