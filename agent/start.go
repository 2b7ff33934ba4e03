package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/suzlab/routeha/ocf"
)

// Start makes this node serve the VIP: the VIP goes on the interface first
// (so no packet routed here finds it missing), then every configured
// table's route is pointed here (a bounded number of writes at a time),
// then the tables are read back until each has shown this node, and read
// once more after the window in which a rival starting at the same moment
// would have written: a start that succeeds means the route stayed here.
// It is idempotent: tables already pointing here are not written.
// Everything is bounded by the action's deadline.
//
// What a read back shows is judged against what the tables held before
// this node wrote (see tableWatch): a target that was there before is the
// old owner, shown by a stale read; only a target new to the table, or an
// old one that keeps coming back after this node's write was read back,
// is a rival. Of two rivals the lower instance id keeps the route: the
// other hands the tables over to it and fails, naming it.
func (a *Agent) Start(ctx context.Context, r *ocf.Request, cfg *Config) error {
	begin := time.Now()
	self, routes, answer, err := a.observeAs(ctx, r.Log, cfg, startBudget(), true)
	if err != nil {
		return err
	}
	// Whatever the answer lists, only the configured tables are looked at
	// and written.
	tables := onlyConfigured(cfg, answer)
	if err := checkTables(cfg, self, tables); err != nil {
		return err
	}
	if err := skipped(r.Log, checkSourceDest(ctx, cfg, self, routes, true)); err != nil {
		return err
	}
	vip := a.adapters.VIP()
	if err := vip.Add(ctx, cfg.Address); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot add %s to %s: %w", cfg.Address.Prefix, cfg.Address.Interface, err)
	}

	target := cfg.Target(self)
	watch := newTableWatch(cfg, self, tables, a.timing.staleConfirm)
	pending := tables
	for round := 1; ; round++ {
		if err := a.pointTables(ctx, r, cfg, routes, target, pending); err != nil {
			return err
		}
		last, rival, err := a.readBack(ctx, r, cfg, routes, watch, begin)
		if err != nil {
			return err
		}
		if rival == nil {
			r.Log.Infof("%s now route %s to %s (%s)", describeTables(len(cfg.Tables)), cfg.Destination, target, self.InstanceID)
			return nil
		}
		if rival.id < rival.mine {
			// The rival may have finished already, having seen every table
			// before our last writes landed: hand the tables over to it, so
			// that they end on one node whichever of us stops first.
			handover := a.pointTables(ctx, r, cfg, routes, rival.target, last)
			reason := fmt.Sprintf("another node (%s) took %s during start; it keeps it", rival.id, cfg.Destination)
			detail := rival.why + "; " + details(cfg.Destination, evaluate(cfg.Destination, self, last))
			if handover != nil {
				detail += "; handing the tables over failed: " + handover.Error()
			}
			return ocf.Fail(ocf.ErrGeneric, reason, errors.New(detail))
		}
		// The rival has the higher id: this node keeps the route, and the
		// rival gives up when it sees this node's writes.
		r.Log.Warnf("round %d: %s; this node has the lower id and takes the tables back", round, rival.why)
		watch.retake(last)
		pending = last
	}
}

// onlyConfigured returns the configured tables of an answer, once each, in
// the configured order; an answer may list tables nobody asked for (an
// endpoint that ignores RouteTableId), which routeha must never touch.
func onlyConfigured(cfg *Config, tables []Table) []Table {
	byID := make(map[string]Table, len(tables))
	for _, t := range tables {
		if _, dup := byID[t.ID]; !dup {
			byID[t.ID] = t
		}
	}
	out := make([]Table, 0, len(cfg.Tables))
	for _, id := range cfg.Tables {
		if t, ok := byID[id]; ok {
			out = append(out, t)
			delete(byID, id)
		}
	}
	return out
}

// maxWritesInFlight bounds the route writes one start has outstanding: a
// start over hundreds of tables must not open hundreds of connections at
// once, nor have every one of them time out together on a slow endpoint.
const maxWritesInFlight = 16

