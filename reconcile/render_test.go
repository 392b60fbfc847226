package reconcile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// planOf plans every room context and budgets the deletes, as diff does.
func planOf(ctxs ...RoomContext) *Plan {
	b := Budget{MaxDeletes: 50}
	p := &Plan{}
	for _, c := range ctxs {
		if c.SnapshotAt.IsZero() {
			c.SnapshotAt = t0()
		}
		c.Grace, c.DeletesAllowed = 10*time.Second, true
		rp := PlanRoom(c)
		b.Apply(&rp)
		p.Rooms = append(p.Rooms, rp)
	}
	p.Sort()
	return p
}

func changesPlan() *Plan {
	longAgo := since(t0().Add(-time.Hour))
	return planOf(
		RoomContext{Desired: desiredRoom("wall", false), Observed: usedRoom("wall", "r-wall", owned("s-e", "e", "common"))},
		RoomContext{Desired: desiredRoom("class-a", true, want("a", "common")), Observed: missingRoom("class-a")},
		RoomContext{Desired: desiredRoom("lobby", true, want("b"), want("c", "common", "hd")),
			Observed: usedRoom("lobby", "r-lobby", owned("s-c", "c", "common"))},
		RoomContext{Observed: ownRoom("old-room", "r-old", owned("s-d", "d", "common")), MissingSince: longAgo},
		RoomContext{Desired: desiredRoom("quiet", true, want("f", "common")), Observed: usedRoom("quiet", "r-quiet", owned("s-f", "f", "common"))},
	)
}

func TestRenderPlan(t *testing.T) {
	tests := []struct {
		name    string
		plan    *Plan
		summary Summary
		// line is the text plan's summary line ("" when in sync).
		line   string
		inSync bool
	}{
		{
			name: "in-sync",
			plan: planOf(
				RoomContext{Desired: desiredRoom("lobby", true, want("a", "common")), Observed: usedRoom("lobby", "r1", owned("s1", "a", "common"))},
				RoomContext{Observed: usedRoom("foreign", "r2")},
			),
			inSync: true,
		},
		{
			name:    "changes",
			plan:    changesPlan(),
			summary: Summary{Add: 3, Change: 1, Destroy: 2, Held: 1, Notes: 1},
			line:    "Plan: 3 to add, 1 to change, 2 to destroy.",
		},
		{
			name: "held-only",
			plan: planOf(RoomContext{Desired: desiredRoom("video-wall", false, want("w", "common")), Observed: missingRoom("video-wall")},
				RoomContext{Observed: usedRoom("lobby", "r1", owned("s1", "a", "common")), DesiredRoomOf: elsewhere("class-a")}),
			summary: Summary{Held: 1, Notes: 1},
			line:    "Plan: 0 to add, 0 to change, 0 to destroy.",
			inSync:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.plan.Summary(); got != tt.summary {
				t.Errorf("Summary() = %+v, want %+v", got, tt.summary)
			}
			if got := tt.plan.Summary().InSync(); got != tt.inSync {
				t.Errorf("InSync() = %v, want %v", got, tt.inSync)
			}
			var text bytes.Buffer
			if err := tt.plan.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if tt.line == "" {
				if got := text.String(); got != "No changes. OWT matches SRS and the policy.\n" {
					t.Errorf("in-sync text = %q", got)
				}
			} else if !hasLine(text.String(), tt.line) {
				t.Errorf("text plan lacks the summary line %q:\n%s", tt.line, text.String())
			}
			golden(t, filepath.Join("testdata", "plan-"+tt.name+".txt.golden"), text.Bytes())

			var js bytes.Buffer
			if err := tt.plan.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var decoded JSONPlan
			if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
				t.Fatalf("JSON plan does not decode: %v", err)
			}
			if decoded.FormatVersion != "1" || decoded.InSync != tt.inSync || decoded.Summary != tt.summary {
				t.Errorf("JSON plan: format %q in_sync %v summary %+v", decoded.FormatVersion, decoded.InSync, decoded.Summary)
			}
			golden(t, filepath.Join("testdata", "plan-"+tt.name+".json.golden"), js.Bytes())
		})
	}
}

func TestRenderEmptyPlanJSON(t *testing.T) {
	var b bytes.Buffer
	if err := (&Plan{}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"format_version\": \"1\",\n  \"in_sync\": true,\n  \"summary\": {\n    \"add\": 0,\n    \"change\": 0,\n    \"destroy\": 0,\n    \"held\": 0,\n    \"notes\": 0\n  },\n  \"rooms\": []\n}\n"
	if b.String() != want {
		t.Errorf("empty plan JSON:\n%s\nwant:\n%s", b.String(), want)
	}
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test ./reconcile/ -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}
