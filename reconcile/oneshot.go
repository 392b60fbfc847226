package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// OneShot reads both servers once and plans (diff) or plans and applies
// (sync --once) every room. Planning writes nothing anywhere: `diff` opens
// the journal read-only and never commits it.
type OneShot struct {
	Agent   string
	Servers []SRSServer
	OWT     OWT
	// Journal, opened exclusively for sync and read-only for diff.
	Journal *Journal
	Policy  *policy.Policy
	Log     *slog.Logger
	// Concurrency bounds parallel room reads and applies (default policy's).
	Concurrency int
	// PendingHold and IntentSettle as in Config.
	PendingHold, IntentSettle time.Duration
}

// Observation is what a OneShot read, kept for Apply.
type Observation struct {
	Desired    *Desired
	Rooms      map[string]*ObservedRoom
	SnapshotAt time.Time
	pending    *Pending
	// resolved are the open streaming-in intents this observation settled:
	// their streams are listed, or their holds ran out. Apply closes them.
	resolved []string
}

func (o *OneShot) workers() int {
	if o.Concurrency > 0 {
		return o.Concurrency
	}
	if o.Policy != nil && o.Policy.Reconcile.Concurrency > 0 {
		return o.Policy.Reconcile.Concurrency
	}
	return 8
}

// UnreadError says which SRS servers a OneShot could not read: the plan was
// made from the others, and the deletes of the unread servers' streams
// (and of rooms holding them) are held.
type UnreadError struct {
	// Servers are the unread servers' names, in agent.yaml order.
	Servers []string
	Err     error
}

func (e *UnreadError) Error() string {
	return fmt.Sprintf("could not read SRS %s (planned from the other servers; deletes of its streams are held): %v",
		strings.Join(quoteAll(e.Servers), ", "), e.Err)
}

