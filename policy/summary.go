package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Summary describes the policy in one line for logs, e.g.
// "3 routes (1 route, 1 deny, 1 ignore), interval 30s, grace 10s".
func (p *Policy) Summary() string {
	counts := map[Action]int{}
	for _, r := range p.Routes {
		counts[r.Action]++
	}
	noun := "routes"
	if len(p.Routes) == 1 {
		noun = "route"
	}
	return fmt.Sprintf("%d %s (%d route, %d deny, %d ignore), interval %s, grace %s",
		len(p.Routes), noun, counts[ActionRoute], counts[ActionDeny], counts[ActionIgnore],
		p.Reconcile.Interval, p.Reconcile.DeleteGrace)
}

// Digest is the sha256 (hex) of the normalized policy: equal digests mean no
// real change (comments, key order and formatting do not count; a changed
// publish token does).
func (p *Policy) Digest() string {
	if p.digest == "" {
		p.digest = p.computeDigest()
	}
	return p.digest
}

// normalRoute is the canonical form of a route for the digest.
type normalRoute struct {
	Name        string         `json:"name"`
	Action      Action         `json:"action"`
	Match       []string       `json:"match"`
	Room        string         `json:"room"`
	Create      bool           `json:"create"`
	RoomOptions map[string]any `json:"room_options"`
	Views       []string       `json:"views"`
	PullURL     string         `json:"pull_url"`
	Media       Media          `json:"media"`
	Transport   string         `json:"transport"`
	BufferSize  int            `json:"buffer_size"`
	TokenEnv    string         `json:"token_env"`
	TokenHash   string         `json:"token_hash"` // sha256 of the value, never the value
	Outputs     []normalOutput `json:"outputs,omitempty"`
}

// normalOutput is the canonical form of one room output.
type normalOutput struct {
	URL    string `json:"url,omitempty"` // the template source
	Output Output `json:"output"`
}

// computeDigest hashes the canonical JSON of the parsed policy.
func (p *Policy) computeDigest() string {
	routes := make([]normalRoute, len(p.Routes))
	for i, r := range p.Routes {
		n := normalRoute{Name: r.Name, Action: r.Action, Create: r.create, RoomOptions: r.roomOptions,
			Views: r.views, Media: r.media, Transport: r.transport, BufferSize: r.bufferSize, TokenEnv: r.tokenEnv}
		m := r.match
		if m.hasVhost {
			n.Match = append(n.Match, "vhost="+m.vhost)
		}
		if m.hasApp {
			n.Match = append(n.Match, "app="+m.app)
		}
		if m.hasStream {
			n.Match = append(n.Match, "stream="+m.stream)
		}
		for _, q := range m.query {
			n.Match = append(n.Match, "query."+q.key+"="+q.glob)
		}
		if r.room != nil {
			n.Room = r.room.src
		}
		if r.pull != nil {
			n.PullURL = r.pull.src
		}
		for _, o := range r.outputs {
			x := o.out
			x.Line, x.Field = 0, ""
			n.Outputs = append(n.Outputs, normalOutput{URL: o.src, Output: x})
		}
		if r.token != "" {
			sum := sha256.Sum256([]byte(r.token))
			n.TokenHash = hex.EncodeToString(sum[:])
		}
		routes[i] = n
	}
	doc := struct {
		Reconcile  Reconcile     `json:"reconcile"`
		Defaults   Defaults      `json:"defaults"`
		Routes     []normalRoute `json:"routes"`
		KeepParams []string      `json:"keep_params,omitempty"`
	}{p.Reconcile, p.Defaults, routes, p.Attributes.KeepParams}
	b, err := json.Marshal(doc)
	// Equivalent mutant: negating this if digests the %#v form instead,
	// which is as deterministic and changes with the same content.
	if err != nil {
		// Only JSON-ready values are stored, so this does not happen; fall
		// back to a value that still changes with the content.
		b = []byte(fmt.Sprintf("%#v", doc))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
