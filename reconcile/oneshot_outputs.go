package reconcile

import (
	"context"

	"github.com/srs-owt-proxy/srs-owt-proxy/policy"
)

// outputRunner returns the runner of a OneShot's outputs, or nil when its
// OWT has no output calls.
func (o *OneShot) outputRunner() *OutputRunner {
	oo, ok := o.OWT.(OutputOWT)
	if !ok {
		return nil
	}
	r := &OutputRunner{OWT: oo, Journal: o.Journal, Log: o.Log}
	if o.PendingHold > 0 {
		r.Hold = min(outputHold, o.PendingHold)
	}
	return r
}

// declaredOutputs are the outputs a room should have: those of its desired
// room while any stream is routed to it, else none.
func declaredOutputs(d *DesiredRoom) []policy.Output {
	if d == nil || len(d.Inputs) == 0 {
		return nil
	}
	return d.Outputs
}

// plansInView reports whether a room plan puts a stream into a view.
func plansInView(p RoomPlan) bool {
	for _, op := range p.Ops {
		if op.Kind == OpAddView && op.Held == "" {
			return true
		}
	}
	return false
}

// planOutputs adds the output ops of one room to its plan (diff): starts
// once an input is in view (now, or by this plan), stops before the room
// is deleted. A failed output listing is a note.
func planOutputs(ctx context.Context, r *OutputRunner, rp *RoomPlan, obs *ObservedRoom, desired *DesiredRoom) {
	if r == nil {
		return
	}
	pass, err := r.Run(ctx, obs, declaredOutputs(desired), InputInView(obs, desired) || plansInView(*rp), false)
	if err != nil {
		rp.Notes = append(rp.Notes, err.Error())
	}
	if len(pass.Ops) == 0 {
		return
	}
	ops := make([]Op, 0, len(rp.Ops)+len(pass.Ops))
	inserted := false
	for _, op := range rp.Ops {
		if op.Kind == OpDeleteRoom && !inserted {
			ops = append(ops, pass.Ops...)
			inserted = true
		}
		ops = append(ops, op)
	}
	if !inserted {
		ops = append(ops, pass.Ops...)
	}
	rp.Ops = ops
}

// applyRoom applies one room's plan for sync --once: the outputs of a room
// no stream is routed to are stopped first, then the input plan runs, then
// the outputs of a room with streams are started or stopped from a fresh
// listing (the plan's output ops only said what would happen).
func (o *OneShot) applyRoom(ctx context.Context, a *Applier, r *OutputRunner, rp *RoomPlan, obs *ObservedRoom, desired *DesiredRoom) []Result {
	inputs := *rp
	inputs.Ops = nil
	for _, op := range rp.Ops {
		if op.Kind != OpStartOutput && op.Kind != OpStopOutput {
			inputs.Ops = append(inputs.Ops, op)
		}
	}
	declared := declaredOutputs(desired)
	var out []Result
	runOutputs := func(inView bool) {
		pass, err := r.Run(ctx, obs, declared, inView, true)
		out = append(out, pass.Results...)
		if err != nil && len(pass.Results) == 0 {
			out = append(out, Result{Op: Op{Kind: OpStartOutput, Room: obs.Name, Reason: "outputs"}, Outcome: "failed", Err: err})
		}
	}
	if r != nil && declared == nil {
		runOutputs(false)
	}
	out = append(out, a.ApplyRoom(ctx, &inputs, obs)...)
	if r != nil && declared != nil {
		runOutputs(InputInView(obs, desired))
	}
	return out
}