func (e *UnreadError) Unwrap() error { return e.Err }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// Plan reads SRS and OWT and returns the plan. A failed OWT room listing,
// or no SRS server read at all, is an error. When some SRS servers could
// not be read, the plan is made from the others and returned with an
// *UnreadError: the unread servers' streams are not deleted. A room whose
// streams cannot be read gets a note and nothing in it is deleted.
func (o *OneShot) Plan(ctx context.Context) (*Plan, *Observation, error) {
	if o.Policy == nil {
		return nil, nil, errors.New("no policy loaded")
	}
	srcs, failed := ReadSRS(ctx, o.Servers)
	var unread *UnreadError
	if len(failed) > 0 {
		var errs []error
		unread = &UnreadError{}
		for _, s := range o.Servers {
			if err := failed[s.Name]; err != nil {
				errs = append(errs, err)
				unread.Servers = append(unread.Servers, s.Name)
			}
		}
		unread.Err = errors.Join(errs...)
		if len(srcs) == 0 {
			return nil, nil, unread.Err
		}
	}
	snapAt := time.Now()
	perServer := o.Policy.Reconcile.PerServer()
	liveOn := map[string]int{}
	for _, s := range srcs {
		for _, st := range s.Snapshot.Streams {
			if st.Publish.Active {
				liveOn[s.Name]++
			}
		}
	}
	reading := func(server string) ServerReading {
		if err := failed[server]; err != nil {
			return ServerReading{Why: "incomplete listing: " + serverErr(server, err)}
		}
		return ServerReading{At: snapAt, OK: true, Live: liveOn[server]}
	}
	listStart := time.Now()
	rooms, err := o.OWT.ListRooms(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list OWT rooms: %w", err)
	}
	ix := IndexRooms(rooms)
	ix.ListedAt = listStart
	settle := o.IntentSettle
	if settle == 0 {
		settle = 2 * time.Second
	}
	hold := o.PendingHold
	if hold == 0 {
		hold = 95 * time.Second
	}
	// Creates of an earlier run whose outcome is unknown (open intents):
	// rooms are adopted or released from this listing; a streaming-in POST
	// still within its hold is not made again.
	pending := NewPending()
	var resolvedMu sync.Mutex
	var resolved []string
	pending.OnResolve = func(op string) {
		resolvedMu.Lock()
		resolved = append(resolved, op)
		resolvedMu.Unlock()
	}
	createHeld := map[string]string{}
	if o.Journal != nil {
		o.Journal.ResolveRoomIntents(ix, "", settle)
		for _, in := range o.Journal.Intents() {
			switch {
			case in.Kind == IntentRoom:
				createHeld[in.Room] = "an earlier create of this room, sent at " + in.At.Format(time.RFC3339) + ", has no known outcome yet"
			case in.Kind == IntentInput && snapAt.Before(in.At.Add(hold)):
				pending.Restore(in.Room, in.Stream, in.ID, in.At, in.At.Add(hold))
			case in.Kind == IntentInput:
				resolved = append(resolved, in.ID) // its hold ran out: the POST did not create it
			}
		}
	}
	pre := ComputeDesired(DesiredInputs{Policy: o.Policy, Sources: srcs})
	names := map[string]bool{}
	for n := range pre.Rooms {
		names[n] = true
	}
	for _, n := range ix.Names() {
		names[n] = true
	}
	if o.Journal != nil {
		for _, n := range o.Journal.Rooms() {
			names[n] = true
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)

	obs := make(map[string]*ObservedRoom, len(sorted))
	for _, n := range sorted {
		r := ix.Locate(n, o.Journal)
		obs[n] = &r
	}
	var mu sync.Mutex
	var listErrs []error
	o.each(sorted, func(n string) {
		r := obs[n]
		_, desired := pre.Rooms[n]
		err := ObserveRoom(ctx, o.OWT, o.Agent, r, !desired)
		if err != nil {
			mu.Lock()
			listErrs = append(listErrs, err)
			mu.Unlock()
			return
		}
		pending.Seen(n, r.Inputs)
	})
	// The publish query is only known from hooks; the agent's store (and
	// the kept query of the attributes) remembers what routes read of it,
	// so routes matching on it stay stable.
	params := map[StreamKey]string{}
	held := map[StreamKey]bool{}
	for _, r := range obs {
		for _, in := range r.Inputs {
			held[in.Key] = true
			q := in.Param
			if o.Journal != nil {
				if sq, ok := o.Journal.Query(in.Key); ok {
					q = sq
				}
			}
			if q == "" && in.legacyParam != "" {
				q = o.Policy.StoredParam(in.legacyParam)
			}
			if q != "" {
				params[in.Key] = q
			}
		}
	}
	d := ComputeDesired(DesiredInputs{Policy: o.Policy, Sources: srcs, ParamOf: func(k StreamKey, _ string) string { return params[k] },
		Held: func(k StreamKey) bool { return held[k] }})
	chosen := func(k StreamKey) StreamKey {
		if _, ok := d.ByKey[k]; ok {
			return k
		}
		if c, ok := d.ByIdent[Ident(k, perServer)]; ok {
			return c
		}
		return k
	}
	for n := range d.Rooms {
		if obs[n] == nil {
			r := ix.Locate(n, o.Journal)
			obs[n] = &r
			sorted = append(sorted, n)
		}
	}
	sort.Strings(sorted)
	live := map[StreamKey]bool{}
	for _, s := range srcs {
		for _, st := range s.Snapshot.Streams {
			if st.Publish.Active {
				live[StreamKey{Server: s.Name, Vhost: st.VhostName, App: st.App, Stream: st.Name}] = true
			}
		}
	}
	owned := map[string]int{}
	for _, r := range obs {
		for _, in := range r.Inputs {
			owned[in.Key.Server]++
		}
	}
	budget := Budget{MaxDeletes: o.Policy.Reconcile.MaxDeletes}
	if !o.Policy.Reconcile.AllowEmpty {
		// Per server: one that lists nothing while the agent pulls two or
		// more streams from it looks broken.
		empty := map[string]bool{}
		for sv, n := range owned {
			if r := reading(sv); n >= 2 && r.OK && r.Live == 0 {
				empty[sv] = true
			}
		}
		if len(empty) > 0 {
			budget.EmptyGuard = func(op Op) bool { return empty[op.key.Server] }
		}
	}
	why := ""
	if len(listErrs) > 0 {
		why = "some room listings failed: " + errors.Join(listErrs...).Error()
	}
	plan := &Plan{}
	outputs := o.outputRunner()
	for _, n := range sorted {
		r := obs[n]
		rp := PlanRoom(RoomContext{
			Desired: d.Rooms[n], Observed: r, SnapshotAt: snapAt, Grace: o.Policy.Reconcile.DeleteGrace,
			DeletesAllowed: len(listErrs) == 0, DeletesHeldWhy: why, Reading: reading, Now: snapAt,
			Ident: func(k StreamKey) StreamKey { return Ident(k, perServer) },
			Live:  func(k StreamKey) bool { return live[k] },
			MissingSince: func(k StreamKey) (time.Time, bool) {
				if o.Journal == nil {
					return time.Time{}, false
				}
				return o.Journal.MissingSince(n, k)
			},
			InFlight:      func(k StreamKey) bool { return pending.InFlight(n, k, snapAt) },
			CreateHeld:    createHeld[n],
			DesiredRoomOf: func(k StreamKey) (string, bool) { r, ok := d.ByKey[chosen(k)]; return r, ok },
			InViewIn: func(k StreamKey, room string) bool {
				k = chosen(k)
				dr := d.Rooms[room]
				if dr == nil || dr.Inputs[k] == nil {
					return false
				}
				return obs[room].InView(k, dr.Inputs[k].Views)
			},
		})
		budget.Apply(&rp)
		planOutputs(ctx, outputs, &rp, r, d.Rooms[n])
		plan.Rooms = append(plan.Rooms, rp)
	}
	plan.Sort()
	// The room listings that resolve intents (Seen) have all returned.
	ob := &Observation{Desired: d, Rooms: obs, SnapshotAt: snapAt, pending: pending, resolved: resolved}
	if unread != nil {
		return plan, ob, unread
	}
	return plan, ob, nil
}

func (o *OneShot) each(names []string, f func(string)) {
	sem := make(chan struct{}, o.workers())
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(n)
		}()
	}
	wg.Wait()
}

