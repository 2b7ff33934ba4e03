package agent

import (
	"fmt"
	"net/netip"
	"strings"
)

// tableState is what one route table says about the VIP's route.
type tableState struct {
	Table string
	Route *Route // nil: the table has no route for the destination
	Here  bool   // the route is active and reaches this instance
}

// routeFor returns the table's route for exactly dst.
func routeFor(t Table, dst netip.Prefix) *Route {
	for i := range t.Routes {
		if t.Routes[i].Destination == dst {
			return &t.Routes[i]
		}
	}
	return nil
}

// evaluate reads the VIP's route out of each table. A route counts as here
// when its instance id is this instance or its ENI is one of this
// instance's ENIs, whatever lookup_type says: EC2 implementations differ in
// which of the two they fill in.
func evaluate(dst netip.Prefix, self Self, tables []Table) []tableState {
	out := make([]tableState, 0, len(tables))
	for _, t := range tables {
		r := routeFor(t, dst)
		st := tableState{Table: t.ID, Route: r}
		st.Here = r != nil && !r.Blackhole && self.Owns(r.InstanceID, r.ENI)
		out = append(out, st)
	}
	return out
}

// describeRoute says where a route goes, for exit reasons and the log.
func describeRoute(r *Route) string {
	if r == nil {
		return "no route"
	}
	var target []string
	if r.ENI != "" {
		target = append(target, r.ENI)
	}
	if r.InstanceID != "" {
		target = append(target, r.InstanceID)
	}
	if r.Gateway != "" {
		target = append(target, r.Gateway)
	}
	s := strings.Join(target, "/")
	if s == "" {
		s = "an unknown target"
	}
	if r.Blackhole {
		return "blackhole (its target " + s + " no longer exists)"
	}
	return s
}

// summary is one sentence over all tables: which point here, which not.
func summary(dst netip.Prefix, states []tableState) string {
	var here, elsewhere []string
	for _, s := range states {
		if s.Here {
			here = append(here, s.Table)
		} else {
			elsewhere = append(elsewhere, fmt.Sprintf("%s: %s", s.Table, describeRoute(s.Route)))
		}
	}
	switch {
	case len(elsewhere) == 0:
		return fmt.Sprintf("route %s points here in %s", dst, strings.Join(here, ", "))
	case len(here) == 0:
		return fmt.Sprintf("route %s does not point here (%s)", dst, strings.Join(elsewhere, "; "))
	default:
		return fmt.Sprintf("route tables disagree on %s: here in %s, elsewhere in %s",
			dst, strings.Join(here, ", "), strings.Join(elsewhere, "; "))
	}
}

func countHere(states []tableState) int {
	n := 0
	for _, s := range states {
		if s.Here {
			n++
		}
	}
	return n
}
