package srsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/bodylimit"
)

// Defaults of Config.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultPageSize = 1000
	// MaxListCount bounds the count of one /api/v1/streams/ request. A list
	// that still fills a page of this size is reported as an error.
	MaxListCount = 1 << 17
	// minPageSize is SRS's floor: it answers max(10, count) entries.
	minPageSize = 10
	// maxResponseBytes bounds one API answer (about 1 KiB per stream).
	maxResponseBytes = 256 << 20
)

// API paths. The list endpoints need the trailing slash: without it SRS
// answers 302.
const (
	PathStreams   = "/api/v1/streams/"
	PathVhosts    = "/api/v1/vhosts/"
	PathClients   = "/api/v1/clients/"
	PathVersions  = "/api/v1/versions"
	PathSummaries = "/api/v1/summaries"
)

// Config configures a Client for one SRS server.
type Config struct {
	Name      string            // server name from agent.yaml, used in errors
	BaseURL   string            // e.g. http://127.0.0.1:1985
	Username  string            // optional HTTP Basic user (SRS http_api auth)
	Password  string            // optional HTTP Basic password; never logged
	Timeout   time.Duration     // per call, default 5s
	PageSize  int               // count per streams request, default 1000
	Transport http.RoundTripper // optional; tests pass httpmock.NewMockTransport()
}

// Client reads one SRS server's HTTP API. It is safe for concurrent use.
type Client struct {
	cfg      Config
	http     *resty.Client
	maxCount int // bound of one streams request; MaxListCount outside tests
	// lastCount is the size of the last complete stream list.
	lastCount atomic.Int64
}

// NewClient returns a client for the SRS server described by cfg.
func NewClient(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.PageSize < minPageSize {
		cfg.PageSize = minPageSize
	}
	rc := resty.New().
		SetBaseURL(cfg.BaseURL).
		SetDisableWarn(true).
		SetLogger(discardLogger{}).
		SetHeader("Accept", "application/json")
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	// The size limit lives in the transport: resty's own reads 512 bytes at
	// a time, which shows on a 10,000-stream list.
	rc.SetTransport(bodylimit.Wrap(tr, maxResponseBytes))
	if cfg.Username != "" || cfg.Password != "" {
		rc.SetBasicAuth(cfg.Username, cfg.Password)
	}
	return &Client{cfg: cfg, http: rc, maxCount: MaxListCount}
}

// Name returns the configured server name.
func (c *Client) Name() string { return c.cfg.Name }

// Streams returns every stream of the server in one consistent answer. It
// asks for PageSize entries from start 0; while the page comes back full it
// doubles the count and asks again from 0, so the result never mixes two
// moments (SRS orders by random id, so start/count paging is unstable).
func (c *Client) Streams(ctx context.Context) ([]Stream, Identity, error) {
	// Start above the last count seen, so a steady server needs one request.
	first := max(c.cfg.PageSize, int(c.lastCount.Load())*5/4+10)
	for count := first; ; count *= 2 {
		if count > c.maxCount {
			count = c.maxCount
		}
		var resp StreamsResponse
		q := map[string]string{"start": "0", "count": strconv.Itoa(count)}
		if err := c.get(ctx, PathStreams, q, &resp); err != nil {
			return nil, Identity{}, err
		}
		if len(resp.Streams) < count {
			if resp.Streams == nil {
				resp.Streams = []Stream{}
			}
			c.lastCount.Store(int64(len(resp.Streams)))
			return resp.Streams, resp.Identity(), nil
		}
		if count >= c.maxCount {
			return nil, Identity{}, &Error{Server: c.cfg.Name, Call: "GET " + PathStreams,
				Err: fmt.Errorf("%d or more streams listed; refusing a possibly incomplete list", count)}
		}
	}
}

// Vhosts returns the vhosts SRS lists (only those that had a client since
// SRS started).
func (c *Client) Vhosts(ctx context.Context) ([]Vhost, Identity, error) {
	var resp VhostsResponse
	if err := c.get(ctx, PathVhosts, nil, &resp); err != nil {
		return nil, Identity{}, err
	}
	if resp.Vhosts == nil {
		resp.Vhosts = []Vhost{}
	}
	return resp.Vhosts, resp.Identity(), nil
}

