// Package owtfake is an in-memory Open WebRTC Toolkit management API that
// behaves like the real server in every point docs/owt.md lists (the
// conformance checklist of conformance_test.go, and the participant calls).
//
// It serves /v1 and /v1.1 (rooms, streams, streaming-ins, participants) with
// MAuth verification, plus an unauthenticated control API under /control/
// that injects faults (latency, 5xx, dropped connections, slow or failing
// streaming-ins, asynchronous source loss, an OWT restart) and exposes the
// full state and per-route request counts for tests and benchmarks.
package owtfake
