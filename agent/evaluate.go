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

// describeRoute says where a route goes, for exit reasons and the log:
// the instance where the route names one (operators know their instances),
// else the ENI or gateway.
func describeRoute(r *Route) string {
	if r == nil {
		return "no route"
	}
	target := r.InstanceID
	if target == "" {
		target = r.ENI
	}
	if target == "" {
		target = r.Gateway
	}
	if target == "" {
		target = "an unknown target"
	}
	if r.Blackhole {
		return "a blackhole (" + target + " is gone)"
	}
	return target
}

// summary is one short sentence over all tables, for the exit reason: the
// first table that does not route here, and how many others do not.
func summary(dst netip.Prefix, states []tableState) string {
	var firstAway *tableState
	away := 0
	for i := range states {
		if !states[i].Here {
			if firstAway == nil {
				firstAway = &states[i]
			}
			away++
		}
	}
	if firstAway == nil {
		return fmt.Sprintf("%s routes here in all %d tables", dst, len(states))
	}
	where := fmt.Sprintf("%s has %s", firstAway.Table, describeRoute(firstAway.Route))
	if firstAway.Route != nil {
		where = fmt.Sprintf("%s routes it to %s", firstAway.Table, describeRoute(firstAway.Route))
	}
	more := ""
	if away > 1 {
		more = fmt.Sprintf(" (+%d tables)", away-1)
	}
	if away == len(states) {
		return where + more
	}
	return fmt.Sprintf("tables disagree on %s: %s%s, %d route here", dst, where, more, len(states)-away)
}

// details lists every table's route, for the log.
func details(dst netip.Prefix, states []tableState) string {
	parts := make([]string, 0, len(states))
	for _, s := range states {
		mark := "elsewhere"
		if s.Here {
			mark = "here"
		}
		parts = append(parts, fmt.Sprintf("%s: %s (%s)", s.Table, describeRoute(s.Route), mark))
	}
	return dst.String() + " in " + strings.Join(parts, "; ")
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
