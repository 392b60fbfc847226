// Package policy loads the agent's configuration (agent.yaml: connections,
// restart-only settings) and its routing policy (policy.yaml: reconcile
// settings, defaults and first-match-wins routes), validates both with
// file:line: field: problem errors, resolves a published stream to a target
// room, and watches the policy file for hot reload.
//
// # Validation
//
// Both files are read as yaml.v3 nodes, so every problem carries its line.
// Unknown keys, wrong types, duplicate keys, YAML aliases and more than one
// document are errors. LoadAgent and ParsePolicy return an Errors value with
// every problem found, not only the first. Secret values never appear in a
// message.
//
// # Matching
//
// Routes are tried in order; the first whose match holds wins. match keys
// vhost, app and stream are path.Match globs; an absent key matches anything
// and `match: {}` matches every stream (the key itself is required). Under
// query, each key names a publish query parameter that must be present with
// a value matching the glob: a missing parameter does not match, not even
// "*". A stream no route matches is ignored (Target.Route -1).
//
// # Rooms
//
// `room: "template"` is a room the agent creates and owns. The mapping form
// {name, create, options} with create: false names an existing room, found by
// name and never created or deleted. Room options (in room.options or
// room_options, not both) are checked against OWT's room schema; giving them
// with create: false is an error, because they would silently do nothing.
// When the agent creates a room whose options list no views, the room gets
// one view per label in the route's views (none when views is empty, which
// leaves OWT's default view); when the options do list views, every label in
// the route's views must be among them.
//
// # Templates
//
// room and pull_url are text/template templates (missingkey=error), parsed
// and executed against a sample stream at load so unknown fields fail early.
// Fields: .Vhost .App .Stream .Server (SRS server name) .Pull (pull base)
// .Host (host:port of the pull base) .Param (url.Values of the publish
// query). Functions: lower, upper, replace OLD NEW S, trimPrefix P S,
// trimSuffix P S, pathEscape, queryEscape, and param "k" (the first value of
// query parameter k, "" when absent).
//
// In pull_url templates the values that come from the publisher are already
// escaped: .App, .Stream and .Server with url.PathEscape, .Vhost and
// param "k" with url.QueryEscape; .Pull and .Host are used as they are. A
// rendered pull URL must be rtmp:// or rtsp:// with a host. Without pull_url
// the URL is <pull>/<app>/<stream>?vhost=<vhost>, escaped the same way (see
// DefaultPullURL): SRS keeps a player of another vhost's stream waiting
// forever without ?vhost=.
//
// A rendered room name must be non-empty, valid UTF-8, at most 128
// characters and free of control characters; otherwise Resolve returns a
// FieldError naming the route, its line and the stream.
package policy
