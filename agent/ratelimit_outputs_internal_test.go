package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

// countOutputOWT is a countOWT that also has the output calls.
type countOutputOWT struct{ countOWT }

func (c *countOutputOWT) ListStreamingOuts(context.Context, string) ([]owtapi.StreamingOut, error) {
	c.calls = append(c.calls, "ListStreamingOuts")
	return nil, errNext
}
func (c *countOutputOWT) StartStreamingOut(context.Context, string, owtapi.StreamingOutRequest) (owtapi.StreamingOut, error) {
	c.calls = append(c.calls, "StartStreamingOut")
	return owtapi.StreamingOut{}, errNext
}
func (c *countOutputOWT) StopStreamingOut(context.Context, string, string) error {
	c.calls = append(c.calls, "StopStreamingOut")
	return errNext
}
func (c *countOutputOWT) ListRecordings(context.Context, string) ([]owtapi.Recording, error) {
	c.calls = append(c.calls, "ListRecordings")
	return nil, errNext
}
func (c *countOutputOWT) StartRecording(context.Context, string, owtapi.RecordingRequest) (owtapi.Recording, error) {
	c.calls = append(c.calls, "StartRecording")
	return owtapi.Recording{}, errNext
}
func (c *countOutputOWT) StopRecording(context.Context, string, string) error {
	c.calls = append(c.calls, "StopRecording")
	return errNext
}

// The output calls spend a token like every other call, and reach OWT only
// when the wrapped client has them.
func TestRateLimitedOutputCalls(t *testing.T) {
	calls := map[string]func(r *rateLimited, ctx context.Context) (any, error){
		"ListStreamingOuts": func(r *rateLimited, ctx context.Context) (any, error) { return r.ListStreamingOuts(ctx, "r") },
		"StartStreamingOut": func(r *rateLimited, ctx context.Context) (any, error) {
			return r.StartStreamingOut(ctx, "r", owtapi.StreamingOutRequest{})
		},
		"StopStreamingOut": func(r *rateLimited, ctx context.Context) (any, error) { return nil, r.StopStreamingOut(ctx, "r", "o") },
		"ListRecordings":   func(r *rateLimited, ctx context.Context) (any, error) { return r.ListRecordings(ctx, "r") },
		"StartRecording": func(r *rateLimited, ctx context.Context) (any, error) {
			return r.StartRecording(ctx, "r", owtapi.RecordingRequest{})
		},
		"StopRecording": func(r *rateLimited, ctx context.Context) (any, error) { return nil, r.StopRecording(ctx, "r", "o") },
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for name, call := range calls {
		next := &countOutputOWT{}
		r := RateLimit(next, 1).(*rateLimited)
		if _, err := call(r, context.Background()); !errors.Is(err, errNext) {
			t.Errorf("%s with a token: err %v, want the answer of OWT", name, err)
		}
		if len(next.calls) != 1 || next.calls[0] != name {
			t.Errorf("%s with a token: calls %v", name, next.calls)
		}
		if _, err := call(r, done); !errors.Is(err, context.Canceled) {
			t.Errorf("%s without a token: err %v, want the context's", name, err)
		}
		if len(next.calls) != 1 {
			t.Errorf("%s without a token reached OWT: %v", name, next.calls)
		}
		plain := RateLimit(&countOWT{}, 1).(*rateLimited)
		if _, err := call(plain, context.Background()); !errors.Is(err, errNoOutputs) {
			t.Errorf("%s on a client without outputs: err %v", name, err)
		}
		if plain.b.Tokens() < float64(plain.b.Burst())-0.01 {
			t.Errorf("%s on a client without outputs spent a token", name)
		}
	}
}
