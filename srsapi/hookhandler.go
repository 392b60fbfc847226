package srsapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Hook handler defaults.
const (
	// DefaultHookMaxBody is far above the largest body SRS 6 can send: its
	// names are AMF0 strings of at most 32767 bytes each (a 32767-byte
	// stream+param gave a 33031-byte hook), and JSON escaping can double them.
	DefaultHookMaxBody       = 1 << 20
	DefaultHookMaxConcurrent = 1024
	// DefaultHookBodyTimeout bounds the read of a hook body. SRS sends
	// headers and body in one write, so a body that takes longer is not SRS.
	DefaultHookBodyTimeout = 2 * time.Second
	// DefaultHookBodyBudget bounds the memory held by hook bodies being read
	// at once, over all connections.
	DefaultHookBodyBudget = 32 << 20
	// slotWait is how long a hook waits for a free slot before 503.
	slotWait = time.Second
)

// Answers passed to HookHandlerConfig.Observe.
const (
	AnswerOK               = "ok"
	AnswerRejected         = "rejected"
	AnswerFailedOpen       = "failed_open" // receiver error, accepted anyway
	AnswerBadRequest       = "bad_request"
	AnswerUnauthorized     = "unauthorized"
	AnswerForbidden        = "forbidden"
	AnswerNotFound         = "not_found"
	AnswerMethodNotAllowed = "method_not_allowed"
	AnswerUnsupportedType  = "unsupported_media_type"
	AnswerTooLarge         = "too_large"
	AnswerOverloaded       = "overloaded"
	AnswerTimeout          = "timeout" // the body did not arrive within the body timeout
)

// actionUnknown labels requests that failed before their action was known.
const actionUnknown = "unknown"

// Rejection is a policy refusal of a hook: SRS gets {"code":Code,"msg":Reason}
// and refuses the publish or play.
type Rejection struct {
	Code   int
	Reason string
}

// Error describes the refusal.
func (r *Rejection) Error() string { return fmt.Sprintf("rejected (code %d): %s", r.Code, r.Reason) }

// HookReceiver gets every valid hook.
type HookReceiver interface {
	// OnHook is called for a valid hook on the request goroutine. It must not block on OWT.
	// Return nil to accept, a *Rejection to refuse (only policy rejects).
	OnHook(ctx context.Context, h Hook) error
}

// HookHandlerConfig configures NewHookHandler.
type HookHandlerConfig struct {
	Receiver      HookReceiver                // nil accepts every valid hook
	Token         string                      // optional shared secret: the hook URL must carry ?token=<Token>
	Allow         []netip.Prefix              // optional source allow-list, matched against RemoteAddr
	MaxBody       int64                       // default 1 MiB (DefaultHookMaxBody)
	MaxConcurrent int                         // default 1024; over it a hook waits up to 1 s for a slot, then 503
	Logger        *slog.Logger                // default slog.Default()
	Observe       func(action, answer string) // optional metrics callback
	// BodyTimeout bounds the read of the body (default 2 s). The body is
	// read before a slot is taken, so a slow client never holds one.
	BodyTimeout time.Duration
	// BodyBudget bounds the bytes of all bodies being read at once
	// (default 32 MiB); a body that does not fit gets 503.
	BodyBudget int64
}

// NewHookHandler returns the HTTP handler for SRS hooks: POST /api/v1/streams
// (on_publish, on_unpublish) and POST /api/v1/clients (on_play, on_stop).
func NewHookHandler(cfg HookHandlerConfig) http.Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultHookMaxBody
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultHookMaxConcurrent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultHookBodyTimeout
	}
	if cfg.BodyBudget <= 0 {
		cfg.BodyBudget = DefaultHookBodyBudget
	}
	h := &hookHandler{cfg: cfg, slots: make(chan struct{}, cfg.MaxConcurrent)}
	if cfg.Token != "" {
		sum := sha256.Sum256([]byte(cfg.Token))
		h.tokenSum = sum[:]
	}
	return h
}

type hookHandler struct {
	cfg      HookHandlerConfig
	tokenSum []byte
	slots    chan struct{}
	// buffered is the number of body bytes held by reads in progress.
	buffered atomic.Int64
}

// routeActions maps each hook path to the actions SRS posts there.
func routeActions(path string) (a1, a2 string, ok bool) {
	switch path {
	case "/api/v1/streams", "/api/v1/streams/":
		return ActionOnPublish, ActionOnUnpublish, true
	case "/api/v1/clients", "/api/v1/clients/":
		return ActionOnPlay, ActionOnStop, true
	}
	return "", "", false
}

