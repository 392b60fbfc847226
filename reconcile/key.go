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

// ParseStreamKey is the inverse of String for the streams the agent routes:
// the server and vhost hold no '/', the app may (SRS 6 multi-level apps,
// "live/sub"), and the stream holds none (policy.NameProblem).
func ParseStreamKey(s string) (StreamKey, error) {
	p := strings.SplitN(s, "/", 3)
	if len(p) != 3 || p[1] == "" {
		return StreamKey{}, fmt.Errorf("stream key %q: want server/vhost/app/stream", clip(s))
	}
	i := strings.LastIndexByte(p[2], '/')
	if i <= 0 || i == len(p[2])-1 {
		return StreamKey{}, fmt.Errorf("stream key %q: want server/vhost/app/stream", clip(s))
	}
	return StreamKey{Server: p[0], Vhost: p[1], App: p[2][:i], Stream: p[2][i+1:]}, nil
}

// clip shortens a value quoted in a message to 128 bytes.
func clip(s string) string { return clipTo(s, 128) }

// Ownership attributes written into every streaming-in the agent creates. OWT
// stores them verbatim and returns them in info.attributes.
const (
	attrRoot   = "srs-owt-proxy"
	attrAgent  = "agent"
	attrStream = "stream"
	attrQuery  = "query"
	// attrLegacyParam is where versions before issue 9 wrote the whole
	// publish query, publish token included. It is never written now, and
	// never trusted: only what policy.StoredParam keeps of it is used.
	attrLegacyParam = "param"
	attrURL         = "url"
	attrOp          = "op"
)

// Attributes builds the attributes of a streaming-in owned by agent. query
// is what policy.AttributeParam keeps of the publish query (attributes.
// keep_params, never a token): OWT shows attributes to every participant.
// It is left out when empty.
func Attributes(agent string, key StreamKey, query, url, op string) map[string]any {
	own := map[string]any{
		attrAgent:  agent,
		attrStream: key.String(),
		attrURL:    url,
		attrOp:     op,
	}
	if query != "" {
		own[attrQuery] = query
	}
	return map[string]any{attrRoot: own}
}

// Ownership is what the attributes of a streaming-in say about its owner.
type Ownership struct {
	Agent string
	Key   StreamKey
	// Param is the kept publish query (the attribute "query").
	Param string
	URL   string
	Op    string
	// Legacy: the streaming-in was written before issue 9 with the whole
	// publish query (maybe a token) in its attributes; see legacy.
	Legacy bool
	legacy string
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
	return Ownership{Agent: str(attrAgent), Key: key, Param: str(attrQuery), URL: str(attrURL), Op: str(attrOp),
		Legacy: str(attrLegacyParam) != "", legacy: str(attrLegacyParam)}, true
}

// ownAttributes is the agent's block of a streaming-in's attributes.
type ownAttributes struct {
	Root *struct {
		Agent  string `json:"agent"`
		Stream string `json:"stream"`
		Query  string `json:"query"`
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
	return Ownership{Agent: v.Root.Agent, Key: key, Param: v.Root.Query, URL: v.Root.URL, Op: v.Root.Op,
		Legacy: v.Root.Param != "", legacy: v.Root.Param}, true
}
