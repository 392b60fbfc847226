package policy

import (
	"errors"
	"strings"
	"testing"
)

// envOf returns a getenv backed by a map.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // prefixes of each error, in order
	}{
		{"unknown top-level key", "routes: []\nroutez: []\n",
			nil, []string{`p.yaml:2: routez: unknown key "routez"`}},
		{"unknown key in route", "routes:\n  - match: {}\n    action: ignore\n    rooom: x\n",
			nil, []string{`p.yaml:4: routes[0].rooom: unknown key "rooom"`}},
		{"unknown key in match", "routes:\n  - match: {ap: live}\n    room: r\n",
			nil, []string{`p.yaml:2: routes[0].match.ap: unknown key "ap"`}},
		{"wrong type for routes", "routes: {a: 1}\n",
			nil, []string{`p.yaml:1: routes: must be a list, got a mapping`}},
		{"wrong type for max_deletes", "reconcile: {max_deletes: many}\nroutes: []\n",
			nil, []string{`p.yaml:1: reconcile.max_deletes: must be an integer, got a string`}},
		{"wrong type for room", "routes:\n  - match: {}\n    room: [a]\n",
			nil, []string{`p.yaml:3: routes[0].room: must be a string, got a list`}},
		{"bad glob", "routes:\n  - match: {stream: \"class-[\"}\n    room: r\n",
			nil, []string{`p.yaml:2: routes[0].match.stream: bad glob "class-["`}},
		{"bad query glob", "routes:\n  - match: {query: {layout: \"[\"}}\n    room: r\n",
			nil, []string{`p.yaml:2: routes[0].match.query.layout: bad glob "["`}},
		{"bad template syntax", "routes:\n  - match: {}\n    room: \"{{.App\"\n",
			nil, []string{`p.yaml:3: routes[0].room: template: unclosed action`}},
		{"unknown template field", "routes:\n  - match: {}\n    action: route\n    room: \"{{.Foo}}\"\n",
			nil, []string{`p.yaml:4: routes[0].room: template: unknown field .Foo`}},
		{"unknown template function", "routes:\n  - match: {}\n    room: \"{{nope .App}}\"\n",
			nil, []string{`p.yaml:3: routes[0].room: template: function "nope" not defined`}},
		{"unknown field in pull_url", "routes:\n  - match: {}\n    room: r\n    pull_url: \"rtmp://{{.Hots}}/x\"\n",
			nil, []string{`p.yaml:4: routes[0].pull_url: template: unknown field .Hots`}},
		{"pull_url not rtmp", "routes:\n  - match: {}\n    room: r\n    pull_url: \"http://{{.Host}}/{{.App}}\"\n",
			nil, []string{`p.yaml:4: routes[0].pull_url: the pull URL "http://127.0.0.1:1935/live" must start with rtmp:// or rtsp://`}},
		{"invalid view label", "routes:\n  - match: {}\n    room: r\n    views: [common, \"bad label\"]\n",
			nil, []string{`p.yaml:4: routes[0].views[1]: invalid view label "bad label"`}},
		{"invalid default view label", "defaults: {views: [\"a/b\"]}\nroutes: []\n",
			nil, []string{`p.yaml:1: defaults.views[0]: invalid view label "a/b"`}},
		{"bad duration", "reconcile: {interval: 30}\nroutes: []\n",
			nil, []string{`p.yaml:1: reconcile.interval: must be a duration such as 30s`}},
		{"unparsable duration", "reconcile:\n  delete_grace: tenseconds\nroutes: []\n",
			nil, []string{`p.yaml:2: reconcile.delete_grace: invalid duration "tenseconds"`}},
		{"interval too small", "reconcile: {interval: 50ms}\nroutes: []\n",
			nil, []string{`p.yaml:1: reconcile.interval: must be at least 100ms, got 50ms`}},
		{"negative grace", "reconcile: {delete_grace: -1s}\nroutes: []\n",
			nil, []string{`p.yaml:1: reconcile.delete_grace: must be at least 0s, got -1s`}},
		{"concurrency out of range", "reconcile: {concurrency: 300}\nroutes: []\n",
			nil, []string{`p.yaml:1: reconcile.concurrency: must be between 1 and 256, got 300`}},
		{"max_deletes zero", "reconcile: {max_deletes: 0}\nroutes: []\n",
			nil, []string{`p.yaml:1: reconcile.max_deletes: must be between 1 and 1073741824, got 0`}},
		{"route without room", "routes:\n  - match: {app: live}\n",
			nil, []string{`p.yaml:2: routes[0].room: missing: a route needs a room`}},
		{"explicit route without room", "routes:\n  - match: {app: live}\n    action: route\n",
			nil, []string{`p.yaml:2: routes[0].room: missing`}},
		{"missing match", "routes:\n  - action: ignore\n",
			nil, []string{`p.yaml:2: routes[0].match: missing; use match: {}`}},
		{"unknown action", "routes:\n  - match: {}\n    action: drop\n",
			nil, []string{`p.yaml:3: routes[0].action: unknown action "drop"`}},
		{"room with deny", "routes:\n  - match: {}\n    action: deny\n    room: r\n",
			nil, []string{`p.yaml:4: routes[0].room: has no effect with action deny`}},
		{"both media false", "routes:\n  - match: {}\n    room: r\n    media: {audio: false, video: false}\n",
			nil, []string{`p.yaml:4: routes[0].media: audio and video are both false`}},
		{"media false merged with defaults", "defaults: {media: {audio: false}}\nroutes:\n  - match: {}\n    room: r\n    media:\n      video: false\n",
			nil, []string{`p.yaml:6: routes[0].media: audio and video are both false`}},
		{"bad media value", "routes:\n  - match: {}\n    room: r\n    media: {audio: yes}\n",
			nil, []string{`p.yaml:4: routes[0].media.audio: must be auto, true or false`}},
		{"bad transport", "routes:\n  - match: {}\n    room: r\n    transport: quic\n",
			nil, []string{`p.yaml:4: routes[0].transport: unknown transport "quic": use tcp or udp`}},
		{"bad default transport", "defaults: {transport: http}\nroutes: []\n",
			nil, []string{`p.yaml:1: defaults.transport: unknown transport "http"`}},
		{"token_env unset", "routes:\n  - match: {app: wall}\n    room: {name: video-wall, create: false}\n    token_env: WALL_TOKEN\n",
			nil, []string{`p.yaml:4: routes[0].token_env: environment variable WALL_TOKEN is empty or unset`}},
		{"maxInput above 256", "routes:\n  - match: {}\n    room: r\n    room_options:\n      views:\n        - label: common\n          video: {maxInput: 300}\n",
			nil, []string{`p.yaml:7: routes[0].room_options.views[0].video.maxInput: must be between 1 and 256, got 300`}},
		{"unknown room option", "routes:\n  - match: {}\n    room:\n      name: r\n      options: {inputLimt: 3}\n",
			nil, []string{`p.yaml:5: routes[0].room.options.inputLimt: unknown key "inputLimt"`}},
		{"wrong room option type", "routes:\n  - match: {}\n    room: r\n    room_options: {participantLimit: abc}\n",
			nil, []string{`p.yaml:4: routes[0].room_options.participantLimit: must be an integer, got a string`}},
		{"bad view label in room options", "routes:\n  - match: {}\n    room: r\n    room_options: {views: [{label: \"x y\"}]}\n",
			nil, []string{`p.yaml:4: routes[0].room_options.views[0].label: "x y" is not valid`}},
		{"options with create false", "routes:\n  - match: {}\n    room: {name: wall, create: false, options: {inputLimit: 4}}\n",
			nil, []string{`p.yaml:3: routes[0].room.options: options are only used when the agent creates the room`}},
		{"room_options with create false", "routes:\n  - match: {}\n    room: {name: wall, create: false}\n    room_options: {inputLimit: 4}\n",
			nil, []string{`p.yaml:4: routes[0].room_options: options are only used when the agent creates the room`}},
		{"options given twice", "routes:\n  - match: {}\n    room: {name: wall, options: {inputLimit: 4}}\n    room_options: {inputLimit: 4}\n",
			nil, []string{`p.yaml:4: routes[0].room_options: room options are already given in room.options`}},
		{"view not in created room", "routes:\n  - match: {}\n    room: r\n    room_options: {views: [{label: main}]}\n    views: [common]\n",
			nil, []string{`p.yaml:5: routes[0].views: view "common" is not among the views the room is created with`}},
		{"duplicate key", "routes:\n  - match: {}\n    room: a\n    room: b\n",
			nil, []string{`p.yaml:4: routes[0].room: duplicate key`}},
		{"yaml syntax", "routes:\n  - match: {\n",
			nil, []string{`p.yaml:2: invalid YAML: did not find expected node content`}},
		{"empty file", "",
			nil, []string{`p.yaml: the policy is empty`}},
		{"missing routes", "reconcile: {interval: 10s}\n",
			nil, []string{`p.yaml:1: routes: missing`}},
		{"two documents", "routes: []\n---\nroutes: []\n",
			nil, []string{`p.yaml:2: more than one YAML document`}},
		{"alias", "x: &a []\nroutes: *a\n",
			nil, []string{`p.yaml:1: x: unknown key "x"`, `p.yaml:2: routes: YAML aliases`}},
		{"token on deny", "routes:\n  - match: {}\n    action: deny\n    token_env: T\n",
			map[string]string{"T": "v"}, []string{`p.yaml:4: routes[0].token_env: has no effect with action deny`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy("p.yaml", []byte(tc.yaml), envOf(tc.env))
			if err == nil {
				t.Fatalf("no error; policy %s", p.Summary())
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tc.want), err)
			}
			for i, w := range tc.want {
				if got := errs[i].Error(); !strings.HasPrefix(got, w) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, got, w)
				}
			}
		})
	}
}