// Versions returns the SRS version.
func (c *Client) Versions(ctx context.Context) (Version, error) {
	var resp VersionsResponse
	if err := c.get(ctx, PathVersions, nil, &resp); err != nil {
		return Version{}, err
	}
	return resp.Data, nil
}

// Summaries returns the server id, service id and pid from GET /api/v1/summaries.
func (c *Client) Summaries(ctx context.Context) (Identity, error) {
	var resp SummariesResponse
	if err := c.get(ctx, PathSummaries, nil, &resp); err != nil {
		return Identity{}, err
	}
	return resp.Identity(), nil
}

// Snapshot reads every stream and the vhosts and resolves each stream's vhost
// id to its name. The vhosts are read once more if a stream names an unknown
// vhost id; it fails if the id is still unknown or if the service id changed
// between the calls (SRS restarted while being read).
func (c *Client) Snapshot(ctx context.Context) (Snapshot, error) {
	streams, sid, err := c.Streams(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	names := map[string]string{}
	for attempt := 0; ; attempt++ {
		vhosts, vid, err := c.Vhosts(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		if vid.ServiceID != sid.ServiceID {
			return Snapshot{}, &Error{Server: c.cfg.Name, Call: "GET " + PathVhosts,
				Err: fmt.Errorf("service id changed from %q to %q between the streams and vhosts calls: SRS restarted, read again", sid.ServiceID, vid.ServiceID)}
		}
		for _, v := range vhosts {
			names[v.ID] = v.Name
		}
		missing := ""
		for _, s := range streams {
			if _, ok := names[s.Vhost]; !ok {
				missing = s.Vhost
				break
			}
		}
		if missing == "" {
			break
		}
		if attempt >= 1 {
			return Snapshot{}, &Error{Server: c.cfg.Name, Call: "GET " + PathVhosts,
				Err: fmt.Errorf("vhost id %q of a listed stream is not in the vhost list; read again", missing)}
		}
	}
	out := Snapshot{Identity: sid, Streams: make([]LiveStream, len(streams))}
	for i, s := range streams {
		out.Streams[i] = LiveStream{Stream: s, VhostName: names[s.Vhost]}
	}
	return out, nil
}

// get performs one GET with the per-call timeout and decodes the envelope
// into out, failing on any non-zero code.
func (c *Client) get(ctx context.Context, path string, query map[string]string, out any) error {
	call := "GET " + path
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req := c.http.R().SetContext(ctx)
	if query != nil {
		req.SetQueryParams(query)
	}
	resp, err := req.Get(path)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return &Error{Server: c.cfg.Name, Call: call, Err: err}
	}
	status := resp.StatusCode()
	body := resp.Body()
	if status != http.StatusOK {
		return &Error{Server: c.cfg.Name, Call: call, Status: status, Err: errors.New(snippet(body))}
	}
	// Every answer type embeds the envelope: one decode gives both (a list
	// of 10,000 streams is ~10 MB of JSON; decoding it twice shows).
	env, ok := out.(interface{ envelope() *Envelope })
	if !ok {
		env = &Envelope{}
		if err := json.Unmarshal(body, env); err != nil {
			return &Error{Server: c.cfg.Name, Call: call, Status: status,
				Err: fmt.Errorf("answer is not SRS JSON (%v): %s", err, snippet(body))}
		}
	}
	if err := json.Unmarshal(body, out); err != nil {
		var e Envelope
		if json.Unmarshal(body, &e) == nil && e.Code != CodeOK {
			return &Error{Server: c.cfg.Name, Call: call, Status: status, Code: e.Code, Err: errors.New("SRS answered an error code")}
		}
		return &Error{Server: c.cfg.Name, Call: call, Status: status, Err: fmt.Errorf("answer is not SRS JSON (%v): %s", err, snippet(body))}
	}
	if code := env.envelope().Code; code != CodeOK {
		return &Error{Server: c.cfg.Name, Call: call, Status: status, Code: code, Err: errors.New("SRS answered an error code")}
	}
	return nil
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	const limit = 120
	if len(b) == 0 {
		return "empty body"
	}
	s := string(b)
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}

// discardLogger silences resty's own logging; errors are returned instead.
type discardLogger struct{}

func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Debugf(string, ...any) {}

var _ resty.Logger = discardLogger{}
