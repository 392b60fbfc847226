// Package version says which build this is. Release builds set the
// variables with -ldflags (see the Makefile's LDFLAGS); a plain `go build`
// or `go install` falls back to what the Go toolchain recorded
// (debug.ReadBuildInfo: module version, VCS revision and time).
package version

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Set by -ldflags "-X github.com/srs-owt-proxy/srs-owt-proxy/internal/version.version=..." etc.
var (
	version string
	commit  string
	date    string
)

// Info describes a build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
}

// Get returns the build's information: the ldflags values, or what
// debug.ReadBuildInfo knows, or "unknown".
func Get() Info { return resolve(version, commit, date, debug.ReadBuildInfo) }

func resolve(v, c, d string, read func() (*debug.BuildInfo, bool)) Info {
	in := Info{Version: v, Commit: c, Date: d, GoVersion: runtime.Version()}
	if bi, ok := read(); ok && bi != nil {
		if in.Version == "" && bi.Main.Version != "" {
			in.Version = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && c == "" && in.Commit != "" && !strings.HasSuffix(in.Commit, "-dirty") {
			in.Commit += "-dirty"
		}
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
	}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	if in.Date == "" {
		in.Date = "unknown"
	}
	return in
}

// String is the one-line form `srs-owt-proxy version` prints.
func (i Info) String() string {
	c, dirty := strings.CutSuffix(i.Commit, "-dirty")
	// Equivalent mutants: > 11 or >= 12 in the condition only cut a 12-character commit to its own 12 characters.
	if len(c) > 12 {
		c = c[:12]
	}
	if dirty {
		c += "-dirty"
	}
	return i.Version + " (commit " + c + ", built " + i.Date + ", " + i.GoVersion + ")"
}

// Collector returns the srs_owt_proxy_build_info gauge: always 1, with the
// build's version, commit and Go version as labels.
func (i Info) Collector() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "srs_owt_proxy_build_info",
		Help: "Always 1; labels say which build is running."}, []string{"version", "commit", "goversion"})
	g.WithLabelValues(i.Version, i.Commit, i.GoVersion).Set(1)
	return g
}
