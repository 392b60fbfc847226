package ha

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// suffixRE is the random part of an identity: 4 bytes in lower-case hex.
var suffixRE = regexp.MustCompile(`^[0-9a-f]{8}$`)

// splitIdentity cuts an identity into its name and its random suffix.
func splitIdentity(t *testing.T, id string) (name, suffix string) {
	t.Helper()
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		t.Fatalf("identity %q has no '-<suffix>'", id)
	}
	name, suffix = id[:i], id[i+1:]
	if !suffixRE.MatchString(suffix) {
		t.Fatalf("identity %q: suffix %q is not 8 hex digits (4 random bytes)", id, suffix)
	}
	return name, suffix
}

func TestIdentity(t *testing.T) {
	host, _ := os.Hostname()
	hostName := host
	if hostName == "" {
		hostName = "replica"
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"pod name", map[string]string{"POD_NAME": "srs-owt-proxy-7f9c"}, "srs-owt-proxy-7f9c"},
		{"pod name trimmed", map[string]string{"POD_NAME": "  proxy-1\n"}, "proxy-1"},
		{"no pod name: the host name", nil, hostName},
		{"blank pod name: the host name", map[string]string{"POD_NAME": "   "}, hostName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := Identity(func(k string) string { return tc.env[k] })
			name, _ := splitIdentity(t, id)
			if name != tc.want {
				t.Errorf("Identity = %q: name %q, want %q", id, name, tc.want)
			}
		})
	}
}

// A nil getenv reads the process environment.
func TestIdentityNilGetenvReadsTheEnvironment(t *testing.T) {
	t.Setenv("POD_NAME", "pod-from-env")
	id := Identity(nil)
	if name, _ := splitIdentity(t, id); name != "pod-from-env" {
		t.Errorf("Identity(nil) = %q, want the name pod-from-env", id)
	}
}

// Two processes of one host (or a pod restarted under its old name) get
// different identities.
func TestIdentitySuffixTellsProcessesApart(t *testing.T) {
	env := func(string) string { return "pod-0" }
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		id := Identity(env)
		_, suffix := splitIdentity(t, id)
		seen[suffix] = true
	}
	// 20 draws of 32 random bits: a repeat is a broken random source.
	if len(seen) != 20 {
		t.Errorf("20 identities gave only %d distinct suffixes", len(seen))
	}
}
