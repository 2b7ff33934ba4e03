package ec2emu

import "time"

// Staleness is how reads of one route table lag behind its writes, as
// EC2's eventually consistent reads may: after a write to the table, the
// next Reads DescribeRouteTables answers (and every answer until For has
// passed) show the table as it was before the first write of the stale
// period. With Alternate, the answers of that period alternate between the
// old table and the current one, starting with the old: reads that are not
// even monotonic, as when requests land on replicas of different ages.
type Staleness struct {
	Reads     int           `json:"reads,omitempty"`
	For       time.Duration `json:"for,omitempty"`
	Alternate bool          `json:"alternate,omitempty"`
}

type tableStaleness struct {
	spec  Staleness
	old   *RouteTable // the table before the first write of the period; nil: fresh
	left  int         // reads left in the period
	until time.Time
	n     int // reads served in the period
}

// SetTableStaleness sets how reads of one table lag behind its writes
// (the zero Staleness: they do not). It applies from the next write on.
func (e *Emulator) SetTableStaleness(table string, s Staleness) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s == (Staleness{}) {
		delete(e.tableStale, table)
		return
	}
	e.tableStale[table] = &tableStaleness{spec: s}
}

// SetIgnoreTableIDs makes DescribeRouteTables answer with every table of
// the state whatever RouteTableId asks for, as an endpoint that ignores the
// parameter (or a proxy in front of it) would.
func (e *Emulator) SetIgnoreTableIDs(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.allTables = on
}

// staleWrite starts or extends a table's stale period. Call with e.mu held,
// with old the table before the write.
func (e *Emulator) staleWrite(table string, old *RouteTable) {
	ts := e.tableStale[table]
	if ts == nil || old == nil {
		return
	}
	if ts.old == nil || !ts.active() {
		c := *old
		c.Routes = append([]Route(nil), old.Routes...)
		ts.old, ts.n = &c, 0
	}
	ts.left = ts.spec.Reads
	if ts.spec.For > 0 {
		ts.until = time.Now().Add(ts.spec.For)
	}
}

func (ts *tableStaleness) active() bool {
	return ts.old != nil && (ts.left > 0 || time.Now().Before(ts.until))
}

// routeTablesView is the state's route tables as one read sees them, with
// stale tables in their old version; it counts the read. Call with e.mu
// held.
func (e *Emulator) routeTablesView(st *State) []RouteTable {
	out := st.RouteTables
	copied := false
	for i, rt := range st.RouteTables {
		ts := e.tableStale[rt.ID]
		if ts == nil || !ts.active() {
			continue
		}
		ts.n++
		if ts.left > 0 {
			ts.left--
		}
		if ts.spec.Alternate && ts.n%2 == 0 {
			continue // this read is a fresh one
		}
		if !copied {
			out = append([]RouteTable(nil), st.RouteTables...)
			copied = true
		}
		out[i] = *ts.old
	}
	return out
}
