package status_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/srs-owt-proxy/srs-owt-proxy/agent"
	"github.com/srs-owt-proxy/srs-owt-proxy/internal/lab"
	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

const browserPolicy = `reconcile: {interval: 1s, delete_grace: 1m}
routes:
  - match: {app: live, stream: "class-*"}
    room: "{{.App}}-{{.Stream}}"
  - match: {app: wall}
    room: {name: video-wall, create: false}
  - match: {}
    action: ignore
`

// chromium finds the browser: $CHROMIUM (a path), or chromium on PATH.
// CHROMIUM=off is the one way to skip, for a machine without it; CI
// installs Debian's chromium (.ci/run), so there the test always runs.
func chromium(t *testing.T) string {
	t.Helper()
	switch v := os.Getenv("CHROMIUM"); v {
	case "off", "0", "false":
		t.Skip("CHROMIUM=" + v + ": browser test disabled")
	case "":
	default:
		return v
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: install it (apt-get install -y chromium), point CHROMIUM at a browser, or set CHROMIUM=off to skip this test")
	return ""
}

// startAgent runs an agent with a metrics listener against a fresh lab.
func startAgent(t *testing.T) (base string, l *lab.Lab) {
	t.Helper()
	base, l, _ = startAgentWithPolicy(t)
	return base, l
}

// startAgentWithPolicy is startAgent, and also returns the policy file.
func startAgentWithPolicy(t *testing.T) (base string, l *lab.Lab, pf string) {
	t.Helper()
	l, hookLn, err := lab.StartWithHookListener()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	metricsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pf = filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pf, []byte(browserPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	af := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(af, []byte(l.AgentYAML(hookLn.Addr().String(), metricsLn.Addr().String(), filepath.Join(dir, "state.json"), pf)), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "OWT_SERVICE_KEY" {
			return lab.ServiceKey
		}
		return ""
	}
	cfg, err := policy.LoadAgent(af, getenv)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.LoadPolicy(pf, getenv)
	if err != nil {
		t.Fatal(err)
	}
	l.OWT.CreateRoomDirect(lab.ServiceID, "video-wall", nil)
	a, err := agent.New(agent.Options{Config: cfg, Policy: pol, PolicyFile: pf, Getenv: getenv, HookListener: hookLn, MetricsListener: metricsLn,
		ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return "http://" + metricsLn.Addr().String(), l, pf
}

// TestStatusPageInBrowser loads a running agent's status page in headless
// chromium, publishes streams, and checks that the page shows them in
// view, that search keeps only the matching stream, and that the page fits
// a phone's width. The screenshot goes to the test's artifact directory
// (go test -artifacts), or to $STATUS_SCREENSHOT when set.
func TestStatusPageInBrowser(t *testing.T) {
	exe := chromium(t)
	base, l := startAgent(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1000, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()

	// Before any publish: the page loads and lists no agent room.
	text, err := load(ctx, base+"/status/")
	if err != nil {
		t.Fatalf("load %s/status/: %v", base, err)
	}
	if strings.Contains(text, "live/class-a") {
		t.Fatalf("page shows live/class-a before it was published:\n%s", text)
	}

	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	for _, s := range []struct{ app, name string }{{"live", "class-a"}, {"live", "class-b"}, {"wall", "cam-1"}} {
		if _, _, err := l.SRS.Publish(pctx, "__defaultVhost__", s.app, s.name, ""); err != nil {
			t.Fatalf("publish %s/%s: %v", s.app, s.name, err)
		}
	}

	row := `tr[id="stream:live-class-a:origin/__defaultVhost__/live/class-a"] td.inview`
	deadline := time.Now().Add(30 * time.Second)
	for {
		if text, err = load(ctx, base+"/status/"); err != nil {
			t.Fatal(err)
		}
		cell, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, row)))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(cell) == "in view" && strings.Contains(text, "In sync.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live/class-a not shown in view within 30s; the page says:\n%s", text)
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, want := range []string{"live-class-b", "video-wall", "origin/__defaultVhost__/wall/cam-1", "rtmp://127.0.0.1:1935/live/class-a"} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// An unpublish: the stop is held by the delete grace, and the page says so.
	if err := l.SRS.Unpublish(pctx, "__defaultVhost__", "live", "class-b"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(text, "held by delete_grace") {
		if time.Now().After(deadline) {
			t.Fatalf("the held stop of live/class-b is not shown; the page says:\n%s", text)
		}
		time.Sleep(300 * time.Millisecond)
		if text, err = load(ctx, base+"/status/"); err != nil {
			t.Fatal(err)
		}
	}

	shot := shoot(t, ctx)

	// Search: only the matching stream's room stays.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(`input[name=q]`, "cam-1"),
		chromedp.Submit(`input[name=q]`),
		chromedp.WaitVisible(`tr[id="stream:video-wall:origin/__defaultVhost__/wall/cam-1"]`)); err != nil {
		t.Fatal(err)
	}
	if text, err = chromedp.Run(ctx, chromedp.Text("main")); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "live/class-a") || !strings.Contains(text, "wall/cam-1") {
		t.Errorf("search for cam-1 shows:\n%s", text)
	}

	// A phone: 390 px wide, and nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/status/"), chromedp.WaitVisible("#sources")); err != nil {
		t.Fatal(err)
	}
	widths, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if err != nil {
		t.Fatal(err)
	}
	scrollW, innerW := widths[0], widths[1]
	if scrollW > innerW {
		t.Errorf("on a 390px phone the page is %dpx wide", scrollW)
	}
	t.Logf("screenshot: %s", shot)
}

// shoot saves a full-page screenshot and returns where.
func shoot(t *testing.T, ctx context.Context) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.ArtifactDir(), "status-page.png")
	if p := os.Getenv("STATUS_SCREENSHOT"); p != "" {
		path = p
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// load navigates to url and returns the page's visible text.
func load(ctx context.Context, url string) (string, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible("#sources")); err != nil {
		return "", err
	}
	return chromedp.Run(ctx, chromedp.Text("body"))
}
