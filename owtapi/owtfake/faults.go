package owtfake

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// faultState holds the fault knobs; guarded by Server.faultMu.
type faultState struct {
	rng              *idSource
	latency          time.Duration
	jitter           time.Duration
	streamingInDelay time.Duration
	createRoomDelay  time.Duration      // reply delay of POST /v1/rooms, after the room exists
	errorRate        map[string]float64 // route ("" = all) -> probability
	dropRate         map[string]float64
	unreachable      *regexp.Regexp
	outputDelay      time.Duration  // time an output stays connecting
	outputRPC        time.Duration  // the management API's RPC timeout (real: 2 s)
	pushFail         *regexp.Regexp // streaming-out URLs whose push fails
	pushFailAfter    time.Duration  // how long after connecting a failing push vanishes
}

// Output fault defaults: OWT's amqpClient RPC timeout, and how long an
// unreachable push target takes to fail (DNS or TCP failure is fast).
const (
	DefaultOutputRPCTimeout = 2 * time.Second
	DefaultPushFailAfter    = time.Second
)

// outputFaults is a copy of the output knobs for one request.
type outputFaults struct {
	delay, rpcTimeout, failAfter time.Duration
	pushFail                     *regexp.Regexp
}

// pushFails reports whether a push to u fails, and after how long. A host
// under .invalid never resolves; other URLs fail when they match the
// push-fail pattern.
func (f outputFaults) pushFails(u string) (time.Duration, bool) {
	if strings.HasSuffix(outputHost(u), ".invalid") || (f.pushFail != nil && f.pushFail.MatchString(u)) {
		return f.failAfter, true
	}
	return 0, false
}

// outputFaults returns the output knobs.
func (s *Server) outputFaults() outputFaults {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return outputFaults{delay: s.faults.outputDelay, rpcTimeout: s.faults.outputRPC,
		failAfter: s.faults.pushFailAfter, pushFail: s.faults.pushFail}
}

// SetOutputDelay makes a new streaming-out or recording stay connecting
// (not listed) for d, as when the conference or the streaming node is slow.
// POST answers when it connects, or with 500/1301
// "RPC:addServerSideSubscription failed" at the RPC timeout if d is longer:
// the output then still appears at d, an orphan the client has no id for.
func (s *Server) SetOutputDelay(d time.Duration) {
	s.faultMu.Lock()
	s.faults.outputDelay = d
	s.faultMu.Unlock()
}

// SetOutputRPCTimeout sets the RPC timeout of output POSTs (default 2 s, as
// in OWT); tests shorten it. d <= 0 restores the default.
func (s *Server) SetOutputRPCTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultOutputRPCTimeout
	}
	s.faultMu.Lock()
	s.faults.outputRPC = d
	s.faultMu.Unlock()
}

// SetPushFailure makes the push of every streaming-out whose URL matches
// pattern fail after it connects: after that long (<= 0: the default 1 s)
// the output silently vanishes from the list, as OWT's does. "" clears the
// pattern (hosts under .invalid still fail). An invalid pattern is reported
// and changes nothing.
func (s *Server) SetPushFailure(pattern string, after time.Duration) error {
	var re *regexp.Regexp
	if pattern != "" {
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			return fmt.Errorf("owtfake: push failure pattern %q is not a valid regexp: %w", pattern, err)
		}
	}
	if after <= 0 {
		after = DefaultPushFailAfter
	}
	s.faultMu.Lock()
	s.faults.pushFail = re
	s.faults.pushFailAfter = after
	s.faultMu.Unlock()
	return nil
}

// newFaultState returns knobs that inject nothing.
func newFaultState(seed int64) faultState {
	return faultState{rng: newIDSource(seed), errorRate: map[string]float64{}, dropRate: map[string]float64{},
		outputRPC: DefaultOutputRPCTimeout, pushFailAfter: DefaultPushFailAfter}
}

