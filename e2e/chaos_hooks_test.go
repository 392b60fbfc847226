package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// hostileHook is one kind of bad hook request and the status it must get
// (200 for a well-formed hook whose names the agent cannot route).
type hostileHook struct {
	kind   string
	status int  // the 4xx it must be answered with
	remote bool // sent from 127.0.0.2, outside hooks.allow
	build  func(i int, url string) *http.Request
}

// hookJSON is a well-formed on_publish body as SRS 6 sends it.
func hookJSON(action, vhost, app, stream string, i int) string {
	return fmt.Sprintf(`{"server_id":"vid-hostile","service_id":"hostile1","action":%q,"client_id":"h%07d","ip":"127.0.0.1","vhost":%q,"app":%q,"tcUrl":"rtmp://127.0.0.1:1935/%s","stream":%q,"param":"","stream_url":"/%s/%s","stream_id":"vid-h%d"}`,
		action, i, vhost, app, app, stream, app, stream, i)
}

func jsonReq(method, url, body string) *http.Request {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// hostileHooks lists the kinds of bad hooks, each with its expected 4xx.
func hostileHooks() []hostileHook {
	pad := strings.Repeat("A", 1<<20)
	return []hostileHook{
		{kind: "malformed JSON", status: 400, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, `{"action":"on_publish","app":"live","stream":"x`+fmt.Sprint(i))
		}},
		{kind: "1 MiB body", status: 413, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, `{"action":"on_publish","app":"live","stream":"big`+fmt.Sprint(i)+`","pad":"`+pad+`"}`)
		}},
		{kind: "1 MiB chunked body", status: 413, build: func(i int, url string) *http.Request {
			// io.MultiReader hides the length: the body is sent chunked.
			req, _ := http.NewRequest("POST", url, io.MultiReader(strings.NewReader(`{"pad":"`), strings.NewReader(pad), strings.NewReader(`"}`)))
			req.Header.Set("Content-Type", "application/json")
			return req
		}},
		// Go's %q writes \xff, which is no JSON escape.
		{kind: "bad string escape", status: 400, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, hookJSON("on_publish", "__defaultVhost__", "live", "bad\xff\xfe"+fmt.Sprint(i), i))
		}},
		// Well formed, and SRS could send them (it copies raw bytes and puts
		// no rule on names): accepted, but never routed into OWT (the
		// convergence check that follows finds any extra room or input).
		{kind: "raw invalid UTF-8", status: 200, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, strings.Replace(hookJSON("on_publish", "__defaultVhost__", "live", fmt.Sprint("utf", i), i), `"utf`, "\"bad\xff\xfe\x01", 1))
		}},
		{kind: "../ in stream", status: 200, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, hookJSON("on_publish", "__defaultVhost__", "live", "../../etc/passwd"+fmt.Sprint(i), i))
		}},
		{kind: "../ in app", status: 200, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, hookJSON("on_publish", "__defaultVhost__", "..", fmt.Sprint("dots", i), i))
		}},
		{kind: "wrong method", status: 405, build: func(i int, url string) *http.Request {
			return jsonReq([]string{"GET", "PUT", "DELETE", "PATCH"}[i%4], url, hookJSON("on_publish", "__defaultVhost__", "live", fmt.Sprint("m", i), i))
		}},
		{kind: "unknown action", status: 400, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, hookJSON("on_hack", "__defaultVhost__", "live", fmt.Sprint("a", i), i))
		}},
		{kind: "wrong content type", status: 415, build: func(i int, url string) *http.Request {
			req := jsonReq("POST", url, hookJSON("on_publish", "__defaultVhost__", "live", fmt.Sprint("ct", i), i))
			req.Header.Set("Content-Type", "text/plain")
			return req
		}},
		{kind: "disallowed address", status: 403, remote: true, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, hookJSON("on_publish", "__defaultVhost__", "live", fmt.Sprint("evil", i), i))
		}},
		{kind: "disallowed address (unpublish)", status: 403, remote: true, build: func(i int, url string) *http.Request {
			return jsonReq("POST", url, hookJSON("on_unpublish", "__defaultVhost__", "live", "s001", i))
		}},
	}
}

// hostileResult counts the answers per kind of hostile hook.
type hostileResult struct {
	mu       sync.Mutex
	sent     map[string]int
	wrong    map[string]int      // kind -> answers other than the expected 4xx
	examples map[string][]string // kind -> the first few of them
}

func (r *hostileResult) record(kind, bad string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[kind]++
	if bad == "" {
		return
	}
	r.wrong[kind]++
	if len(r.examples[kind]) < 3 {
		r.examples[kind] = append(r.examples[kind], bad)
	}
}

// problems lists the kinds that got another answer than their 4xx.
func (r *hostileResult) problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, n := range r.wrong {
		out = append(out, fmt.Sprintf("%s: %d of %d answered wrongly, e.g. %s", k, n, r.sent[k], strings.Join(r.examples[k], " | ")))
	}
	sort.Strings(out)
	return out
}

// sendHostile sends n hostile hooks to the agent's hook endpoint from 32
// goroutines, cycling through the kinds, and checks every answer.
func (c *chaosRun) sendHostile(n int) *hostileResult {
	local := &http.Transport{MaxIdleConnsPerHost: 32}
	remote := &http.Transport{MaxIdleConnsPerHost: 32, DialContext: (&net.Dialer{Timeout: 5 * time.Second,
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}
	defer local.CloseIdleConnections()
	defer remote.CloseIdleConnections()
	clients := map[bool]*http.Client{false: {Transport: local, Timeout: 20 * time.Second}, true: {Transport: remote, Timeout: 20 * time.Second}}
	kinds := hostileHooks()
	url := "http://" + c.hookAddr + "/api/v1/streams"
	res := &hostileResult{sent: map[string]int{}, wrong: map[string]int{}, examples: map[string][]string{}}
	c.parallel(n, 32, func(i int) {
		k := kinds[i%len(kinds)]
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := clients[k.remote].Do(k.build(i, url).WithContext(ctx))
		if err != nil {
			res.record(k.kind, "transport error: "+err.Error())
			return
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != k.status {
			res.record(k.kind, fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body)))
			return
		}
		res.record(k.kind, "")
	})
	return res
}
