package reconcile

import (
	"testing"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/owtapi"
)

func TestLocate(t *testing.T) {
	created := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	st, _ := LoadState("", "agent")
	st.SetRoom("mine", "id-mine", created)
	st.SetRoom("gone", "id-gone", created)
	rooms := []owtapi.Room{
		{ID: "id-mine", Name: "mine", Views: []owtapi.View{{Label: "common"}}},
		{ID: "id-b", Name: "shared"}, {ID: "id-a", Name: "shared"},
	}
	cases := []struct {
		name     string
		listedAt time.Time
		want     ObservedRoom
	}{
		{"mine", created.Add(time.Minute), ObservedRoom{Name: "mine", ID: "id-mine", Exists: true, Owned: true, Views: []string{"common"}, Participants: -1}},
		// A listing lacking a room the agent created proves nothing (begun
		// before the create, or paged while rooms were deleted): the room
		// is located by its recorded id and ObserveRoom asks OWT for it.
		{"gone", created.Add(time.Minute), ObservedRoom{Name: "gone", ID: "id-gone", Exists: true, Owned: true, Participants: -1}},
		{"gone", created.Add(-time.Minute), ObservedRoom{Name: "gone", ID: "id-gone", Exists: true, Owned: true, Participants: -1}},
		{"gone", time.Time{}, ObservedRoom{Name: "gone", ID: "id-gone", Exists: true, Owned: true, Participants: -1}},
		// Not the agent's: the first room of that name by id, never owned.
		{"shared", created, ObservedRoom{Name: "shared", ID: "id-a", Exists: true, Views: []string{}, Participants: -1}},
		{"absent", created, ObservedRoom{Name: "absent", Participants: -1}},
	}
	for _, c := range cases {
		ix := IndexRooms(rooms)
		ix.ListedAt = c.listedAt
		got := ix.Locate(c.name, st)
		if got.Name != c.want.Name || got.ID != c.want.ID || got.Exists != c.want.Exists || got.Owned != c.want.Owned ||
			got.Participants != c.want.Participants || len(got.Views) != len(c.want.Views) {
			t.Errorf("Locate(%q, listed %v) = %+v, want %+v", c.name, c.listedAt, got, c.want)
		}
	}
}