// rateFor returns the route's own rate if set, else the all-routes rate.
func rateFor(rates map[string]float64, route string) float64 {
	if r, ok := rates[route]; ok {
		return r
	}
	return rates[""]
}

// setRate stores a rate; 0 removes the entry so the all-routes rate applies again.
func setRate(rates map[string]float64, route string, rate float64) {
	if rate <= 0 {
		delete(rates, route)
		return
	}
	rates[route] = min(rate, 1)
}

// SetLatency adds a fixed delay to every /v1 and /v1.1 call.
func (s *Server) SetLatency(d time.Duration) {
	s.faultMu.Lock()
	s.faults.latency = d
	s.faultMu.Unlock()
}

// SetLatencyJitter adds a uniform extra delay in [0, d) to every call.
func (s *Server) SetLatencyJitter(d time.Duration) {
	s.faultMu.Lock()
	s.faults.jitter = d
	s.faultMu.Unlock()
}

// SetErrorRate makes calls of route ("" = all routes) answer 500/1301 with
// probability rate, before any state change. A route's own rate overrides
// the all-routes rate; rate 0 removes the route's own rate.
func (s *Server) SetErrorRate(route string, rate float64) {
	s.faultMu.Lock()
	setRate(s.faults.errorRate, route, rate)
	s.faultMu.Unlock()
}

// SetDropRate makes calls of route ("" = all routes) lose their connection
// (no response) with probability rate, before any state change.
func (s *Server) SetDropRate(route string, rate float64) {
	s.faultMu.Lock()
	setRate(s.faults.dropRate, route, rate)
	s.faultMu.Unlock()
}

// SetStreamingInDelay makes POST streaming-ins take d. Meanwhile the stream
// exists but is hidden, as a connecting stream is; it is created even if
// the client gives up before the answer.
func (s *Server) SetStreamingInDelay(d time.Duration) {
	s.faultMu.Lock()
	s.faults.streamingInDelay = d
	s.faultMu.Unlock()
}

// SetCreateRoomReplyDelay makes POST /v1/rooms answer d after creating the
// room: the room exists and is listed at once, the reply comes late (or
// never, if the client gives up), as when OWT's answer is slow.
func (s *Server) SetCreateRoomReplyDelay(d time.Duration) {
	s.faultMu.Lock()
	s.faults.createRoomDelay = d
	s.faultMu.Unlock()
}

// createRoomReplyDelay returns the reply delay of POST /v1/rooms.
func (s *Server) createRoomReplyDelay() time.Duration {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults.createRoomDelay
}

// SetUnreachable makes streaming-ins whose URL matches pattern fail with
// 500/1301 (after the streaming-in delay) and leave nothing behind; ""
// clears it. An invalid pattern is reported and changes nothing.
func (s *Server) SetUnreachable(pattern string) error {
	var re *regexp.Regexp
	if pattern != "" {
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			return fmt.Errorf("owtfake: unreachable pattern %q is not a valid regexp: %w", pattern, err)
		}
	}
	s.faultMu.Lock()
	s.faults.unreachable = re
	s.faultMu.Unlock()
	return nil
}

// streamingInFaults returns the streaming-in delay and unreachable pattern.
func (s *Server) streamingInFaults() (time.Duration, *regexp.Regexp) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults.streamingInDelay, s.faults.unreachable
}

// injectFaults applies latency, drops and injected errors to one call; it
// reports whether the call should go on.
func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request, route string) bool {
	s.faultMu.Lock()
	delay := s.faults.latency + s.faults.rng.durationN(s.faults.jitter)
	drop := s.faults.rng.chance(rateFor(s.faults.dropRate, route))
	fail := s.faults.rng.chance(rateFor(s.faults.errorRate, route))
	s.faultMu.Unlock()
	if !sleepCtx(r.Context(), delay) {
		return false
	}
	if drop {
		dropConnection(w)
		return false
	}
	if fail {
		writeError(w, errOperationFailed)
		return false
	}
	return true
}

