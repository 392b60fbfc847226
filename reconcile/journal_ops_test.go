package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// savedDoc decodes what the journal last wrote to mem.
func savedDoc(t *testing.T, mem *store.Memory) journalDoc {
	t.Helper()
	b, err := mem.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var d journalDoc
	if len(b) > 0 {
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("saved journal %q: %v", b, err)
		}
	}
	return d
}

// Every change is written by the next Commit; a call that changes nothing
// writes nothing.
func TestJournalChangesAreCommitted(t *testing.T) {
	k := key("cam")
	for _, tc := range []struct {
		name    string
		setup   func(j *Journal)
		change  func(j *Journal)
		writes  bool
		checkIn func(d journalDoc) bool
	}{
		{name: "SetRoom", change: func(j *Journal) { j.SetRoom("r", "1", t0()) }, writes: true,
			checkIn: func(d journalDoc) bool { return d.Rooms["r"].ID == "1" }},
		{name: "ForgetRoom", setup: func(j *Journal) { j.SetRoom("r", "1", t0()) }, change: func(j *Journal) { j.ForgetRoom("r") }, writes: true,
			checkIn: func(d journalDoc) bool { _, ok := d.Rooms["r"]; return !ok }},
		{name: "ForgetRoom of an unknown room", change: func(j *Journal) { j.ForgetRoom("r") }},
		{name: "SetMissing", change: func(j *Journal) { j.SetMissing("r", k, t0()) }, writes: true,
			checkIn: func(d journalDoc) bool { return d.Missing[missingKey("r", k)].Equal(t0()) }},
		{name: "SetMissing again keeps the first time", setup: func(j *Journal) { j.SetMissing("r", k, t0()) },
			change: func(j *Journal) { j.SetMissing("r", k, t0().Add(time.Hour)) }},
		{name: "ClearMissing", setup: func(j *Journal) { j.SetMissing("r", k, t0()) }, change: func(j *Journal) { j.ClearMissing("r", k) }, writes: true,
			checkIn: func(d journalDoc) bool { return len(d.Missing) == 0 }},
		{name: "ClearMissing of nothing", change: func(j *Journal) { j.ClearMissing("r", k) }},
		{name: "PruneMissing", setup: func(j *Journal) { j.SetMissing("r", k, t0()); j.SetMissing("r", key("x"), t0()) },
			change: func(j *Journal) { j.PruneMissing([]RoomStream{{"r", k}}) }, writes: true,
			checkIn: func(d journalDoc) bool { _, ok := d.Missing[missingKey("r", k)]; return ok && len(d.Missing) == 1 }},
		{name: "PruneMissing keeping all", setup: func(j *Journal) { j.SetMissing("r", k, t0()) },
			change: func(j *Journal) { j.PruneMissing([]RoomStream{{"r", k}}) }},
		{name: "RoomCreated", setup: func(j *Journal) {
			_ = j.Begin(context.Background(), Intent{ID: "i1", Kind: IntentRoom, Room: "r", At: t0()})
			_ = j.Begin(context.Background(), Intent{ID: "i2", Kind: IntentRoom, Room: "q", At: t0()})
		}, change: func(j *Journal) { j.RoomCreated("i1", "r", "1", t0()) }, writes: true,
			checkIn: func(d journalDoc) bool {
				return d.Rooms["r"].ID == "1" && len(d.Intents) == 1 && d.Intents[0].ID == "i2"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := &store.Memory{}
			j, err := OpenJournal(context.Background(), mem, "agent")
			if err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(j)
			}
			if err := j.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			saves := 0
			j.OnSave = func(error) { saves++ }
			tc.change(j)
			if j.Dirty() != tc.writes {
				t.Errorf("dirty %v, want %v", j.Dirty(), tc.writes)
			}
			if err := j.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			if (saves == 1) != tc.writes || saves > 1 {
				t.Errorf("%d writes, want %v", saves, tc.writes)
			}
			if tc.checkIn != nil && !tc.checkIn(savedDoc(t, mem)) {
				t.Errorf("saved journal %+v", savedDoc(t, mem))
			}
			if j.Dirty() {
				t.Error("dirty after Commit")
			}
		})
	}
}

