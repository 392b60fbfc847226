package store

import (
	"context"
	"sync"
)

// Memory keeps the document in memory: for runs without a state file (the
// demo) and for tests, where a "restart" opens a new journal on the same
// Memory. Fail, when set, makes Save fail with its error.
type Memory struct {
	mu   sync.Mutex
	doc  []byte
	fail error
}

// Load returns the last saved document (nil before any Save).
func (m *Memory) Load(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.doc...), nil
}

// Save keeps a copy of doc, or fails with the error set by Fail.
func (m *Memory) Save(_ context.Context, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.doc = append([]byte(nil), doc...)
	return nil
}

// Fail makes every later Save fail with err (nil: succeed again).
func (m *Memory) Fail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

// Close does nothing.
func (m *Memory) Close() error { return nil }

// String names the store.
func (m *Memory) String() string { return "memory" }