// dropConnection closes the client connection without any response.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// faultSettings is the JSON form of the knobs in the control API.
type faultSettings struct {
	LatencyMS          *float64           `json:"latency_ms,omitempty"`
	JitterMS           *float64           `json:"jitter_ms,omitempty"`
	ErrorRate          map[string]float64 `json:"error_rate,omitempty"`
	DropRate           map[string]float64 `json:"drop_rate,omitempty"`
	StreamingInDelayMS *float64           `json:"streaming_in_delay_ms,omitempty"`
	CreateRoomReplyMS  *float64           `json:"create_room_reply_delay_ms,omitempty"`
	Unreachable        *string            `json:"unreachable,omitempty"`
	OutputDelayMS      *float64           `json:"output_delay_ms,omitempty"`
	OutputRPCTimeoutMS *float64           `json:"output_rpc_timeout_ms,omitempty"`
	PushFail           *string            `json:"push_fail,omitempty"`
	PushFailAfterMS    *float64           `json:"push_fail_after_ms,omitempty"`
}

// currentFaults returns the knobs as set now.
func (s *Server) currentFaults() faultSettings {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	ms := func(d time.Duration) *float64 { v := float64(d) / float64(time.Millisecond); return &v }
	unreachable, pushFail := "", ""
	if s.faults.unreachable != nil {
		unreachable = s.faults.unreachable.String()
	}
	if s.faults.pushFail != nil {
		pushFail = s.faults.pushFail.String()
	}
	copyRates := func(m map[string]float64) map[string]float64 {
		out := make(map[string]float64, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return faultSettings{
		LatencyMS: ms(s.faults.latency), JitterMS: ms(s.faults.jitter),
		ErrorRate: copyRates(s.faults.errorRate), DropRate: copyRates(s.faults.dropRate),
		StreamingInDelayMS: ms(s.faults.streamingInDelay), CreateRoomReplyMS: ms(s.faults.createRoomDelay),
		Unreachable:   &unreachable,
		OutputDelayMS: ms(s.faults.outputDelay), OutputRPCTimeoutMS: ms(s.faults.outputRPC),
		PushFail: &pushFail, PushFailAfterMS: ms(s.faults.pushFailAfter),
	}
}

// applyFaults sets the knobs present in f.
func (s *Server) applyFaults(f faultSettings) error {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	if f.Unreachable != nil {
		if err := s.SetUnreachable(*f.Unreachable); err != nil {
			return err
		}
	}
	if f.PushFail != nil || f.PushFailAfterMS != nil {
		cur := s.outputFaults()
		pattern := ""
		if cur.pushFail != nil {
			pattern = cur.pushFail.String()
		}
		if f.PushFail != nil {
			pattern = *f.PushFail
		}
		after := cur.failAfter
		if f.PushFailAfterMS != nil {
			after = ms(*f.PushFailAfterMS)
		}
		if err := s.SetPushFailure(pattern, after); err != nil {
			return err
		}
	}
	if f.OutputDelayMS != nil {
		s.SetOutputDelay(ms(*f.OutputDelayMS))
	}
	if f.OutputRPCTimeoutMS != nil {
		s.SetOutputRPCTimeout(ms(*f.OutputRPCTimeoutMS))
	}
	if f.LatencyMS != nil {
		s.SetLatency(ms(*f.LatencyMS))
	}
	if f.JitterMS != nil {
		s.SetLatencyJitter(ms(*f.JitterMS))
	}
	if f.StreamingInDelayMS != nil {
		s.SetStreamingInDelay(ms(*f.StreamingInDelayMS))
	}
	if f.CreateRoomReplyMS != nil {
		s.SetCreateRoomReplyDelay(ms(*f.CreateRoomReplyMS))
	}
	for route, rate := range f.ErrorRate {
		s.SetErrorRate(route, rate)
	}
	for route, rate := range f.DropRate {
		s.SetDropRate(route, rate)
	}
	return nil
}
