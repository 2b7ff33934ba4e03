package agent

import (
	"context"
	"strings"

	"github.com/suzlab/routeha/ocf"
)

// Validate checks everything start needs without changing anything:
// the parameters (6), the interface (5), the tables and the mistakes that
// only show in a failover (6), the source/destination check (6), and with
// DryRun that IAM allows each write start may make (4).
//
// Checks that need more than the vendor guides' policy (DescribeRouteTables,
// ReplaceRoute) are skipped with one warning each where IAM denies them:
// reading the source/destination check, and CreateRoute where the route
// exists (start replaces it). What start needs (ReplaceRoute; CreateRoute
// where the route is missing and create_route=true) still fails with 4.
//
// Some EC2 endpoints ignore DryRun and perform the call. So that even then
// little changes, ReplaceRoute is probed with the route's current target
// (a no-op if performed), CreateRoute where the route exists only on the
// node the route names, and the source/destination check with its current
// value. Where the route is missing, CreateRoute is probed with this
// node's target: real EC2 honours DryRun, and a fresh install whose
// policy lacks CreateRoute must fail here, not at its first start; an
// endpoint that ignores DryRun (moto) creates the route there.
func (a *Agent) Validate(ctx context.Context, r *ocf.Request, cfg *Config) error {
	vip := a.adapters.VIP()
	ok, err := vip.InterfaceExists(ctx, cfg.Address.Interface)
	if err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot list network interfaces: %w", err)
	}
	if !ok {
		return ocf.Errorf(ocf.ErrInstalled, "interface %s does not exist on this node; check the interface parameter", cfg.Address.Interface)
	}
	self, routes, tables, err := a.observe(ctx, r.Log, cfg, startBudget())
	if err != nil {
		return err
	}
	if err := checkTables(cfg, self, tables); err != nil {
		return err
	}
	if err := skipped(r.Log, checkSourceDest(ctx, cfg, self, routes, false)); err != nil {
		return err
	}
	for _, w := range netconfigWarnings(a.adapters.Host(), cfg) {
		r.Log.Warnf("%s", w)
	}
	if warnings, err := otherTables(ctx, cfg, self, routes); err != nil {
		r.Log.Warnf("cannot list the other route tables of %s: %v", self.VPCID, err)
	} else {
		for _, w := range warnings {
			r.Log.Warnf("%s", w)
		}
	}
	return skipped(r.Log, a.checkPermissions(ctx, r, cfg, self, routes, tables))
}

// checkPermissions probes with DryRun each write start may make. A denial
// start would meet is returned as OCF_ERR_PERM; a denial start can live
// with comes back as Skips, after every probe ran.
func (a *Agent) checkPermissions(ctx context.Context, r *ocf.Request, cfg *Config, self Self, routes Routes, tables []Table) error {
	var skips Skips
	var noCreate []string // tables whose CreateRoute probe IAM denied
	for _, t := range tables {
		existing := routeFor(t, cfg.Destination)
		probe := Write{Table: t.ID, Destination: cfg.Destination, DryRun: true}
		if existing == nil {
			if !cfg.CreateRoute {
				continue // inspectTables reports it
			}
			r.Log.Infof("%s has no route for %s yet: ReplaceRoute not probed, CreateRoute probed with DryRun", t.ID, cfg.Destination)
			// start will create it: a fresh install must learn here that
			// its policy lacks CreateRoute.
			probe.Create, probe.Target = true, cfg.Target(self)
			if err := permitted(ctx, routes, probe, "CreateRoute"); err != nil {
				return err
			}
			continue
		}
		probe.Target = Target{InstanceID: existing.InstanceID, ENI: existing.ENI}
		if probe.Target.ENI != "" {
			probe.Target.InstanceID = ""
		}
		if probe.Target == (Target{}) {
			r.Log.Warnf("%s routes %s to %s; ReplaceRoute permission not probed", t.ID, cfg.Destination, describeRoute(existing))
			continue
		}
		if err := permitted(ctx, routes, probe, "ReplaceRoute"); err != nil {
			return err
		}
		// CreateRoute only from the node the route already names: performed
		// by an endpoint that ignores DryRun, it rewrites the same route;
		// from a standby it could take the route away from the active node.
		// The route exists, so start replaces it and CreateRoute is only
		// needed should it be deleted: a denial is a skipped check.
		switch {
		case !cfg.CreateRoute:
		case !self.Owns(existing.InstanceID, existing.ENI):
			r.Log.Infof("%s: CreateRoute permission not probed from a standby", t.ID)
		default:
			probe.Create = true
			err := permitted(ctx, routes, probe, "CreateRoute")
			if KindOf(err) == KindDenied {
				noCreate = append(noCreate, t.ID)
			} else if err != nil {
				return err
			}
		}
	}
	if len(noCreate) > 0 {
		skips = append(skips, &Skip{Action: "CreateRoute",
			What: "that start could create the route again in " + strings.Join(noCreate, ", ") + " should it be deleted"})
	}
	if cfg.SourceDest == SourceDestDisable && self.PrimaryENI != "" {
		eni := self.vipENI()
		on, err := sourceDestOn(ctx, self, routes)
		if s, ok := skipsOf(err); ok {
			// start turns it off without reading it: probe exactly that.
			skips, on = append(skips, s...), false
		} else if err != nil {
			return err
		}
		if err := routes.SetSourceDestCheck(ctx, eni, on, true); err != nil && !harmless(err) {
			return apiFailure(ctx, "source/dest check of "+eni, err)
		}
	}
	if len(skips) > 0 {
		return skips
	}
	return nil
}

// permitted runs one DryRun probe. Denied is OCF_ERR_PERM naming the call
// and table; answers that show the endpoint performed the call anyway
// (route exists / not found) prove the permission as well.
func permitted(ctx context.Context, routes Routes, w Write, op string) error {
	err := routes.Write(ctx, w)
	if err == nil || harmless(err) {
		return nil
	}
	return apiFailure(ctx, "ec2:"+op+" on "+w.Table, err)
}

func harmless(err error) bool {
	k := KindOf(err)
	return k == KindRouteExists || k == KindRouteNotFound
}