// pointTables writes the route in every configured table that does not
// already point at target, at most maxWritesInFlight at a time. A write
// that timed out may have been performed: its table is read back before
// the write is sent again.
func (a *Agent) pointTables(ctx context.Context, r *ocf.Request, cfg *Config, routes Routes, target Target, tables []Table) error {
	todo := map[string]bool{} // table -> create
	for _, t := range onlyConfigured(cfg, tables) {
		existing := routeFor(t, cfg.Destination)
		if existing != nil && pointsAtTarget(*existing, target) {
			r.Log.Debugf("%s already routes %s to %s", t.ID, cfg.Destination, target)
			continue
		}
		todo[t.ID] = existing == nil && cfg.CreateRoute
	}
	for len(todo) > 0 {
		timedOut, err := a.writeAll(ctx, r, cfg, routes, target, todo)
		if err != nil || len(timedOut) == 0 {
			return err
		}
		// Those writes may have been performed: look before sending any
		// of them again.
		ids := make([]string, 0, len(timedOut))
		for id := range timedOut {
			ids = append(ids, id)
		}
		r.Log.Warnf("%d route writes got no answer in time (%s); reading their tables before writing again", len(ids), clip(strings.Join(ids, ", "), 60))
		read, err := routes.Tables(ctx, ids)
		if err != nil {
			return apiFailure(ctx, "cannot read back the tables whose writes timed out", err)
		}
		todo = map[string]bool{}
		for _, t := range onlyConfigured(&Config{Tables: ids}, read) {
			existing := routeFor(t, cfg.Destination)
			if existing != nil && pointsAtTarget(*existing, target) {
				continue
			}
			todo[t.ID] = existing == nil && cfg.CreateRoute
		}
		// A table the answer lacks cannot be judged: write it again.
		for _, id := range ids {
			if !containsTable(read, id) {
				todo[id] = timedOut[id]
			}
		}
	}
	return nil
}

func containsTable(tables []Table, id string) bool {
	for _, t := range tables {
		if t.ID == id {
			return true
		}
	}
	return false
}

// writeTimeout bounds one route write: a fifth of what is left of the
// action, between 1 and 10 seconds. It is below what the EC2 adapter gives
// one HTTP attempt (a quarter), so a write that gets no answer comes back
// here, to be read back, instead of being sent again blindly.
func writeTimeout(ctx context.Context) time.Duration {
	d := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl) / 5
	}
	return min(max(d, time.Second), 10*time.Second)
}

// writeAll sends the writes of todo (table -> create), at most
// maxWritesInFlight at once. It returns the tables whose write timed out
// (with their create flag), or the first failure.
func (a *Agent) writeAll(ctx context.Context, r *ocf.Request, cfg *Config, routes Routes, target Target, todo map[string]bool) (map[string]bool, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		errs     []string
		code     = ocf.Success
		timedOut = map[string]bool{}
		slots    = make(chan struct{}, maxWritesInFlight)
	)
	for _, id := range cfg.Tables {
		create, ok := todo[id]
		if !ok {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(table string, create bool) {
			defer wg.Done()
			defer func() { <-slots }()
			wctx, cancel := context.WithTimeout(ctx, writeTimeout(ctx))
			err := writeRoute(wctx, routes, Write{Table: table, Destination: cfg.Destination, Target: target, Create: create}, cfg.CreateRoute)
			expired := wctx.Err() != nil
			cancel()
			if err == nil {
				r.Log.Debugf("%s: %s -> %s written", table, cfg.Destination, target)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if expired && ctx.Err() == nil {
				timedOut[table] = create
				return
			}
			res := apiFailure(ctx, "cannot point "+table+" at "+target.String(), err)
			errs = append(errs, res.Error())
			code = worseCode(code, ocf.CodeOf(res))
		}(id, create)
	}
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		errs = append(errs, apiFailure(ctx, "cannot point the route tables at "+target.String(), ctx.Err()).Error())
		code = ocf.ErrGeneric
	}
	if len(errs) > 0 {
		reason := errs[0]
		if len(errs) > 1 {
			reason = fmt.Sprintf("%s (+%d tables)", reason, len(errs)-1)
		}
		return nil, ocf.Fail(code, reason, errors.New(strings.Join(errs, "; ")))
	}
	return timedOut, nil
}

// writeRoute creates or replaces one route, switching to the other call
// when the table changed under us (a route created or deleted meanwhile).
func writeRoute(ctx context.Context, routes Routes, w Write, mayCreate bool) error {
	err := routes.Write(ctx, w)
	switch {
	case err == nil:
		return nil
	case w.Create && KindOf(err) == KindRouteExists:
		w.Create = false
		return routes.Write(ctx, w)
	case !w.Create && KindOf(err) == KindRouteNotFound && mayCreate:
		w.Create = true
		return routes.Write(ctx, w)
	}
	return err
}