// Apply applies a plan made by Plan: rooms in parallel (bounded), the ops
// of one room in order. It records grace periods and created rooms in the
// state file and returns every result.
func (o *OneShot) Apply(ctx context.Context, plan *Plan, ob *Observation) ([]Result, error) {
	if o.Journal != nil {
		for _, rp := range plan.Rooms {
			for _, k := range rp.NewlyMissing {
				o.Journal.SetMissing(rp.Room, k, ob.SnapshotAt)
			}
			for _, k := range rp.Wanted {
				o.Journal.ClearMissing(rp.Room, k)
			}
		}
	}
	pending := ob.pending
	if pending == nil {
		pending = NewPending()
	}
	if o.Journal != nil {
		// Intents the observation settled are closed with this run's
		// commit (diff, which never applies, leaves them to the writer).
		for _, op := range ob.resolved {
			o.Journal.End(op)
		}
	}
	a := &Applier{OWT: o.OWT, Agent: o.Agent, Journal: o.Journal, Pending: pending, Log: o.Log, PendingHold: o.PendingHold,
		Slots: make(chan struct{}, o.workers())}
	outputs := o.outputRunner()
	var mu sync.Mutex
	var all []Result
	byRoom := map[string]*RoomPlan{}
	names := make([]string, 0, len(plan.Rooms))
	for i := range plan.Rooms {
		byRoom[plan.Rooms[i].Room] = &plan.Rooms[i]
		names = append(names, plan.Rooms[i].Room)
	}
	o.each(names, func(n string) {
		res := o.applyRoom(ctx, a, outputs, byRoom[n], ob.Rooms[n], ob.Desired.Room(n))
		mu.Lock()
		all = append(all, res...)
		mu.Unlock()
	})
	var err error
	if o.Journal != nil {
		var inputs []RoomStream
		for name, r := range ob.Rooms {
			for _, in := range r.Inputs {
				inputs = append(inputs, RoomStream{Room: name, Key: in.Key})
			}
		}
		o.Journal.PruneMissing(inputs)
		err = o.Journal.Commit(ctx)
	}
	return all, err
}
