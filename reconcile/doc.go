// Package reconcile turns what SRS has and what the policy says into what OWT
// should have, compares it with what OWT has, and applies the difference:
// desired state, observed state, the plan (a pure function), its rendering,
// applying it, the per-room work queue, the state file and the engine that
// ties them into a level-triggered control loop.
package reconcile