// timing is how long start's read-back and monitor's second read wait.
// The binary uses defaultTiming; unit tests shrink it (Agent.timing), so
// that they run the same logic without the real pauses.
//
// A rival that started at the same moment as this node writes within
// about the time this node took to see its own writes (the same steps,
// against the same EC2), so after every table has shown this node, start
// keeps reading for stayFactor times that long, at least minStay and at
// most maxStay, polling every stayPoll at most. A target that comes back
// must be read staleConfirmReads times in a row over staleConfirm before
// it counts: EC2's reads need not even be monotonic.
type timing struct {
	minStay, maxStay time.Duration
	stayPoll         time.Duration
	staleConfirm     time.Duration
	// firstPoll is the read-back's first pause, doubled up to maxPoll
	// until every table has shown this node.
	firstPoll, maxPoll time.Duration
	// confirmPause is how long a monitor waits before reading again a
	// readable answer that would fail it (7 or 1): one stale read of an
	// eventually consistent API must not move the resource.
	confirmPause time.Duration
}

func defaultTiming() timing {
	return timing{
		minStay:      time.Second,
		maxStay:      3 * time.Second,
		stayPoll:     200 * time.Millisecond,
		staleConfirm: 500 * time.Millisecond,
		firstPoll:    50 * time.Millisecond,
		maxPoll:      time.Second,
		confirmPause: time.Second,
	}
}

const (
	stayFactor        = 2
	staleConfirmReads = 3
)

// settleReserve is what the read-back leaves of the action for handing the
// tables over and exiting: a fifth of the action, between 0.5 and 5 s.
func settleReserve(begin time.Time, deadline time.Time) time.Duration {
	return min(max(deadline.Sub(begin)/5, 500*time.Millisecond), 5*time.Second)
}

// readBack polls the tables until every one has shown this node and then
// for the stay window (see the constants above), waiting out eventual
// consistency for as long as the action's deadline allows. It returns the
// last tables read and, when it found one, the rival; an error when the
// tables did not all show this node in time.
func (a *Agent) readBack(ctx context.Context, r *ocf.Request, cfg *Config, routes Routes, watch *tableWatch, begin time.Time) ([]Table, *rival, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	settleBy := deadline.Add(-settleReserve(begin, deadline))
	tm := a.timing
	pause := tm.firstPoll
	var (
		last    []Table
		lastErr error
		stayTo  time.Time // zero until every table has shown this node
	)
	for {
		tables, err := routes.Tables(ctx, cfg.Tables)
		now := time.Now()
		if err == nil {
			last = onlyConfigured(cfg, tables)
			if rv := watch.observe(last, now); rv != nil {
				return last, rv, nil
			}
			if stayTo.IsZero() && watch.allSeen() {
				stay := min(max(tm.minStay, stayFactor*now.Sub(begin)), tm.maxStay)
				stayTo = now.Add(min(stay, max(0, time.Until(deadline)-time.Second)))
				r.Log.Debugf("every table has shown this node after %s; reading until %s for a rival's writes", now.Sub(begin).Round(time.Millisecond), stayTo.Sub(now).Round(time.Millisecond))
			}
			if !stayTo.IsZero() && !now.Before(stayTo) && watch.settled() {
				return last, nil, nil
			}
			if stayTo.IsZero() && now.After(settleBy) {
				states := evaluate(cfg.Destination, watch.self, last)
				return last, nil, ocf.Fail(ocf.ErrGeneric, "not all tables showed this node in time: "+summary(cfg.Destination, states),
					errors.New(details(cfg.Destination, states)))
			}
			r.Log.Debugf("read back: %s", summary(cfg.Destination, evaluate(cfg.Destination, watch.self, last)))
		} else {
			lastErr = err
			if ctx.Err() != nil {
				return last, nil, apiFailure(ctx, "cannot read the route tables back", err)
			}
		}
		wait := pause
		if !stayTo.IsZero() {
			wait = min(tm.stayPoll, max(time.Until(stayTo)/2, tm.firstPoll))
		} else {
			pause = min(2*pause, tm.maxPoll)
		}
		select {
		case <-ctx.Done():
			if last != nil {
				states := evaluate(cfg.Destination, watch.self, last)
				return last, nil, ocf.Fail(ocf.ErrGeneric, "not all tables showed this node in time: "+summary(cfg.Destination, states),
					errors.New(details(cfg.Destination, states)))
			}
			return nil, nil, apiFailure(ctx, "cannot read the route tables back", errors.Join(lastErr, ctx.Err()))
		case <-time.After(wait):
		}
	}
}

// rival is another node found writing the VIP's route during start.
type rival struct {
	id, mine string // the rival's id and this node's, of the same kind
	target   Target // the rival's target as its route names it
	why      string // what showed it, for the log
}

