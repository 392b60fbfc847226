package owtapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-resty/resty/v2"

	"github.com/srs-owt-proxy/srs-owt-proxy/internal/bodylimit"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout            = 10 * time.Second
	DefaultStreamingInTimeout = 100 * time.Second
	DefaultPageSize           = 100
)

// maxResponseBody bounds what the client reads from one response.
const maxResponseBody = 64 << 20

// Config configures a Client.
type Config struct {
	URL        string // e.g. http://127.0.0.1:3000 or https://owt.example:3000
	ServiceID  string
	ServiceKey string // secret: never in errors or logs
	CAFile     string // optional PEM CA bundle for HTTPS, added to the system pool
	// InsecureSkipVerify disables TLS certificate verification (tests only).
	InsecureSkipVerify bool
	// Timeout bounds each HTTP request (each ListRooms page) except
	// StartStreamingIn's (default 10s).
	Timeout time.Duration
	// StreamingInTimeout bounds StartStreamingIn (default 100s: OWT's POST
	// can block about 90s while it pulls the source).
	StreamingInTimeout time.Duration
	// PageSize is the number of rooms per ListRooms page (default 100).
	PageSize int
	// Transport replaces the built-in HTTP transport (tests:
	// httpmock.NewMockTransport()). TLS options apply to it only if it is an
	// *http.Transport.
	Transport http.RoundTripper
	// Observe, if set, is called after every HTTP request with a route name
	// such as "list_rooms", the HTTP status (0 on transport error) and the
	// duration.
	Observe func(call string, status int, d time.Duration)
	// UserAgent names the client to OWT (default "srs-owt-proxy"); with
	// several replicas it carries the replica's identity, so that OWT's
	// access logs tell which one sent a request.
	UserAgent string
	// Now replaces time.Now for signing (tests).
	Now func() time.Time
	// Nonce replaces the random cnonce generator (tests).
	Nonce func() string
}

// Client talks to OWT's management REST API. It is safe for concurrent use.
// It never retries: the caller owns retries.
type Client struct {
	cfg    Config
	rc     *resty.Client
	base   string // scheme://host[:port][/prefix], no trailing slash
	server string // the same without path, for errors
}

// New checks cfg, applies defaults and builds a Client. It fails on an
// unusable URL, missing credentials or an unreadable CA file.
func New(cfg Config) (*Client, error) {
	base, server, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.ServiceID == "" || cfg.ServiceKey == "" {
		return nil, errors.New("owt: service id and service key are required: take them from OWT's init.sh output or its MongoDB services collection")
	}
	if cfg.Timeout < 0 || cfg.StreamingInTimeout < 0 || cfg.PageSize < 0 {
		return nil, errors.New("owt: timeouts and page size must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.StreamingInTimeout == 0 {
		cfg.StreamingInTimeout = DefaultStreamingInTimeout
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Nonce == nil {
		cfg.Nonce = randomNonce
	}
	rt, err := buildTransport(cfg)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{
		Transport: bodylimit.Wrap(rt, maxResponseBody),
		// OWT never redirects; a redirect means a wrong URL and must not
		// be followed with our signed header.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc := resty.NewWithClient(hc).
		SetRetryCount(0).
		SetLogger(discardLogger{}).
		SetDisableWarn(true).
		SetHeader("User-Agent", cmp.Or(cfg.UserAgent, "srs-owt-proxy"))
	return &Client{cfg: cfg, rc: rc, base: base, server: server}, nil
}

// Close releases idle connections. The Client must not be used afterwards.
func (c *Client) Close() {
	c.rc.GetClient().CloseIdleConnections()
}

func parseBaseURL(raw string) (base, server string, err error) {
	if raw == "" {
		return "", "", errors.New("owt: URL is empty: set it to OWT's management API, e.g. https://owt.example:3000")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", errors.New("owt: URL must look like http(s)://host:port (OWT's management API, default port 3000)")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", errors.New("owt: URL must not carry credentials, a query or a fragment")
	}
	server = u.Scheme + "://" + u.Host
	return server + strings.TrimRight(u.EscapedPath(), "/"), server, nil
}

// request describes one HTTP call.
type request struct {
	name    string // route name for Observe
	op      string // for errors
	room    string
	stream  string
	method  string
	path    string // escaped, starting with /v1
	query   url.Values
	body    any // JSON-encoded; nil means no body
	timeout time.Duration
}

// do performs r and returns the body of a 2xx answer, or an *Error.
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	if r.timeout == 0 {
		r.timeout = c.cfg.Timeout
	}
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, c.newError(r, 0, 0, "cannot encode the request body", fmt.Errorf("%w: %w", ErrInvalidRequest, err))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	req := c.rc.R().
		SetContext(ctx).
		SetHeader("Authorization", AuthHeader(c.cfg.ServiceID, c.cfg.ServiceKey, c.cfg.Now(), c.cfg.Nonce())).
		SetHeader("Accept", "application/json")
	if r.query != nil {
		req.SetQueryParamsFromValues(r.query)
	}
	if payload != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(payload)
	}
	start := time.Now()
	resp, err := req.Execute(r.method, c.base+r.path)
	elapsed := time.Since(start)
	if err != nil {
		c.observe(r.name, 0, elapsed)
		return nil, c.newError(r, 0, 0, "", err)
	}
	status := resp.StatusCode()
	c.observe(r.name, status, elapsed)
	body := resp.Body()
	if status >= 200 && status < 300 {
		return body, nil
	}
	code, msg := parseErrorBody(body)
	if status >= 300 && status < 400 {
		msg = "redirect to " + boundText(resp.Header().Get("Location"))
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return nil, c.newError(r, status, code, msg, nil)
}

func (c *Client) observe(name string, status int, d time.Duration) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(name, status, d)
	}
}

// newError builds an *Error for r with its operator hint.
func (c *Client) newError(r request, status, code int, msg string, err error) *Error {
	if key := c.cfg.ServiceKey; key != "" {
		msg = strings.ReplaceAll(msg, key, "[redacted]")
	}
	e := &Error{
		Op: r.op, Room: r.room, Stream: r.stream,
		Status: status, Code: code, Message: msg, Err: err,
		Server: c.server,
		secret: c.cfg.ServiceKey,
	}
	e.hint = hintFor(e, r.timeout)
	return e
}

// decode unmarshals a 2xx body into v, or returns an *Error saying the
// answer was not OWT-shaped.
func (c *Client) decode(r request, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return c.newError(r, http.StatusOK, 0, "cannot decode the answer", err)
	}
	return nil
}

// parseErrorBody reads OWT's {"error":{"code","message"}}; any other body
// gives code 0 and the text, trimmed and bounded.
func parseErrorBody(body []byte) (code int, msg string) {
	var eb struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != 0 {
		return eb.Error.Code, boundText(eb.Error.Message)
	}
	return 0, boundText(string(body))
}

// boundText collapses whitespace and cuts s to maxMessageLen bytes on a rune
// boundary.
func boundText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessageLen {
		return s
	}
	cut := maxMessageLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// discardLogger silences resty: the client reports through errors only.
type discardLogger struct{}

func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Debugf(string, ...any) {}