func TestParsePolicyCollectsAllErrors(t *testing.T) {
	src := `reconcile: {interval: 10ms, concurrency: 0}
defaults: {transport: sctp}
routes:
  - match: {app: "["}
    room: "{{.Nope}}"
  - match: {}
    action: route
  - match: {}
    bogus: 1
    action: ignore
`
	_, err := ParsePolicy("multi.yaml", []byte(src), envOf(nil))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []string{
		"multi.yaml:1: reconcile.interval:",
		"multi.yaml:1: reconcile.concurrency:",
		"multi.yaml:2: defaults.transport:",
		"multi.yaml:4: routes[0].match.app:",
		"multi.yaml:5: routes[0].room: template: unknown field .Nope",
		"multi.yaml:6: routes[1].room: missing",
		"multi.yaml:9: routes[2].bogus: unknown key",
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i].Error(), w)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("Error() has %d lines, want one per problem (%d)", len(lines), len(want))
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		fe   FieldError
		want string
	}{
		{FieldError{File: "policy.yaml", Line: 12, Field: "routes[1].room", Problem: "template: unknown field .Foo"}, "policy.yaml:12: routes[1].room: template: unknown field .Foo"},
		{FieldError{File: "policy.yaml", Problem: "the policy is empty"}, "policy.yaml: the policy is empty"},
		{FieldError{File: "a.yaml", Line: 3, Problem: "invalid YAML: x"}, "a.yaml:3: invalid YAML: x"},
	}
	for _, tc := range tests {
		if got := tc.fe.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