// A closed intent is written lazily: with the next write or Flush.
func TestJournalEndLazyThenFlush(t *testing.T) {
	mem := &store.Memory{}
	j, _ := OpenJournal(context.Background(), mem, "agent")
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := j.Begin(ctx, Intent{ID: id, Kind: IntentInput, Room: "r", At: t0()}); err != nil {
			t.Fatal(err)
		}
	}
	j.End("b")
	j.End("nope")
	var ids []string
	for _, in := range j.Intents() {
		ids = append(ids, in.ID)
	}
	assertStrings(t, "open intents", ids, []string{"a", "c"})
	if !j.Dirty() {
		t.Error("a closed intent not written yet is not dirty")
	}
	_ = j.Commit(ctx)
	if d := savedDoc(t, mem); len(d.Intents) != 3 {
		t.Errorf("Commit wrote the lazy close: %d intents saved", len(d.Intents))
	}
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if d := savedDoc(t, mem); len(d.Intents) != 2 || d.Intents[0].ID != "a" || d.Intents[1].ID != "c" {
		t.Errorf("Flush did not write the close: %+v", d.Intents)
	}
	if j.Dirty() {
		t.Error("dirty after Flush")
	}
	saves := 0
	j.OnSave = func(error) { saves++ }
	if err := j.Flush(ctx); err != nil || saves != 0 {
		t.Errorf("a Flush with nothing to write wrote %d times (%v)", saves, err)
	}
}

// A failed Begin drops its intent and reports the failure.
func TestJournalBeginFails(t *testing.T) {
	mem := &store.Memory{}
	j, _ := OpenJournal(context.Background(), mem, "agent")
	mem.Fail(errors.New("disk full"))
	if err := j.Begin(context.Background(), Intent{ID: "a", Kind: IntentRoom, Room: "r", At: t0()}); err == nil {
		t.Fatal("Begin succeeded on a failing store")
	}
	if len(j.Intents()) != 0 {
		t.Error("intent kept after a failed Begin")
	}
	if _, ok := j.RoomIntent("r"); ok {
		t.Error("room intent kept after a failed Begin")
	}
}

func TestJournalRoomsSorted(t *testing.T) {
	j := testJournal(t)
	if r := j.Rooms(); r == nil || len(r) != 0 {
		t.Errorf("empty journal rooms %#v, want an empty list", r)
	}
	for _, n := range []string{"c", "a", "b"} {
		j.SetRoom(n, "id-"+n, t0())
	}
	assertStrings(t, "rooms", j.Rooms(), []string{"a", "b", "c"})
}

func TestJournalRoomIntent(t *testing.T) {
	j := testJournal(t)
	ctx := context.Background()
	_ = j.Begin(ctx, Intent{ID: "in", Kind: IntentInput, Room: "r", At: t0()})
	if _, ok := j.RoomIntent("r"); ok {
		t.Error("an input intent taken for a room intent")
	}
	_ = j.Begin(ctx, Intent{ID: "rm", Kind: IntentRoom, Room: "r", At: t0(), SeenIDs: []string{"x"}})
	in, ok := j.RoomIntent("r")
	if !ok || in.ID != "rm" || !reflect.DeepEqual(in.SeenIDs, []string{"x"}) {
		t.Errorf("room intent %+v %v", in, ok)
	}
	in.SeenIDs[0] = "changed"
	if again, _ := j.RoomIntent("r"); again.SeenIDs[0] != "x" {
		t.Error("RoomIntent shares its SeenIDs with the journal")
	}
	if _, ok := j.RoomIntent("other"); ok {
		t.Error("intent found for another room")
	}
}

