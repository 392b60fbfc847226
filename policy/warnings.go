package policy

// Warnings are conditions of a valid policy that are probably mistakes: it
// loads, but routes nothing to OWT, or a route would take an output's
// pushed stream (file:line: field: problem).
func (p *Policy) Warnings() []string {
	if p == nil {
		return nil
	}
	where := p.File
	if where == "" {
		where = "policy"
	}
	var out []string
	routed := false
	for _, r := range p.Routes {
		routed = routed || r.Action == ActionRoute
	}
	switch {
	case len(p.Routes) == 0:
		out = append(out, where+": routes is empty: nothing will be routed to OWT (every stream is ignored); add a route with a room")
	case !routed:
		out = append(out, where+": no route has a room: nothing will be routed to OWT (every stream is denied or ignored)")
	}
	for _, w := range p.warnings {
		out = append(out, w.Error())
	}
	return out
}
