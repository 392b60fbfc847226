package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

// The decode-only floor of a steady resync (DESIGN.md section 6): the same
// GETs the agent's resync made, replayed from a recording of the fakes
// child, with plain net/http (keep-alive, as many requests at once as the
// agent's concurrency), each OWT request signed with the service key like
// the agent's (an MAuth header: HMAC-SHA256 over timestamp and nonce), each
// answer decoded by encoding/json into the minimal structs below: what a
// reconciler has to read, and nothing else.

// floorSRSStreams is GET /api/v1/streams/, minimal.
type floorSRSStreams struct {
	Code    int    `json:"code"`
	Service string `json:"service"`
	Streams []struct {
		Name    string `json:"name"`
		Vhost   string `json:"vhost"`
		App     string `json:"app"`
		Publish struct {
			Active bool `json:"active"`
		} `json:"publish"`
	} `json:"streams"`
}

// floorSRSVhosts is GET /api/v1/vhosts/, minimal.
type floorSRSVhosts struct {
	Code    int    `json:"code"`
	Service string `json:"service"`
	Vhosts  []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"vhosts"`
}

// floorRoom is one room of GET /v1/rooms, minimal.
type floorRoom struct {
	ID    string `json:"_id"`
	Name  string `json:"name"`
	Views []struct {
		Label string `json:"label"`
	} `json:"views"`
}

// floorStream is one stream of GET /v1/rooms/{id}/streams, minimal.
type floorStream struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Info struct {
		Owner      string   `json:"owner"`
		Type       string   `json:"type"`
		InViews    []string `json:"inViews"`
		Attributes struct {
			Own *struct {
				Agent  string `json:"agent"`
				Stream string `json:"stream"`
				Param  string `json:"param"`
				URL    string `json:"url"`
				Op     string `json:"op"`
			} `json:"srs-owt-proxy"`
		} `json:"attributes"`
	} `json:"info"`
}

// floorCounts is what one replay decoded.
type floorCounts struct {
	Reads   int `json:"reads"`
	Streams int `json:"srs_streams"`
	Rooms   int `json:"owt_rooms"`
	Inputs  int `json:"owt_streams"`
	Other   int `json:"other_reads"` // reads of another shape, only checked to be JSON
}

// floorClient replays recorded reads against the fakes.
type floorClient struct {
	client         *http.Client
	owtURL, srsURL string
	workers        int
}

func newFloorClient(owtURL, srsURL string, workers int) *floorClient {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	return &floorClient{client: &http.Client{Transport: tr, Timeout: time.Minute}, owtURL: owtURL, srsURL: srsURL, workers: max(1, workers)}
}

func (c *floorClient) close() { c.client.CloseIdleConnections() }

// replay makes every read, at most c.workers at once, and decodes each.
func (c *floorClient) replay(ctx context.Context, reads []apiRead) (floorCounts, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan apiRead)
	var mu sync.Mutex
	var total floorCounts
	var first error
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				n, err := c.read(ctx, r)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				total.add(n)
				mu.Unlock()
			}
		}()
	}
feed:
	for _, r := range reads {
		select {
		case jobs <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return total, first
}

func (t *floorCounts) add(n floorCounts) {
	t.Reads += n.Reads
	t.Streams += n.Streams
	t.Rooms += n.Rooms
	t.Inputs += n.Inputs
	t.Other += n.Other
}

// read makes one GET and decodes its answer by its path.
func (c *floorClient) read(ctx context.Context, r apiRead) (floorCounts, error) {
	base := c.srsURL
	if r.Server == "owt" {
		base = c.owtURL
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+r.URI, nil)
	if err != nil {
		return floorCounts{}, fmt.Errorf("floor: %s: %w", r.URI, err)
	}
	req.Header.Set("Accept", "application/json")
	if r.Server == "owt" {
		var nonce [8]byte
		_, _ = rand.Read(nonce[:])
		req.Header.Set("Authorization", owtapi.AuthHeader(lab.ServiceID, lab.ServiceKey, time.Now(), hex.EncodeToString(nonce[:])))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return floorCounts{}, fmt.Errorf("floor: GET %s: %w", r.URI, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return floorCounts{}, fmt.Errorf("floor: GET %s: %w", r.URI, err)
	}
	if resp.StatusCode != http.StatusOK {
		return floorCounts{}, fmt.Errorf("floor: GET %s: HTTP %d", r.URI, resp.StatusCode)
	}
	n := floorCounts{Reads: 1}
	path, _, _ := strings.Cut(r.URI, "?")
	switch {
	case r.Server == "srs" && path == "/api/v1/streams/":
		var v floorSRSStreams
		err = json.Unmarshal(body, &v)
		n.Streams = len(v.Streams)
	case r.Server == "srs" && path == "/api/v1/vhosts/":
		var v floorSRSVhosts
		err = json.Unmarshal(body, &v)
	case r.Server == "owt" && path == "/v1/rooms":
		var v []floorRoom
		err = json.Unmarshal(body, &v)
		n.Rooms = len(v)
	case r.Server == "owt" && strings.HasPrefix(path, "/v1/rooms/") && strings.HasSuffix(path, "/streams"):
		var v []floorStream
		err = json.Unmarshal(body, &v)
		n.Inputs = len(v)
	default:
		if !json.Valid(body) {
			err = errors.New("not JSON")
		}
		n.Other = 1
	}
	if err != nil {
		return floorCounts{}, fmt.Errorf("floor: decode GET %s: %w", r.URI, err)
	}
	return n, nil
}
