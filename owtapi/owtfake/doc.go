// Package owtfake is an in-memory Open WebRTC Toolkit management API that
// behaves like the real server as described in specs/owt-rest-api.md
// (section 13 conformance checklist and section 14 participants).
//
// It serves /v1 and /v1.1 (rooms, streams, streaming-ins, participants) with
// MAuth verification, plus an unauthenticated control API under /control/
// that injects faults (latency, 5xx, dropped connections, slow or failing
// streaming-ins, asynchronous source loss, an OWT restart) and exposes the
// full state and per-route request counts for tests and benchmarks.
package owtfake
