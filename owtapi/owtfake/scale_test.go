package owtfake

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// addStreamingInDirect creates a ready streaming-in without HTTP.
func addStreamingInDirect(s *Server, roomID, url string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[roomID]
	now := time.Now()
	id := s.ids.streamID()
	for r.streams[id] != nil {
		id = s.ids.streamID()
	}
	r.addStream(newStreamingIn(id, url, true, true, map[string]any{"owner": "agent"}, r, now, now))
	r.activate()
	s.created = append(s.created, CreateRecord{Service: r.service, Room: r.id, Stream: id, URL: url, Time: now})
	return id
}

func TestScale10000StreamsIn1000Rooms(t *testing.T) {
	const rooms, perRoom = 1000, 10
	e := newEnv(t, Options{})
	roomIDs := make([]string, rooms)
	for i := range roomIDs {
		roomIDs[i] = e.fake.CreateRoomDirect(testService, fmt.Sprintf("room-%d", i), nil)
		for j := 0; j < perRoom; j++ {
			// The first stream of every tenth room goes through HTTP.
			if j == 0 && i%10 == 0 {
				e.startIn(roomIDs[i], fmt.Sprintf(`{"connection":{"url":"rtmp://h/live/%d-%d"},"media":{"audio":"auto","video":"auto"}}`, i, j))
				continue
			}
			addStreamingInDirect(e.fake, roomIDs[i], fmt.Sprintf("rtmp://h/live/%d-%d", i, j))
		}
	}
	var all []struct {
		ID string `json:"_id"`
	}
	e.decode(e.do("GET", "/v1/rooms", ""), &all)
	if len(all) != rooms {
		t.Fatalf("listed %d rooms, want %d", len(all), rooms)
	}
	var page []struct {
		ID string `json:"_id"`
	}
	e.decode(e.do("GET", "/v1/rooms?per_page=100&page=10", ""), &page)
	if len(page) != 100 || page[99].ID != roomIDs[rooms-1] || all[0].ID != roomIDs[0] {
		t.Fatalf("last page: %d rooms", len(page))
	}

	var wg sync.WaitGroup
	errs := make(chan error, rooms)
	work := make(chan string)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				r := e.do("GET", "/v1/rooms/"+id+"/streams", "")
				var list []struct{ ID string }
				if r.status != 200 {
					errs <- fmt.Errorf("room %s: status %d", id, r.status)
					continue
				}
				if err := json.Unmarshal(r.body, &list); err != nil {
					errs <- fmt.Errorf("room %s: %v", id, err)
				} else if len(list) != perRoom+1 {
					errs <- fmt.Errorf("room %s: %d streams, want %d", id, len(list), perRoom+1)
				}
			}
		}()
	}
	for _, id := range roomIDs {
		work <- id
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := e.fake.Dump()
	total := 0
	for _, r := range st.Rooms {
		total += len(r.Streams)
	}
	if total != rooms*perRoom || len(st.Created) != rooms*perRoom {
		t.Fatalf("%d streams, %d creations, want %d", total, len(st.Created), rooms*perRoom)
	}
}
