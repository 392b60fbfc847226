package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestResolve(t *testing.T) {
	info := func(v string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: v}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, c := range []struct {
		name    string
		v, c, d string
		read    func() (*debug.BuildInfo, bool)
		want    Info
		str     string
	}{
		{"ldflags win", "v1.2.3", "0123456789abcdef", "2026-01-02T03:04:05Z", info("v0.0.1", "vcs.revision", "fff", "vcs.time", "x"),
			Info{"v1.2.3", "0123456789abcdef", "2026-01-02T03:04:05Z", "go1.99"}, "v1.2.3 (commit 0123456789ab, built 2026-01-02T03:04:05Z, go1.99)"},
		{"build info", "", "", "", info("v0.4.0", "vcs.revision", "abcdef0123456789", "vcs.time", "2026-01-01T00:00:00Z", "vcs.modified", "true"),
			Info{"v0.4.0", "abcdef0123456789-dirty", "2026-01-01T00:00:00Z", "go1.99"}, "v0.4.0 (commit abcdef012345-dirty, built 2026-01-01T00:00:00Z, go1.99)"},
		{"devel", "", "", "", info(""), Info{"(devel)", "unknown", "unknown", "go1.99"}, "(devel) (commit unknown, built unknown, go1.99)"},
		// A commit set by -ldflags is never marked dirty by the VCS stamp.
		{"ldflags commit, modified tree", "", "0123456789ab", "", info("", "vcs.revision", "fff", "vcs.modified", "true"),
			Info{"(devel)", "0123456789ab", "unknown", "go1.99"}, "(devel) (commit 0123456789ab, built unknown, go1.99)"},
		{"clean tree", "", "", "", info("", "vcs.revision", "0123456789abc", "vcs.modified", "false"),
			Info{"(devel)", "0123456789abc", "unknown", "go1.99"}, "(devel) (commit 0123456789ab, built unknown, go1.99)"},
		{"already dirty", "", "", "", info("", "vcs.revision", "abc-dirty", "vcs.modified", "true"),
			Info{"(devel)", "abc-dirty", "unknown", "go1.99"}, "(devel) (commit abc-dirty, built unknown, go1.99)"},
		// read says ok without info, or gives info it says is not ok: neither is used.
		{"ok without info", "", "", "", func() (*debug.BuildInfo, bool) { return nil, true },
			Info{"(devel)", "unknown", "unknown", runtime.Version()}, "(devel) (commit unknown, built unknown, " + runtime.Version() + ")"},
		{"info not ok", "", "", "", func() (*debug.BuildInfo, bool) { bi, _ := info("v9")(); return bi, false },
			Info{"(devel)", "unknown", "unknown", runtime.Version()}, "(devel) (commit unknown, built unknown, " + runtime.Version() + ")"},
	} {
		got := resolve(c.v, c.c, c.d, c.read)
		if got != c.want || got.String() != c.str {
			t.Errorf("%s: %+v %q, want %+v %q", c.name, got, got.String(), c.want, c.str)
		}
	}
	if got := resolve("", "", "", none); got.Version != "(devel)" || !strings.HasPrefix(got.GoVersion, "go") {
		t.Errorf("no build info: %+v", got)
	}
}

func TestCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Info{Version: "v1", Commit: "c1", GoVersion: "go1.99"}.Collector())
	want := `# HELP srs_owt_proxy_build_info Always 1; labels say which build is running.
# TYPE srs_owt_proxy_build_info gauge
srs_owt_proxy_build_info{commit="c1",goversion="go1.99",version="v1"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if Get().GoVersion == "" {
		t.Error("Get: no Go version")
	}
}

// String shows at most 12 characters of the commit, keeping "-dirty".
func TestStringClipsCommit(t *testing.T) {
	for commit, want := range map[string]string{
		"0123456789a":          "0123456789a",
		"0123456789ab":         "0123456789ab",
		"0123456789abc":        "0123456789ab",
		"0123456789ab-dirty":   "0123456789ab-dirty",
		"0123456789abcd-dirty": "0123456789ab-dirty",
	} {
		got := Info{Version: "v1", Commit: commit, Date: "d", GoVersion: "go1"}.String()
		if w := "v1 (commit " + want + ", built d, go1)"; got != w {
			t.Errorf("String() with commit %q = %q, want %q", commit, got, w)
		}
	}
}
