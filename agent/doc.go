// Package agent wires the long-running agent together: SRS and OWT
// clients from agent.yaml, the reconcile engine, the hook server, the
// metrics and health server, and hot reload of the policy.
package agent
