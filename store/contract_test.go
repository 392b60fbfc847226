package store_test

import (
	"path/filepath"
	"testing"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha/hatest"
	"github.com/srs-owt-proxy/srs-owt-proxy/reconcile"
	"github.com/srs-owt-proxy/srs-owt-proxy/store"
)

// The ownership-store contract the etcd and Kubernetes stores pass too.
func TestContract(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		hatest.RunStore(t, hatest.StoreHarness{Open: func(t *testing.T) reconcile.Store {
			f, err := store.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}})
	})
	t.Run("memory", func(t *testing.T) {
		m := &store.Memory{}
		hatest.RunStore(t, hatest.StoreHarness{Open: func(*testing.T) reconcile.Store { return keepOpen{m} }})
	})
}

// keepOpen keeps the one memory store across "reopens".
type keepOpen struct{ *store.Memory }

func (keepOpen) Close() error { return nil }
