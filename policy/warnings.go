package policy

// Warnings are conditions of a valid policy that are probably mistakes: it
// loads, but routes nothing to OWT.
func (p *Policy) Warnings() []string {
	if p == nil {
		return nil
	}
	where := p.File
	if where == "" {
		where = "policy"
	}
	if len(p.Routes) == 0 {
		return []string{where + ": routes is empty: nothing will be routed to OWT (every stream is ignored); add a route with a room"}
	}
	for _, r := range p.Routes {
		if r.Action == ActionRoute {
			return nil
		}
	}
	return []string{where + ": no route has a room: nothing will be routed to OWT (every stream is denied or ignored)"}
}
