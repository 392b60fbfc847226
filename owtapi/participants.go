package owtapi

import (
	"context"
	"net/http"
)

// ListParticipants lists who is in a room. A room with no active conference
// gives an empty list; an unknown room gives an error for which
// IsRoomNotFound is true.
func (c *Client) ListParticipants(ctx context.Context, room string) ([]Participant, error) {
	r := request{name: "list_participants", op: "list participants", room: room, method: http.MethodGet, path: roomPath(room) + "/participants"}
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	ps := []Participant{}
	if err := c.decode(r, body, &ps); err != nil {
		return nil, err
	}
	return ps, nil
}
