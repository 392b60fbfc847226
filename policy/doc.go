// Package policy loads the agent's configuration (agent.yaml: connections,
// restart-only settings) and its routing policy (policy.yaml: reconcile
// settings, defaults and first-match-wins routes), validates both with
// file:line: field: problem errors, resolves a published stream to a target
// room, and watches the policy file for hot reload.
package policy
