package reconcile

import (
	"fmt"
	"reflect"
	"testing"
)

// OutputRooms and Outputs answer in a stable order (rooms by name, a
// room's outputs by id), whatever the order of the records.
func TestJournalOutputsOrder(t *testing.T) {
	j := testJournal(t)
	rooms := []string{"h", "c", "a", "g", "e", "b", "f", "d"}
	for i, r := range rooms {
		for _, id := range []string{"o3", "o1", "o2"} {
			j.OutputStarted("", r, OutputRecord{ID: id, Key: fmt.Sprintf("rtmp://x/%s/%d", r, i), URL: "rtmp://x/" + r})
		}
	}
	if got, want := j.OutputRooms(), []string{"a", "b", "c", "d", "e", "f", "g", "h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("OutputRooms() = %v, want %v", got, want)
	}
	var ids []string
	for _, rec := range j.Outputs("c") {
		ids = append(ids, rec.ID)
	}
	if want := []string{"o1", "o2", "o3"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Outputs(c) ids %v, want %v", ids, want)
	}
	if n := j.OwnedOutputs(); n != 24 {
		t.Errorf("OwnedOutputs() = %d, want 24", n)
	}
}