func (h *hookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.cfg.Logger.With("path", r.URL.Path, "remote", r.RemoteAddr)
	action := actionUnknown
	fail := func(status int, answer, reason string) {
		log.Warn("hook refused", "action", action, "status", status, "reason", reason)
		h.observe(action, answer)
		writeError(w, status, reason)
	}
	a1, a2, ok := routeActions(r.URL.Path)
	if !ok {
		fail(http.StatusNotFound, AnswerNotFound, "no hook endpoint at this path; use /api/v1/streams or /api/v1/clients")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(http.StatusMethodNotAllowed, AnswerMethodNotAllowed, "hooks must be POSTed")
		return
	}
	if !h.allowed(r.RemoteAddr) {
		fail(http.StatusForbidden, AnswerForbidden, "source address not in the hook allow-list")
		return
	}
	if !h.tokenOK(r) {
		fail(http.StatusUnauthorized, AnswerUnauthorized, "missing or wrong token in the hook URL; check the on_publish URL in the SRS config")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		fail(http.StatusUnsupportedMediaType, AnswerUnsupportedType, "Content-Type must be application/json")
		return
	}
	if r.ContentLength > h.cfg.MaxBody {
		fail(http.StatusRequestEntityTooLarge, AnswerTooLarge, fmt.Sprintf("hook body over %d bytes", h.cfg.MaxBody))
		return
	}
	// The body is read, under a short deadline, before a slot is taken: a
	// client that trickles its body holds a connection, never a slot.
	body, status, answer, reason := h.readBody(w, r)
	if status != 0 {
		fail(status, answer, reason)
		return
	}
	hook, err := ParseHook(body)
	if err != nil {
		fail(http.StatusBadRequest, AnswerBadRequest, err.Error())
		return
	}
	body = nil
	action = hook.Action
	if hook.Server = r.URL.Query().Get("server"); hook.Server != "" {
		if err := checkName("server (in the hook URL)", hook.Server); err != nil {
			fail(http.StatusBadRequest, AnswerBadRequest, err.Error())
			return
		}
	}
	if hook.Action != a1 && hook.Action != a2 {
		fail(http.StatusBadRequest, AnswerBadRequest, fmt.Sprintf("action %s does not belong on %s (expected %s or %s)", hook.Action, r.URL.Path, a1, a2))
		return
	}
	if !h.acquire(r.Context()) {
		fail(http.StatusServiceUnavailable, AnswerOverloaded, "too many hooks in flight; try again")
		return
	}
	defer func() { <-h.slots }()
	h.dispatch(w, r, hook, log)
}

// readBody reads the request body within BodyTimeout and the byte budget;
// a non-zero status says why it could not.
func (h *hookHandler) readBody(w http.ResponseWriter, r *http.Request) (body []byte, status int, answer, reason string) {
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(h.cfg.BodyTimeout)
	// Not every ResponseWriter supports deadlines (httptest's recorder); the
	// server's own ReadTimeout still applies then.
	deadlineSet := rc.SetReadDeadline(deadline) == nil
	var held int64
	defer func() {
		h.buffered.Add(-held)
		if status != 0 {
			// Close the connection after the answer: the server would
			// otherwise try to read the rest of the body first.
			w.Header().Set("Connection", "close")
		} else if deadlineSet {
			_ = rc.SetReadDeadline(time.Time{})
		}
	}()
	rd := http.MaxBytesReader(w, r.Body, h.cfg.MaxBody)
	var chunk [4096]byte // read size only: +-1 is an equivalent mutant
	for {
		n, err := rd.Read(chunk[:])
		if n > 0 {
			if h.buffered.Add(int64(n)) > h.cfg.BodyBudget {
				h.buffered.Add(int64(-n))
				return nil, http.StatusServiceUnavailable, AnswerOverloaded, "hook server is reading too many bodies at once; try again"
			}
			held += int64(n)
			body = append(body, chunk[:n]...)
		}
		if err == io.EOF {
			return body, 0, "", ""
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			var ne net.Error
			switch {
			case errors.As(err, &tooBig):
				return nil, http.StatusRequestEntityTooLarge, AnswerTooLarge, fmt.Sprintf("hook body over %d bytes", h.cfg.MaxBody)
			case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
				return nil, http.StatusRequestTimeout, AnswerTimeout, fmt.Sprintf("hook body not received within %s", h.cfg.BodyTimeout)
			}
			return nil, http.StatusBadRequest, AnswerBadRequest, "reading hook body: " + err.Error()
		}
	}
}

// dispatch hands a valid hook to the receiver and answers SRS.
func (h *hookHandler) dispatch(w http.ResponseWriter, r *http.Request, hook Hook, log *slog.Logger) {
	stream := hook.Key().String()
	if i := strings.IndexByte(stream, '?'); i >= 0 {
		// A raw UTF-8 name keeps its query (SRS does not split it off).
		stream = stream[:i] + "?..."
	}
	log = log.With("action", hook.Action, "stream", clip(stream), "client_id", clip(hook.ClientID))
	var err error
	if h.cfg.Receiver != nil {
		err = h.cfg.Receiver.OnHook(r.Context(), hook)
	}
	var rej *Rejection
	switch {
	case err == nil:
		log.Debug("hook accepted")
		h.observe(hook.Action, AnswerOK)
		WriteOK(w)
	case errors.As(err, &rej):
		log.Info("hook rejected", "code", rej.Code, "reason", rej.Reason)
		h.observe(hook.Action, AnswerRejected)
		WriteReject(w, rej.Code, rej.Reason)
	default:
		log.Warn("hook receiver failed; accepting anyway (fail open)", "err", err)
		h.observe(hook.Action, AnswerFailedOpen)
		WriteOK(w)
	}
}

// acquire takes a concurrency slot, waiting up to slotWait.
func (h *hookHandler) acquire(ctx context.Context) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(slotWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (h *hookHandler) allowed(remote string) bool {
	if len(h.cfg.Allow) == 0 {
		return true
	}
	ap, err := netip.ParseAddrPort(remote)
	var addr netip.Addr
	if err == nil {
		addr = ap.Addr()
	} else if addr, err = netip.ParseAddr(remote); err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range h.cfg.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// tokenOK compares the token query parameter in constant time.
func (h *hookHandler) tokenOK(r *http.Request) bool {
	if h.tokenSum == nil {
		return true
	}
	got := r.URL.Query().Get("token")
	if got == "" {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], h.tokenSum) == 1
}

func (h *hookHandler) observe(action, answer string) {
	if h.cfg.Observe != nil {
		h.cfg.Observe(action, answer)
	}
}
