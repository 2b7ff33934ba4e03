package ec2emu

import (
	"encoding/json"
	"net/http"
)

// AdminRoute is the body of POST /_emu/route.
type AdminRoute struct {
	RouteTableID string `json:"routeTableId"`
	Destination  string `json:"destination"`
	Target       string `json:"target"` // i-…, eni-…, igw-…; empty deletes
}

// AdminFaults is the body of POST /_emu/faults: fault rules to add and,
// when StaleReads is set, the stale-read setting.
type AdminFaults struct {
	Faults     []Fault `json:"faults,omitempty"`
	StaleReads *int    `json:"staleReads,omitempty"`
}

// AdminIAM is the body of PUT /_emu/iam: it replaces the deny rules and the
// role-mode setting.
type AdminIAM struct {
	Denies  []Deny `json:"denies"`
	RoleArn string `json:"roleArn,omitempty"`
	// Policies gives principals allow-only policies (see SetPolicy);
	// the ones not named keep theirs.
	Policies map[string][]string `json:"policies,omitempty"`
}

// serveAdmin serves the JSON admin API:
//
//	GET  /_emu/state        current State
//	PUT  /_emu/state        replace the State
//	GET  /_emu/faults       active fault rules
//	POST /_emu/faults       add rules (AdminFaults, or a single Fault)
//	DELETE /_emu/faults     clear every fault and stale reads
//	GET  /_emu/log          request log
//	POST /_emu/log/reset    clear log and counters
//	GET  /_emu/counts       requests per action
//	POST /_emu/route        set a route behind the cluster's back (AdminRoute)
//	PUT  /_emu/iam          set deny rules and role mode (AdminIAM)
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(code int, err error) { http.Error(w, err.Error(), code) }
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	switch r.Method + " " + r.URL.Path {
	case "GET /_emu/state":
		reply(e.Snapshot())
	case "PUT /_emu/state":
		var st State
		if err := dec.Decode(&st); err != nil {
			fail(400, err)
			return
		}
		if err := e.SetState(&st); err != nil {
			fail(400, err)
			return
		}
		reply(e.Snapshot())
	case "GET /_emu/faults":
		reply(e.Faults())
	case "POST /_emu/faults":
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			fail(400, err)
			return
		}
		var af AdminFaults
		if err := json.Unmarshal(raw, &af); err != nil || (af.Faults == nil && af.StaleReads == nil) {
			var f Fault
			if err := json.Unmarshal(raw, &f); err != nil {
				fail(400, err)
				return
			}
			af = AdminFaults{Faults: []Fault{f}}
		}
		for _, f := range af.Faults {
			e.AddFault(f)
		}
		if af.StaleReads != nil {
			e.SetStaleReads(*af.StaleReads)
		}
		reply(e.Faults())
	case "DELETE /_emu/faults":
		e.ClearFaults()
		reply(e.Faults())
	case "GET /_emu/log":
		reply(e.Log())
	case "POST /_emu/log/reset":
		e.ResetLog()
		reply(map[string]int{})
	case "GET /_emu/counts":
		reply(e.Counts())
	case "POST /_emu/route":
		var ar AdminRoute
		if err := dec.Decode(&ar); err != nil {
			fail(400, err)
			return
		}
		if err := e.SetRoute(ar.RouteTableID, ar.Destination, ar.Target); err != nil {
			fail(404, err)
			return
		}
		reply(e.Snapshot().RouteTable(ar.RouteTableID))
	case "PUT /_emu/iam":
		var ai AdminIAM
		if err := dec.Decode(&ai); err != nil {
			fail(400, err)
			return
		}
		e.ClearDenies()
		for _, d := range ai.Denies {
			e.Deny(d)
		}
		e.SetRoleMode(ai.RoleArn)
		for p, acts := range ai.Policies {
			e.SetPolicy(p, acts)
		}
		reply(ai)
	default:
		http.NotFound(w, r)
	}
}
