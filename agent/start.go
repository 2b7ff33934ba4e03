package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/suzlab/routeha/ocf"
)

// Start makes this node serve the VIP: the VIP goes on the interface first
// (so no packet routed here finds it missing), then every table's route is
// pointed here concurrently, then the tables are read back until all of
// them show this node. It is idempotent: tables already pointing here are
// not written. Everything is bounded by the action's deadline.
func (a *Agent) Start(ctx context.Context, r *ocf.Request, cfg *Config) error {
	self, routes, tables, err := a.observe(ctx, r.Log, cfg, startBudget())
	if err != nil {
		return err
	}
	if err := checkTables(cfg, self, tables); err != nil {
		return err
	}
	if err := checkSourceDest(ctx, cfg, self, routes, true); err != nil {
		return err
	}
	vip := a.adapters.VIP()
	if err := vip.Add(ctx, cfg.Address); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot add %s to %s: %w", cfg.Address.Prefix, cfg.Address.Interface, err)
	}

	target := cfg.Target(self)
	before := tables
	for round := 1; ; round++ {
		if err := a.pointTables(ctx, r, cfg, routes, target, before); err != nil {
			return err
		}
		after, err := a.readBack(ctx, r, cfg, routes, self)
		if err == nil {
			r.Log.Infof("%s now route %s to %s (%s)", describeTables(len(cfg.Tables)), cfg.Destination, target, self.InstanceID)
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		// Some table points elsewhere after our write and after the
		// read-back waited out eventual consistency: another writer. Two
		// nodes starting at once must not fight until both time out, so
		// the lower id keeps going and the other gives up. In the first
		// round a table still showing its old target may just be a slow
		// read, so only a target that changed counts as a rival then.
		prev := before
		if round > 1 {
			prev = nil
		}
		if rival, mine, theirs := rivalOf(cfg, self, after, prev); rival != "" && rival < mine {
			// The rival may have finished already, having seen every table
			// before our last writes landed: hand the tables we hold to it,
			// so that they end on one node whichever of us stops first.
			handover := a.pointTables(ctx, r, cfg, routes, theirs, after)
			reason := fmt.Sprintf("another node (%s) took %s during start; it keeps it", rival, cfg.Destination)
			detail := details(cfg.Destination, evaluate(cfg.Destination, self, after))
			if handover != nil {
				detail += "; handing the tables over failed: " + handover.Error()
			}
			return ocf.Fail(ocf.ErrGeneric, reason, errors.New(detail))
		}
		r.Log.Warnf("round %d: %v; writing again", round, err)
		before = after
	}
}

// pointTables writes the route in every table that does not already point
// at target, all at once.
func (a *Agent) pointTables(ctx context.Context, r *ocf.Request, cfg *Config, routes Routes, target Target, tables []Table) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
		code = ocf.Success
	)
	for _, t := range tables {
		existing := routeFor(t, cfg.Destination)
		if existing != nil && pointsAtTarget(*existing, target) {
			r.Log.Debugf("%s already routes %s to %s", t.ID, cfg.Destination, target)
			continue
		}
		wg.Add(1)
		go func(table string, create bool) {
			defer wg.Done()
			err := writeRoute(ctx, routes, Write{Table: table, Destination: cfg.Destination, Target: target, Create: create}, cfg.CreateRoute)
			if err == nil {
				r.Log.Debugf("%s: %s -> %s written", table, cfg.Destination, target)
				return
			}
			res := apiFailure(ctx, "cannot point "+table+" at this node", err)
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, res.Error())
			if c := ocf.CodeOf(res); code == ocf.Success || c == ocf.ErrPerm || c == ocf.ErrConfigured {
				code = c
			}
		}(t.ID, existing == nil && cfg.CreateRoute)
	}
	wg.Wait()
	if len(errs) > 0 {
		reason := errs[0]
		if len(errs) > 1 {
			reason = fmt.Sprintf("%s (+%d tables)", reason, len(errs)-1)
		}
		return ocf.Fail(code, reason, errors.New(strings.Join(errs, "; ")))
	}
	return nil
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

// readBack polls the tables until every one shows this node, waiting out
// EC2's eventual consistency with a short, growing pause. It returns the
// last tables read and an error when they still disagree after a settling
// period (or when the deadline comes).
func (a *Agent) readBack(ctx context.Context, r *ocf.Request, cfg *Config, routes Routes, self Self) ([]Table, error) {
	const settle = 3 * time.Second // how long a stale read may plausibly last
	pause := 50 * time.Millisecond
	start := time.Now()
	var last []Table
	for {
		tables, err := routes.Tables(ctx, cfg.Tables)
		if err == nil {
			last = tables
			states := evaluate(cfg.Destination, self, tables)
			if countHere(states) == len(states) {
				return tables, nil
			}
			if time.Since(start) > settle {
				return tables, fmt.Errorf("%s", summary(cfg.Destination, states))
			}
			r.Log.Debugf("read back: %s", summary(cfg.Destination, states))
		} else if ctx.Err() != nil {
			return last, apiFailure(ctx, "cannot read the route tables back", err)
		}
		select {
		case <-ctx.Done():
			if last != nil {
				states := evaluate(cfg.Destination, self, last)
				return last, ocf.Fail(ocf.ErrGeneric, "not all tables showed this node in time: "+summary(cfg.Destination, states),
					errors.New(details(cfg.Destination, states)))
			}
			return nil, apiFailure(ctx, "cannot read the route tables back", err)
		case <-time.After(pause):
		}
		if pause < time.Second {
			pause *= 2
		}
	}
}

// rivalOf returns the id of another node that a table now routes the VIP
// to, if any, with this node's id of the same kind to compare it with
// (instance ids where the route names one, ENI ids where it names only
// that), and the rival's target as its route names it. Tables whose route
// still has its target from prev are passed over.
func rivalOf(cfg *Config, self Self, tables, prev []Table) (rival, mine string, theirs Target) {
	for _, t := range tables {
		rt := routeFor(t, cfg.Destination)
		if rt == nil || rt.Blackhole || self.Owns(rt.InstanceID, rt.ENI) {
			continue
		}
		if old := previousRoute(prev, t.ID, cfg.Destination); old != nil && old.InstanceID == rt.InstanceID && old.ENI == rt.ENI {
			continue
		}
		theirs = Target{ENI: rt.ENI}
		if rt.ENI == "" {
			theirs = Target{InstanceID: rt.InstanceID}
		}
		if rt.InstanceID != "" {
			return rt.InstanceID, self.InstanceID, theirs
		}
		if rt.ENI != "" {
			return rt.ENI, self.PrimaryENI, theirs
		}
	}
	return "", "", Target{}
}

func previousRoute(prev []Table, id string, dst netip.Prefix) *Route {
	for _, t := range prev {
		if t.ID == id {
			return routeFor(t, dst)
		}
	}
	return nil
}
