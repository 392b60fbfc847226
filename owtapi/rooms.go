package owtapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// roomPath returns /v1/rooms/{room} with room escaped.
func roomPath(room string) string { return "/v1/rooms/" + url.PathEscape(room) }

// ListRooms returns every room of the service. It pages with page/per_page
// until a page is shorter than Config.PageSize, and drops duplicate ids
// (rooms created or deleted meanwhile shift the pages). It also stops on a
// page that brings no new room, in case the server ignores paging.
func (c *Client) ListRooms(ctx context.Context) ([]Room, error) {
	size := c.cfg.PageSize
	seen := make(map[string]bool)
	rooms := []Room{}
	for page := 1; ; page++ {
		r := request{
			name: "list_rooms", op: "list rooms", method: http.MethodGet, path: "/v1/rooms",
			query: url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(size)}},
		}
		body, err := c.do(ctx, r)
		if err != nil {
			return nil, err
		}
		var docs []json.RawMessage
		if err := c.decode(r, body, &docs); err != nil {
			return nil, err
		}
		fresh := 0
		for _, d := range docs {
			room, err := decodeRoom(d)
			if err != nil {
				return nil, c.newError(r, http.StatusOK, 0, "cannot decode a room", err)
			}
			if room.ID != "" {
				if seen[room.ID] {
					continue
				}
				seen[room.ID] = true
				fresh++ // id-less rooms cannot prove progress
			}
			rooms = append(rooms, room)
		}
		if len(docs) < size || fresh == 0 {
			return rooms, nil
		}
	}
}

// CreateRoom creates a room named name; options (may be nil) is OWT's room
// options object (views, inputLimit, ...). Names are not unique in OWT.
func (c *Client) CreateRoom(ctx context.Context, name string, options map[string]any) (Room, error) {
	body := struct {
		Name    string         `json:"name"`
		Options map[string]any `json:"options,omitempty"`
	}{name, options}
	r := request{name: "create_room", op: "create room " + strconv.Quote(name), method: http.MethodPost, path: "/v1/rooms", body: body}
	return c.roomCall(ctx, r)
}

// GetRoom returns one room. OWT omits "id" here; ID is filled from "_id".
func (c *Client) GetRoom(ctx context.Context, room string) (Room, error) {
	r := request{name: "get_room", op: "get room", room: room, method: http.MethodGet, path: roomPath(room)}
	return c.roomCall(ctx, r)
}

// DeleteRoom deletes a room (OWT answers 200 "Room deleted"). A room that is
// already gone gives an error for which IsRoomNotFound is true.
func (c *Client) DeleteRoom(ctx context.Context, room string) error {
	r := request{name: "delete_room", op: "delete room", room: room, method: http.MethodDelete, path: roomPath(room)}
	_, err := c.do(ctx, r)
	return err
}

func (c *Client) roomCall(ctx context.Context, r request) (Room, error) {
	body, err := c.do(ctx, r)
	if err != nil {
		return Room{}, err
	}
	room, err := decodeRoom(body)
	if err != nil {
		return Room{}, c.newError(r, http.StatusOK, 0, "cannot decode the room", err)
	}
	return room, nil
}

// decodeRoom decodes one room document, keeps it in Raw and fills ID from
// "_id" when "id" is absent.
func decodeRoom(doc []byte) (Room, error) {
	var room Room
	if err := json.Unmarshal(doc, &room); err != nil {
		return Room{}, err
	}
	room.Raw = append(json.RawMessage(nil), doc...)
	if room.ID == "" {
		room.ID = room.MongoID
	}
	return room, nil
}
