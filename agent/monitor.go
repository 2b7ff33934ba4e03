package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/suzlab/routeha/ocf"
)

// Monitor answers whether the VIP is served by this node (issue 17's
// table; the exit codes of the unreadable case are in observation.go):
//
//	7    the VIP is not on the interface (no API call), or the tables
//	     were read, twice, and none routes it here
//	0    the VIP is on the interface and every table routes it here
//	1    the tables were read, twice, and they disagree
//	190  the VIP is on the interface but the tables cannot be read
//	     (API down, throttled, IAM denies, no credentials): it is still
//	     served, and a control-plane outage must not take it down
//
// A probe (interval 0) that cannot read the tables answers from this
// node's last observation of them instead: 7 if the route was elsewhere,
// 190 if here, 1 if they disagreed, and 5 (unobserved) with none at all.
// A probe with the VIP present also runs validate-all's checks on the
// tables it read, so a configuration mistake shows there with the same
// reason (6).
//
// It reads the VIP first with netlink: with the VIP absent the answer is 7
// whatever the tables say, so a probe on a standby node costs no API call
// and answers even while the EC2 API is down. With the VIP present a
// steady monitor makes exactly one DescribeRouteTables request for all
// tables; the identity comes from the per-resource cache. Only an answer
// that would fail it is read a second time, after a short pause. It never
// changes anything.
func (a *Agent) Monitor(ctx context.Context, r *ocf.Request, cfg *Config) error {
	vip := a.adapters.VIP()
	has, err := vip.Has(ctx, cfg.Address)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot read the addresses of %s: %w", cfg.Address.Interface, err)
	}
	if !has {
		return ocf.Errorf(ocf.NotRunning, "%s is not on %s", cfg.IP, cfg.Address.Interface)
	}
	self, routes, tables, err := a.observe(ctx, r.Log, cfg, monitorBudget())
	if err != nil {
		if KindOf(err) == KindTableNotFound {
			return err // read, and a table does not exist: configuration
		}
		return a.unreadable(ctx, r, cfg, self, err)
	}
	// A probe also reports the configuration mistakes validate-all finds
	// in the tables, with the same reason; it costs no extra request.
	check := checkTablesPresent
	if r.Probe {
		check = checkTables
	}
	if err := check(cfg, self, tables); err != nil {
		return err
	}
	states := evaluate(cfg.Destination, self, tables)
	if countHere(states) != len(states) {
		// A failing answer moves the resource: confirm it first, since one
		// read of an eventually consistent API may be stale.
		first := summary(cfg.Destination, states)
		tables, err = a.confirm(ctx, cfg, routes)
		if err != nil {
			if KindOf(err) == KindTableNotFound {
				return apiFailure(ctx, "cannot read route tables", err)
			}
			r.Log.Warnf("the tables read %q, and reading them again failed: %v", first, err)
			return a.unreadable(ctx, r, cfg, self, apiFailure(ctx, "cannot read route tables", err))
		}
		if err := check(cfg, self, tables); err != nil {
			return err
		}
		states = evaluate(cfg.Destination, self, tables)
		if countHere(states) == len(states) {
			r.Log.Infof("a read of the tables said %q; read again, every table routes %s here", first, cfg.Destination)
		}
	}
	switch countHere(states) {
	case len(states):
		r.Log.Debugf("%s; %s is on %s", summary(cfg.Destination, states), cfg.IP, cfg.Address.Label)
		return a.deepMonitor(ctx, r, cfg, self, routes, tables) // OCF_CHECK_LEVEL=10; monitor_deep.go
	case 0:
		return ocf.Fail(ocf.NotRunning, fmt.Sprintf("%s is on %s but %s", cfg.IP, cfg.Address.Interface,
			summary(cfg.Destination, states)), errors.New(details(cfg.Destination, states)))
	default:
		return ocf.Fail(ocf.ErrGeneric, summary(cfg.Destination, states), errors.New(details(cfg.Destination, states)))
	}
}

// confirm reads the tables again after a short pause (at most a quarter
// of what is left of the action), within the monitor's request budget.
func (a *Agent) confirm(ctx context.Context, cfg *Config, routes Routes) ([]Table, error) {
	pause := a.timing.confirmPause
	if dl, ok := ctx.Deadline(); ok {
		pause = min(pause, time.Until(dl)/4)
	}
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("before reading the tables again: %w", ctx.Err())
	case <-t.C:
	}
	return routes.Tables(ctx, cfg.Tables)
}

// checkTablesPresent fails when the answer lacks a configured table; EC2
// answers InvalidRouteTableID.NotFound instead, but not every endpoint does.
func checkTablesPresent(cfg *Config, _ Self, tables []Table) error {
	got := make(map[string]bool, len(tables))
	for _, t := range tables {
		got[t.ID] = true
	}
	for _, id := range cfg.Tables {
		if !got[id] {
			return ocf.Errorf(ocf.ErrConfigured, "route table %s does not exist; check routing_table", id)
		}
	}
	return nil
}
