package policy

import (
	"net/url"
	"time"
)

// Action is what a route does with a matching stream.
type Action string

// Route actions.
const (
	ActionRoute  Action = "route"
	ActionIgnore Action = "ignore"
	ActionDeny   Action = "deny"
)

// Agent is agent.yaml: what needs a restart to change.
type Agent struct {
	SRS    []SRSServer  `yaml:"srs"`
	OWT    OWT          `yaml:"owt"`
	Hooks  Hooks        `yaml:"hooks"`
	Agent  AgentSection `yaml:"agent"`
	Policy string       `yaml:"-"` // resolved path of the policy file ("" when inline)
	// InlinePolicy is set when agent.yaml carries a `policy:` mapping instead of a path.
	InlinePolicy *Policy `yaml:"-"`
	File         string  `yaml:"-"` // the file it was loaded from
}

// SRSServer is one SRS origin the agent reads and OWT pulls from.
type SRSServer struct {
	Name     string `yaml:"name"`
	API      string `yaml:"api"`
	Username string `yaml:"username"`
	Password string `yaml:"-"` // from password_env / password_file
	Pull     string `yaml:"pull"`
}

// OWT is the OWT management API connection.
type OWT struct {
	URL        string `yaml:"url"`
	ServiceID  string `yaml:"service_id"`
	ServiceKey string `yaml:"-"` // from service_key_env / service_key_file; never logged
	CAFile     string `yaml:"ca_file"`
	// InsecureSkipVerify disables TLS verification (OWT ships a self-signed cert).
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify"`
	Timeout            time.Duration `yaml:"-"` // timeout, default 10s
	StreamingInTimeout time.Duration `yaml:"-"` // streaming_in_timeout, default 100s
	// PendingHold (pending_hold): after a streaming-in POST whose outcome is
	// unknown (timeout, dropped connection), how long OWT may still create
	// the stream; the agent does not start it again meanwhile unless a
	// listing shows it. Must exceed OWT's own processing limit (90 s).
	PendingHold time.Duration `yaml:"-"`
	// RateLimit caps requests per second to OWT (rate_limit; 0 = no cap).
	RateLimit int `yaml:"-"`
}

// Hooks is the hook server.
type Hooks struct {
	Listen string   `yaml:"listen"`
	Token  string   `yaml:"-"`     // from token_env / token_file; never logged
	Allow  []string `yaml:"allow"` // CIDRs; empty means any source
	// HintTTL: how long an on_publish hook stands for a stream SRS does not
	// list yet (SRS calls the hook before the stream is active).
	HintTTL time.Duration `yaml:"hint_ttl"`
}

// AgentSection is the agent's own identity and files.
type AgentSection struct {
	ID            string `yaml:"id"`
	StateFile     string `yaml:"state_file"`
	MetricsListen string `yaml:"metrics_listen"`
	// PolicyReloadCheck (policy_reload_check): how often the policy file is
	// re-read in case a change event was missed (some mounts give none).
	// Default DefaultPolicyReloadCheck.
	PolicyReloadCheck time.Duration `yaml:"-"`
	// PProf (pprof: true) mounts net/http/pprof under /debug/pprof/ on the
	// metrics listener. Off by default.
	PProf bool `yaml:"pprof"`
}

// Policy is policy.yaml, hot-reloaded.
type Policy struct {
	Reconcile Reconcile `yaml:"reconcile"`
	Defaults  Defaults  `yaml:"defaults"`
	Routes    []*Route  `yaml:"routes"`
	// Attributes says what may be written into OWT stream attributes.
	Attributes Attributes `yaml:"attributes"`
	File       string     `yaml:"-"`

	digest   string        // sha256 of the normalized content, set by the parser
	warnings Errors        // see Warnings
	loops    []loopPattern // streams the outputs push (see IsOutputTarget)
}

// Reconcile tunes the engine and its safety rules.
type Reconcile struct {
	Interval    time.Duration // default 30s
	DeleteGrace time.Duration // default 10s
	MaxDeletes  int           // default 50
	AllowEmpty  bool          // default false
	Concurrency int           // default 8
	// OneInputPer says what one stream is when several SRS servers list
	// it: InputPerStream (default) mixes a vhost/app/stream once across
	// servers, pulled from the server that has it; InputPerServer mixes
	// each server's copy as its own input.
	OneInputPer string
}

// Values of Reconcile.OneInputPer.
const (
	InputPerStream = "stream"
	InputPerServer = "server"
)

// PerServer reports whether each server's copy of a stream is its own input.
func (r Reconcile) PerServer() bool { return r.OneInputPer == InputPerServer }

// Media selects tracks: each value is "auto", true or false.
type Media struct {
	Audio any
	Video any
}

// Defaults apply to every route that does not say otherwise.
type Defaults struct {
	Views      []string
	Media      Media
	Transport  string // tcp | udp
	BufferSize int
}

// Route is one rule of the policy (compiled; templates parsed).
type Route struct {
	Line   int // line in the policy file, for messages
	Action Action
	Name   string // optional label from the file, for logs
	// the rest is implementation detail of the package
	index       int
	field       string // routes[i], for messages
	file        string
	match       matcher
	room        *tmpl // nil unless Action is route
	roomLine    int
	pullLine    int // line of pull_url, or of the route for the default URL
	create      bool
	roomOptions map[string]any // final creation options (views injected); nil unless create
	views       []string
	pull        *tmpl // nil: the default pull URL
	media       Media
	transport   string
	bufferSize  int
	tokenEnv    string
	token       string        // secret
	outputs     []*outputSpec // room.outputs
}

// Input is what a published stream looks like to the policy.
type Input struct {
	Server   string // SRS server name from agent.yaml
	PullBase string // that server's pull base, e.g. rtmp://127.0.0.1:1935
	Vhost    string // vhost NAME
	App      string
	Stream   string
	Param    url.Values // the publish query (may be empty when unknown)
}

// Target is where the policy sends a stream.
type Target struct {
	Action      Action
	Route       int // index of the matching route; -1 when none matched (treated as ignore)
	Room        string
	Create      bool           // the agent may create (and so own) the room
	RoomOptions map[string]any // options for POST /v1/rooms when created
	Views       []string
	PullURL     string
	Media       Media
	Transport   string
	BufferSize  int
	Token       string // expected publish token ("" = none); secret
	// Outputs are the room's streaming-outs and recordings, rendered for
	// Room (room.outputs of the route).
	Outputs []Output
	// Loop is set when the stream is one the agent's own outputs push into
	// SRS: the route's action was route, and the stream is ignored instead.
	Loop bool
	// Unroutable, for a route action, says why the stream's names cannot be
	// put into a pull URL (see NameProblem); the agent then keeps the
	// stream out of OWT. "" when they can.
	Unroutable string
}
