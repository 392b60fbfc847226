package ha_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/srs-owt-proxy/srs-owt-proxy/ha"
)

// solo is a Backend of one replica that leads as soon as it campaigns: the
// smallest thing that keeps the contract (a term's store refuses writes
// once the term is over).
type solo struct {
	mu     sync.Mutex
	id     string
	cancel context.CancelFunc
	doc    []byte
}

func (s *solo) Campaign(ctx context.Context) (*ha.Term, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	return &ha.Term{Ctx: tctx, Store: &fencedStore{s: s, term: tctx}}, nil
}

func (s *solo) Resign(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	return nil
}

func (s *solo) Leader() ha.Leader {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return ha.Leader{}
	}
	return ha.Leader{Identity: s.id}
}

func (s *solo) Close() error   { return s.Resign(context.Background()) }
func (s *solo) String() string { return "solo" }

// fencedStore is the solo backend's store, fenced to one term.
type fencedStore struct {
	s    *solo
	term context.Context
}

func (f *fencedStore) Load(context.Context) ([]byte, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return append([]byte(nil), f.s.doc...), nil
}

func (f *fencedStore) Save(_ context.Context, doc []byte) error {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if f.term.Err() != nil {
		return fmt.Errorf("solo store: %w", ha.ErrFenced)
	}
	f.s.doc = append([]byte(nil), doc...)
	return nil
}

func (f *fencedStore) Close() error   { return nil }
func (f *fencedStore) String() string { return "solo store" }

// A replica's life through the Backend: campaign, write the store while
// the term lasts, resign; the store of the ended term refuses the write.
func Example() {
	var b ha.Backend = &solo{id: "replica-0"}
	defer b.Close()
	ctx := context.Background()

	term, err := b.Campaign(ctx)
	if err != nil {
		fmt.Println("campaign:", err)
		return
	}
	fmt.Println("leader:", b.Leader().Identity)
	fmt.Println("save in the term:", term.Store.Save(term.Ctx, []byte(`{"rooms":{}}`)))

	_ = b.Resign(ctx)
	<-term.Ctx.Done()
	err = term.Store.Save(ctx, []byte(`{}`))
	fmt.Println("save after resigning fenced:", errors.Is(err, ha.ErrFenced))
	fmt.Printf("leader after resigning: %q\n", b.Leader().Identity)
	doc, _ := term.Store.Load(ctx)
	fmt.Println("store holds:", string(doc))
	// Output:
	// leader: replica-0
	// save in the term: <nil>
	// save after resigning fenced: true
	// leader after resigning: ""
	// store holds: {"rooms":{}}
}