// tableWatch judges what the read-back shows, table by table. known holds
// the node targets a table had before this node's latest write to it: a
// read may show any of them for a while (eventual consistency), so they
// are not rivals by themselves. seen is set once the table has shown this
// node. A rival is a node target that was never in the table (it wrote
// after our read), or a known one that shows again after seen, in
// staleConfirmReads reads in a row over staleConfirm.
type tableWatch struct {
	cfg          *Config
	self         Self
	staleConfirm time.Duration
	known        map[string][]Route
	seen         map[string]bool
	streak       map[string]int
	since        map[string]time.Time
	here         map[string]bool // the latest read showed this node
}

func newTableWatch(cfg *Config, self Self, before []Table, staleConfirm time.Duration) *tableWatch {
	w := &tableWatch{cfg: cfg, self: self, staleConfirm: staleConfirm, known: map[string][]Route{}, seen: map[string]bool{},
		streak: map[string]int{}, since: map[string]time.Time{}, here: map[string]bool{}}
	w.remember(before)
	return w
}

// remember adds the node targets of tables to what they are known to have
// held before this node's writes.
func (w *tableWatch) remember(tables []Table) {
	for _, t := range tables {
		rt := routeFor(t, w.cfg.Destination)
		if rt == nil || rt.Blackhole || w.self.Owns(rt.InstanceID, rt.ENI) || (rt.InstanceID == "" && rt.ENI == "") {
			continue
		}
		w.known[t.ID] = append(w.known[t.ID], *rt)
	}
}

// retake starts over after this node took the tables back from a rival:
// the rival's target is now an old one too, and each table must show this
// node again.
func (w *tableWatch) retake(last []Table) {
	w.remember(last)
	for _, id := range w.cfg.Tables {
		w.seen[id], w.streak[id], w.here[id] = false, 0, false
	}
}

func (w *tableWatch) allSeen() bool {
	for _, id := range w.cfg.Tables {
		if !w.seen[id] {
			return false
		}
	}
	return true
}

// settled reports whether the latest read showed this node in every table;
// a table whose latest read showed an old target may be a stale read or a
// rival coming back, which the next reads tell apart.
func (w *tableWatch) settled() bool {
	for _, id := range w.cfg.Tables {
		if !w.here[id] {
			return false
		}
	}
	return true
}

// observe takes one read back and returns the rival it shows, if any.
func (w *tableWatch) observe(tables []Table, now time.Time) *rival {
	for _, id := range w.cfg.Tables {
		w.here[id] = false
	}
	for _, t := range tables {
		rt := routeFor(t, w.cfg.Destination)
		switch {
		case rt == nil || rt.Blackhole || (rt.InstanceID == "" && rt.ENI == ""):
			// No node: a stale read of a table that had none, or one
			// changed by hand; not a rival, and not here.
			w.streak[t.ID] = 0
			continue
		case w.self.Owns(rt.InstanceID, rt.ENI):
			w.seen[t.ID], w.here[t.ID], w.streak[t.ID] = true, true, 0
			continue
		}
		if !w.wasKnown(t.ID, *rt) {
			return w.rivalOf(*rt, fmt.Sprintf("%s now routes it to %s, which it did not before this node wrote", t.ID, describeRoute(rt)))
		}
		if !w.seen[t.ID] {
			continue // the old owner, in a read older than our write
		}
		if w.streak[t.ID] == 0 {
			w.since[t.ID] = now
		}
		w.streak[t.ID]++
		if w.streak[t.ID] >= staleConfirmReads && now.Sub(w.since[t.ID]) >= w.staleConfirm {
			return w.rivalOf(*rt, fmt.Sprintf("%s routes it to %s again, in %d reads over %s after it showed this node",
				t.ID, describeRoute(rt), w.streak[t.ID], now.Sub(w.since[t.ID]).Round(time.Millisecond)))
		}
	}
	return nil
}

func (w *tableWatch) wasKnown(table string, rt Route) bool {
	for _, k := range w.known[table] {
		if (rt.InstanceID != "" && rt.InstanceID == k.InstanceID) || (rt.ENI != "" && rt.ENI == k.ENI) {
			return true
		}
	}
	return false
}

// rivalOf names the node a route targets, with this node's id of the same
// kind to compare it with (instance ids where the route names one, ENI ids
// where it names only that), and the target as the route names it.
func (w *tableWatch) rivalOf(rt Route, why string) *rival {
	rv := &rival{why: why, target: Target{ENI: rt.ENI}}
	if rt.ENI == "" {
		rv.target = Target{InstanceID: rt.InstanceID}
	}
	if rt.InstanceID != "" {
		rv.id, rv.mine = rt.InstanceID, w.self.InstanceID
	} else {
		rv.id, rv.mine = rt.ENI, w.self.PrimaryENI
	}
	return rv
}
