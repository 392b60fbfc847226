package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// LoadState opens the journal of a state file (memory when path is ""),
// as a writer, without holding its lock: tests reopen the same file.
func LoadState(path, agent string) (*Journal, error) {
	var st Store = &store.Memory{}
	if path != "" {
		st = unlockedFile{store.ReadFile(path), path}
	}
	return OpenJournal(context.Background(), st, agent)
}

// unlockedFile is a store.File that writes without taking the lock.
type unlockedFile struct {
	*store.File
	path string
}

func (u unlockedFile) Save(ctx context.Context, b []byte) error {
	f, err := store.OpenFile(u.path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Save(ctx, b)
}

func loadState(t *testing.T, path, agent string) *Journal {
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
	if err := s.Commit(context.Background()); err != nil {
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
	if raw["version"] != float64(2) || raw["agent"] != "agent-1" {
		t.Errorf("file header = version %v agent %v; want 2 and agent-1", raw["version"], raw["agent"])
	}
}

func TestStateSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s := loadState(t, path, "agent-1")
	for i := 0; i < 3; i++ {
		s.SetRoom("room", "id", t0().Add(time.Duration(i)*time.Second))
		if err := s.Commit(context.Background()); err != nil {
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
	if !reflect.DeepEqual(names, []string{"state.json", "state.json.lock"}) {
		t.Errorf("directory holds %q, want only state.json and its lock (no temp files left)", names)
	}
}

func TestStateSaveOnlyWhenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := loadState(t, path, "agent-1")
	s.ForgetRoom("never-created")
	s.ClearMissing("room", key("a"))
	if err := s.Commit(context.Background()); err != nil {
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
	err := s.Commit(context.Background())
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Save into a missing directory: err = %v, want one naming %s", err, path)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(context.Background()); err != nil {
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
		{"null", write("null.json", "null\n"), []string{"null.json", "holds null", "move it away"}},
		{"no version", write("bare.json", `{"agent":"agent-1","rooms":{}}`), []string{"bare.json", "no version"}},
		{"newer version", write("v3.json", `{"version":3,"agent":"agent-1","rooms":{}}`), []string{"v3.json", "version 3", "newer"}},
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
			if err := s.Commit(context.Background()); err != nil {
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
				if err := s.Commit(context.Background()); err != nil {
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

// TestJournalUpgradesV1: a state file written by the version 1 agent
// (testdata/state-v1.json, saved by that code) loads with its rooms and
// grace records and is rewritten in place as version 2 at the first commit.
func TestJournalUpgradesV1(t *testing.T) {
	v1, err := os.ReadFile("testdata/state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(context.Background(), f, "srs-owt-proxy")
	if err != nil {
		t.Fatal(err)
	}
	if rec, ok := j.Room("event main/hall"); !ok || rec.ID != "6790f0aa1c2b3d4e5f607183" {
		t.Errorf("room of the v1 file: %+v, %v", rec, ok)
	}
	k := StreamKey{Server: "origin", Vhost: "__defaultVhost__", App: "live", Stream: "class-b"}
	if at, ok := j.MissingSince("live-class-a", k); !ok || !at.Equal(time.Date(2026, 11, 20, 9, 32, 0, 0, time.UTC)) {
		t.Errorf("grace record of the v1 file: %s, %v", at, ok)
	}
	if !j.Dirty() {
		t.Fatalf("a v1 journal must be marked for rewriting")
	}
	if err := j.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Version int                       `json:"version"`
		Rooms   map[string]map[string]any `json:"rooms"`
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Version != JournalVersion || len(raw.Rooms) != 2 {
		t.Errorf("after upgrade the file has version %d and %d rooms, want %d and 2:\n%s", raw.Version, len(raw.Rooms), JournalVersion, b)
	}
	// A current file is not rewritten for nothing.
	f2, _ := store.OpenFile(path)
	j2, err := OpenJournal(context.Background(), f2, "srs-owt-proxy")
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close(context.Background())
	if j2.Dirty() {
		t.Errorf("a version %d journal is marked dirty on load", JournalVersion)
	}
}

// TestJournalIntents: Begin is durable before it returns; End and
// RoomCreated close; a failed write drops the intent and says so.
func TestJournalIntents(t *testing.T) {
	ctx := context.Background()
	mem := &store.Memory{}
	j, err := OpenJournal(ctx, mem, "a")
	if err != nil {
		t.Fatal(err)
	}
	room := Intent{ID: "i1", Kind: IntentRoom, Room: "r", At: t0(), SeenIDs: []string{"old"}}
	input := Intent{ID: "i2", Kind: IntentInput, Room: "r", Stream: key("x"), Op: "i2", At: t0()}
	for _, in := range []Intent{room, input} {
		if err := j.Begin(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	// Durable: a journal opened on the store now (a restart) has both.
	re, err := OpenJournal(ctx, mem, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got := re.Intents(); len(got) != 2 || got[0].Kind != IntentRoom || got[0].SeenIDs[0] != "old" || got[1].Stream != key("x") {
		t.Fatalf("intents after a restart: %+v", got)
	}
	if in, ok := re.RoomIntent("r"); !ok || in.ID != "i1" {
		t.Errorf("RoomIntent(r) = %+v, %v", in, ok)
	}
	j.RoomCreated("i1", "r", "new", t0())
	j.End("i2")
	j.End("unknown")
	if err := j.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	re, _ = OpenJournal(ctx, mem, "a")
	if got := re.Intents(); len(got) != 0 {
		t.Errorf("closed intents survive: %+v", got)
	}
	if rec, ok := re.Room("r"); !ok || rec.ID != "new" {
		t.Errorf("RoomCreated did not record the room: %+v %v", rec, ok)
	}

	var saved []error
	j.OnSave = func(err error) { saved = append(saved, err) }
	boom := errors.New("disk full")
	mem.Fail(boom)
	if err := j.Begin(ctx, Intent{ID: "i3", Kind: IntentInput, Room: "r", Stream: key("y")}); !errors.Is(err, boom) {
		t.Fatalf("Begin with a failing store: err = %v", err)
	}
	if got := j.Intents(); len(got) != 0 {
		t.Errorf("an intent that was not recorded stays open: %+v", got)
	}
	if len(saved) != 1 || !errors.Is(saved[0], boom) {
		t.Errorf("OnSave saw %v, want the failure", saved)
	}
	mem.Fail(nil)
	if err := j.Commit(ctx); err != nil || len(saved) != 2 || saved[1] != nil {
		t.Errorf("Commit after the store healed: %v (OnSave %v)", err, saved)
	}
}

// TestResolveRoomIntents: a listing adopts the room an open create made
// (a room of that name not seen before), releases a create that made
// none, and leaves intents too young for the listing open.
func TestResolveRoomIntents(t *testing.T) {
	ctx := context.Background()
	rooms := []owtapi.Room{{ID: "a-old", Name: "a"}, {ID: "a-new", Name: "a"}, {ID: "b-old", Name: "b"}, {ID: "d-new2", Name: "d"}, {ID: "d-new1", Name: "d"}}
	tests := []struct {
		name     string
		intent   Intent
		listedAt time.Time
		adopted  string // "" = released, "-" = still open
		others   int
	}{
		{"made", Intent{Room: "a", SeenIDs: []string{"a-old"}}, t0().Add(time.Minute), "a-new", 0},
		{"not made", Intent{Room: "b", SeenIDs: []string{"b-old"}}, t0().Add(time.Minute), "", 0},
		{"room never existed", Intent{Room: "c"}, t0().Add(time.Minute), "", 0},
		{"two new rooms: lowest id is ours", Intent{Room: "d"}, t0().Add(time.Minute), "d-new1", 1},
		{"too young", Intent{Room: "a", SeenIDs: []string{"a-old"}}, t0().Add(time.Second), "-", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, _ := OpenJournal(ctx, &store.Memory{}, "agent")
			in := tt.intent
			in.ID, in.Kind, in.At = "i", IntentRoom, t0()
			if err := j.Begin(ctx, in); err != nil {
				t.Fatal(err)
			}
			ix := IndexRooms(rooms)
			ix.ListedAt = tt.listedAt
			res := j.ResolveRoomIntents(ix, "", 2*time.Second)
			_, open := j.RoomIntent(in.Room)
			rec, owned := j.Room(in.Room)
			switch tt.adopted {
			case "-":
				if !open || len(res) != 0 || owned {
					t.Errorf("a too young intent was resolved: %+v", res)
				}
			case "":
				if open || owned || len(res) != 1 || res[0].Adopted != "" {
					t.Errorf("released: open %v owned %v res %+v", open, owned, res)
				}
			default:
				if open || !owned || rec.ID != tt.adopted || len(res) != 1 || res[0].Adopted != tt.adopted || len(res[0].Others) != tt.others {
					t.Errorf("adopted: open %v rec %+v res %+v, want %s", open, rec, res, tt.adopted)
				}
			}
		})
	}
}

// TestJournalEndIsLazy: closing an intent waits for the next write (a
// crash only makes the intent be resolved again), Flush writes it, and a
// write made for another change carries it along.
func TestJournalEndIsLazy(t *testing.T) {
	ctx := context.Background()
	mem := &store.Memory{}
	j, _ := OpenJournal(ctx, mem, "a")
	for _, id := range []string{"i1", "i2"} {
		if err := j.Begin(ctx, Intent{ID: id, Kind: IntentInput, Room: "r", Stream: key(id)}); err != nil {
			t.Fatal(err)
		}
	}
	var writes int
	j.OnSave = func(error) { writes++ }
	reopen := func() int {
		r, err := OpenJournal(ctx, mem, "a")
		if err != nil {
			t.Fatal(err)
		}
		return len(r.Intents())
	}
	j.End("i1")
	if !j.Dirty() {
		t.Errorf("a closed intent not yet written is not reported dirty")
	}
	if err := j.Commit(ctx); err != nil || writes != 0 || reopen() != 2 {
		t.Fatalf("Commit wrote a lazily closed intent: err %v, %d writes, %d intents on disk", err, writes, reopen())
	}
	if err := j.Flush(ctx); err != nil || writes != 1 || reopen() != 1 || j.Dirty() {
		t.Fatalf("Flush: err %v, %d writes, %d intents on disk, dirty %v", err, writes, reopen(), j.Dirty())
	}
	j.End("i2")
	j.SetMissing("r", key("x"), t0())
	if err := j.Commit(ctx); err != nil || writes != 2 || reopen() != 0 || j.Dirty() {
		t.Fatalf("a write for another change did not carry the closed intent: %d writes, %d on disk, dirty %v", writes, reopen(), j.Dirty())
	}
	if err := j.Flush(ctx); err != nil || writes != 2 {
		t.Errorf("Flush with nothing to write wrote (%d writes)", writes)
	}
}
