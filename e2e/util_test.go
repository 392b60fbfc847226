package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

func t0() context.Context { return context.Background() }

// deleteRoom deletes a room through OWT's REST API, as an operator would.
func deleteRoom(t *testing.T, owtURL, id string) {
	t.Helper()
	c, err := owtapi.New(owtapi.Config{URL: owtURL, ServiceID: lab.ServiceID, ServiceKey: serviceKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.DeleteRoom(ctx, id); err != nil {
		t.Fatalf("delete room %s: %v", id, err)
	}
}

// getPost posts a raw JSON body and returns status and body without failing.
func (e *env) getPost(url, body string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