// Room intents are settled only by a listing begun long enough after the
// create; the room of that name not seen before is adopted, the others
// reported; without one, the create did not happen.
func TestResolveRoomIntentsCases(t *testing.T) {
	at := t0()
	for _, tc := range []struct {
		name        string
		listedAt    time.Time
		rooms       []owtapi.Room
		owned       bool // the journal already records the room
		only        string
		want        []RoomResolution
		wantOpen    bool
		wantRoomID  string
		wantLogPart string
	}{
		{name: "listing too early", listedAt: at.Add(time.Second), rooms: []owtapi.Room{{ID: "new", Name: "r"}}, wantOpen: true},
		{name: "settled exactly", listedAt: at.Add(2 * time.Second), rooms: []owtapi.Room{{ID: "new", Name: "r"}},
			want: []RoomResolution{{Room: "r", Adopted: "new"}}, wantRoomID: "new", wantLogPart: "WARN adopted a room"},
		{name: "several new rooms", listedAt: at.Add(time.Minute), rooms: []owtapi.Room{{ID: "seen", Name: "r"}, {ID: "n2", Name: "r"}, {ID: "n1", Name: "r"}},
			want: []RoomResolution{{Room: "r", Adopted: "n1", Others: []string{"n2"}}}, wantRoomID: "n1", wantLogPart: "WARN other new rooms of this name appeared meanwhile"},
		{name: "no new room", listedAt: at.Add(time.Minute), rooms: []owtapi.Room{{ID: "seen", Name: "r"}},
			want: []RoomResolution{{Room: "r"}}, wantLogPart: "INFO room create of unknown outcome did not happen"},
		{name: "already recorded", listedAt: at.Add(time.Minute), owned: true, rooms: []owtapi.Room{{ID: "new", Name: "r"}}, wantRoomID: "mine"},
		{name: "another room only", listedAt: at.Add(time.Minute), only: "q", rooms: []owtapi.Room{{ID: "new", Name: "r"}}, wantOpen: true},
		{name: "this room only", listedAt: at.Add(time.Minute), only: "r", rooms: []owtapi.Room{{ID: "new", Name: "r"}},
			want: []RoomResolution{{Room: "r", Adopted: "new"}}, wantRoomID: "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := testJournal(t)
			if tc.owned {
				j.SetRoom("r", "mine", at)
			}
			_ = j.Begin(context.Background(), Intent{ID: "i", Kind: IntentRoom, Room: "r", At: at, SeenIDs: []string{"seen"}})
			_ = j.Begin(context.Background(), Intent{ID: "x", Kind: IntentInput, Room: "r", At: at})
			got := j.ResolveRoomIntents(listing(tc.listedAt, tc.rooms...), tc.only, 2*time.Second)
			for i := range got {
				if len(got[i].Others) == 0 {
					got[i].Others = nil
				}
			}
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("resolutions %+v, want %+v", got, tc.want)
			}
			_, open := j.RoomIntent("r")
			if open != tc.wantOpen {
				t.Errorf("intent open %v, want %v", open, tc.wantOpen)
			}
			if n := len(j.Intents()); n != 1+map[bool]int{true: 1}[tc.wantOpen] {
				t.Errorf("%d intents open; the input intent must stay", n)
			}
			rec, owned := j.Room("r")
			if owned != (tc.wantRoomID != "") || rec.ID != tc.wantRoomID {
				t.Errorf("room %+v %v, want %q", rec, owned, tc.wantRoomID)
			}
			if tc.wantRoomID == "new" && !rec.Created.Equal(tc.listedAt) {
				t.Errorf("adopted room created %v, want the listing's time", rec.Created)
			}
			if tc.wantLogPart != "" {
				logs := &recLog{}
				for _, r := range got {
					r.log(slog.New(logs))
				}
				if !logs.has(tc.wantLogPart, "room=r") {
					t.Errorf("resolution not logged as %q:\n%s", tc.wantLogPart, logs)
				}
				if others := logs.has("other new rooms"); others != (len(tc.want) > 0 && len(tc.want[0].Others) > 0) {
					t.Errorf("other rooms logged %v:\n%s", others, logs)
				}
			}
		})
	}
}

func TestOpenJournalVersions(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		wantErr string
		dirty   bool
	}{
		{doc: `{"version":0,"agent":"agent"}`, wantErr: "no version"},
		{doc: `{"version":1,"agent":"agent","rooms":{"r":{"id":"1"}}}`, dirty: true},
		{doc: `{"version":2,"agent":"agent","rooms":{"r":{"id":"1"}}}`},
		{doc: `{"version":2,"rooms":{"r":{"id":"1"}}}`, dirty: true},
		{doc: `{"version":3,"agent":"agent"}`, wantErr: "newer"},
		{doc: "  \n", dirty: false},
	} {
		mem := &store.Memory{}
		_ = mem.Save(context.Background(), []byte(tc.doc))
		j, err := OpenJournal(context.Background(), mem, "agent")
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.doc, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.doc, err)
			continue
		}
		if j.Dirty() != tc.dirty {
			t.Errorf("%s: dirty %v, want %v (upgraded in place)", tc.doc, j.Dirty(), tc.dirty)
		}
		_ = j.Commit(context.Background())
		if strings.TrimSpace(tc.doc) == "" {
			continue
		}
		if d := savedDoc(t, mem); d.Version != JournalVersion || d.Agent != "agent" || d.Rooms["r"].ID != "1" {
			t.Errorf("%s: saved %+v", tc.doc, d)
		}
	}
}
