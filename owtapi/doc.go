// Package owtapi is a client for the Open WebRTC Toolkit management REST API
// (rooms, streams, streaming-ins, participants) with MAuth signing and typed
// errors that tell "not found" apart from the ambiguous 500/1301.
package owtapi
