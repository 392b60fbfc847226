package reconcile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func loadState(t *testing.T, path, agent string) *State {
	t.Helper()
	s, err := LoadState(path, agent)
	if err != nil {
		t.Fatalf("LoadState(%s): %v", path, err)
	}
	return s
}

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := loadState(t, path, "agent-1")
	s.SetRoom("class-b", "r-b", t0())
	s.SetRoom("class-a", "r-a", t0().Add(time.Second))
	s.SetRoom("gone", "r-g", t0())
	s.ForgetRoom("gone")
	s.SetMissing("class-a", key("x"), t0().Add(2*time.Second))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}

	r := loadState(t, path, "agent-1")
	if got, want := r.Rooms(), []string{"class-a", "class-b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Rooms() = %q, want %q", got, want)
	}
	if rec, ok := r.Room("class-a"); !ok || rec.ID != "r-a" || !rec.Created.Equal(t0().Add(time.Second)) {
		t.Errorf("Room(class-a) = %+v, %v", rec, ok)
	}
	if _, ok := r.Room("gone"); ok {
		t.Errorf("a forgotten room came back")
	}
	if at, ok := r.MissingSince("class-a", key("x")); !ok || !at.Equal(t0().Add(2*time.Second)) {
		t.Errorf("MissingSince = %s, %v; want %s", at, ok, t0().Add(2*time.Second))
	}

	var raw map[string]any
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["version"] != float64(1) || raw["agent"] != "agent-1" {
		t.Errorf("file header = version %v agent %v; want 1 and agent-1", raw["version"], raw["agent"])
	}
}

func TestStateSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s := loadState(t, path, "agent-1")
	for i := 0; i < 3; i++ {
		s.SetRoom("room", "id", t0().Add(time.Duration(i)*time.Second))
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"state.json"}) {
		t.Errorf("directory holds %q, want only state.json (no temp files left)", names)
	}
}

func TestStateSaveOnlyWhenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := loadState(t, path, "agent-1")
	s.ForgetRoom("never-created")
	s.ClearMissing("room", key("a"))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("Save without changes wrote the file (stat err %v)", err)
	}
}

func TestStateSaveFailureKeepsChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing-dir")
	path := filepath.Join(dir, "state.json")
	s := loadState(t, path, "agent-1")
	s.SetRoom("room", "id", t0())
	err := s.Save()
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Save into a missing directory: err = %v, want one naming %s", err, path)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(); err != nil {
		t.Fatalf("second Save: %v", err)
	}
	if _, ok := loadState(t, path, "agent-1").Room("room"); !ok {
		t.Errorf("the room recorded before the failed Save was lost")
	}
}

func TestLoadStateErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"corrupt", write("corrupt.json", `{"version":1,"agent":"agent-1","rooms":`), []string{"corrupt.json", "is corrupt", "move it away"}},
		{"not an object", write("list.json", `[1,2]`), []string{"list.json", "is corrupt"}},
		{"other agent", write("other.json", `{"version":1,"agent":"agent-2","rooms":{}}`), []string{"other.json", `"agent-2"`, `"agent-1"`, "own state_file"}},
		{"a directory", dir, []string{dir, "state_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadState(tt.path, "agent-1")
			if err == nil {
				t.Fatalf("LoadState = %+v, want an error", s)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadStateEmpty(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"missing file", filepath.Join(dir, "nope.json")},
		{"no path", ""},
		{"file without rooms", func() string {
			p := filepath.Join(dir, "bare.json")
			if err := os.WriteFile(p, []byte(`{"version":1}`), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := loadState(t, tt.path, "agent-1")
			if n := len(s.Rooms()); n != 0 {
				t.Errorf("Rooms() has %d entries, want none", n)
			}
			// Usable: the maps exist.
			s.SetRoom("r", "id", t0())
			s.SetMissing("r", key("a"), t0())
			if _, ok := s.Room("r"); !ok {
				t.Errorf("SetRoom had no effect")
			}
			if err := s.Save(); err != nil {
				t.Errorf("Save: %v", err)
			}
		})
	}
}

func TestStateMissing(t *testing.T) {
	s := loadState(t, "", "agent-1")
	if _, ok := s.MissingSince("r1", key("a")); ok {
		t.Fatalf("MissingSince of a fresh state reports a time")
	}
	s.SetMissing("r1", key("a"), t0())
	s.SetMissing("r1", key("a"), t0().Add(time.Minute)) // the first time stays
	s.SetMissing("r2", key("a"), t0().Add(time.Hour))
	if at, ok := s.MissingSince("r1", key("a")); !ok || !at.Equal(t0()) {
		t.Errorf("MissingSince(r1, a) = %s, %v; want %s (set once)", at, ok, t0())
	}
	if at, ok := s.MissingSince("r2", key("a")); !ok || !at.Equal(t0().Add(time.Hour)) {
		t.Errorf("MissingSince(r2, a) = %s, %v; want per room", at, ok)
	}
	if _, ok := s.MissingSince("r1", key("b")); ok {
		t.Errorf("MissingSince(r1, b) reports a time for a stream never missing")
	}
	s.ClearMissing("r1", key("a"))
	if _, ok := s.MissingSince("r1", key("a")); ok {
		t.Errorf("ClearMissing(r1, a) did not forget it")
	}
	if _, ok := s.MissingSince("r2", key("a")); !ok {
		t.Errorf("ClearMissing(r1, a) also forgot r2")
	}
	s.SetMissing("r1", key("a"), t0().Add(2*time.Hour))
	if at, _ := s.MissingSince("r1", key("a")); !at.Equal(t0().Add(2 * time.Hour)) {
		t.Errorf("after ClearMissing a new grace starts: got %s", at)
	}
}

// TestStateConcurrentSaves: workers record rooms and save at the same time,
// as the engine's workers do; once all Saves returned, the file must hold
// every room (a Save that marshalled older data must not rename last).
func TestStateConcurrentSaves(t *testing.T) {
	for round := 0; round < 20; round++ {
		path := filepath.Join(t.TempDir(), "state.json")
		s := loadState(t, path, "agent-1")
		const n = 16
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.SetRoom(fmt.Sprintf("room-%02d", i), "id", t0())
				if err := s.Save(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if got := len(loadState(t, path, "agent-1").Rooms()); got != n {
			t.Fatalf("round %d: the file holds %d rooms after every Save returned, want %d", round, got, n)
		}
	}
}

func TestPruneMissing(t *testing.T) {
	st, _ := LoadState("", "agent")
	at := t0()
	st.SetMissing("a|b", key("x"), at) // a room name with the separator in it
	st.SetMissing("a", key("y"), at)
	st.SetMissing("c", key("z"), at)
	st.PruneMissing([]RoomStream{{Room: "a|b", Key: key("x")}, {Room: "c", Key: key("other")}})
	if _, ok := st.MissingSince("a|b", key("x")); !ok {
		t.Error("a kept entry was pruned")
	}
	for _, rs := range []RoomStream{{"a", key("y")}, {"c", key("z")}} {
		if _, ok := st.MissingSince(rs.Room, rs.Key); ok {
			t.Errorf("entry %v of a gone input was kept", rs)
		}
	}
	if n := st.MissingCount(); n != 1 {
		t.Errorf("MissingCount = %d, want 1", n)
	}
}
