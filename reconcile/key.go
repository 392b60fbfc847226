package reconcile

import (
	"encoding/json"
	"fmt"
	"strings"
)

// StreamKey names one SRS stream across servers: the SRS server name from
// agent.yaml, the vhost NAME, the app and the stream name.
type StreamKey struct {
	Server string `json:"server"`
	Vhost  string `json:"vhost"`
	App    string `json:"app"`
	Stream string `json:"stream"`
}

// String renders the key as server/vhost/app/stream.
func (k StreamKey) String() string {
	return k.Server + "/" + k.Vhost + "/" + k.App + "/" + k.Stream
}

// ParseStreamKey is the inverse of String.
func ParseStreamKey(s string) (StreamKey, error) {
	p := strings.SplitN(s, "/", 4)
	if len(p) != 4 || p[1] == "" || p[2] == "" || p[3] == "" {
		return StreamKey{}, fmt.Errorf("stream key %q: want server/vhost/app/stream", s)
	}
	return StreamKey{Server: p[0], Vhost: p[1], App: p[2], Stream: p[3]}, nil
}

// Ownership attributes written into every streaming-in the agent creates. OWT
// stores them verbatim and returns them in info.attributes.
const (
	attrRoot   = "srs-owt-proxy"
	attrAgent  = "agent"
	attrStream = "stream"
	attrParam  = "param"
	attrURL    = "url"
	attrOp     = "op"
)

// Attributes builds the attributes of a streaming-in owned by agent.
func Attributes(agent string, key StreamKey, param, url, op string) map[string]any {
	return map[string]any{attrRoot: map[string]any{
		attrAgent:  agent,
		attrStream: key.String(),
		attrParam:  param,
		attrURL:    url,
		attrOp:     op,
	}}
}

// Ownership is what the attributes of a streaming-in say about its owner.
type Ownership struct {
	Agent string
	Key   StreamKey
	Param string
	URL   string
	Op    string
}

// ParseAttributes reads the ownership attributes; ok is false when the stream
// does not carry them (not created by any srs-owt-proxy).
func ParseAttributes(attrs map[string]any) (Ownership, bool) {
	root, ok := attrs[attrRoot].(map[string]any)
	if !ok {
		return Ownership{}, false
	}
	str := func(k string) string { s, _ := root[k].(string); return s }
	key, err := ParseStreamKey(str(attrStream))
	if err != nil || str(attrAgent) == "" {
		return Ownership{}, false
	}
	return Ownership{Agent: str(attrAgent), Key: key, Param: str(attrParam), URL: str(attrURL), Op: str(attrOp)}, true
}

// ownAttributes is the agent's block of a streaming-in's attributes.
type ownAttributes struct {
	Root *struct {
		Agent  string `json:"agent"`
		Stream string `json:"stream"`
		Param  string `json:"param"`
		URL    string `json:"url"`
		Op     string `json:"op"`
	} `json:"srs-owt-proxy"`
}

// ParseRawAttributes is ParseAttributes on undecoded attributes; it decodes
// only the agent's own block, into a struct.
func ParseRawAttributes(raw []byte) (Ownership, bool) {
	if len(raw) == 0 {
		return Ownership{}, false
	}
	var v ownAttributes
	if json.Unmarshal(raw, &v) != nil || v.Root == nil || v.Root.Agent == "" {
		return Ownership{}, false
	}
	key, err := ParseStreamKey(v.Root.Stream)
	if err != nil {
		return Ownership{}, false
	}
	return Ownership{Agent: v.Root.Agent, Key: key, Param: v.Root.Param, URL: v.Root.URL, Op: v.Root.Op}, true
}
