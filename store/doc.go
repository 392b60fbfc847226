// Package store holds the durable homes of the agent's ownership journal
// (docs/architecture.md): a local file guarded by an exclusive lock, the
// default, and an in-memory store for runs without a state file. Each store
// keeps one opaque document; reconcile.Journal gives it its meaning.
package store
