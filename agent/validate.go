package agent

import (
	"context"

	"github.com/suzlab/routeha/metadata"
	"github.com/suzlab/routeha/ocf"
)

// Validate checks everything start needs without changing anything:
// the parameters (6), the interface (5), the tables and the mistakes that
// only show in a failover (6), the source/destination check (6), and with
// DryRun that IAM allows each write start may make (4).
//
// Some EC2 endpoints ignore DryRun and perform the call. So that even then
// nothing changes, ReplaceRoute is probed with the route's current target
// (a no-op if performed), CreateRoute only on the node the route names,
// nothing at all where the route is missing, and the source/destination
// check with its current value.
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
	if err := checkSourceDest(ctx, cfg, self, routes, false); err != nil {
		return err
	}
	if warnings, err := otherTables(ctx, cfg, self, routes); err != nil {
		r.Log.Warnf("cannot list the other route tables of %s: %v", self.VPCID, err)
	} else {
		for _, w := range warnings {
			r.Log.Warnf("%s", w)
		}
	}
	return a.checkPermissions(ctx, r, cfg, self, routes, tables)
}

func (a *Agent) checkPermissions(ctx context.Context, r *ocf.Request, cfg *Config, self Self, routes Routes, tables []Table) error {
	for _, t := range tables {
		existing := routeFor(t, cfg.Destination)
		probe := Write{Table: t.ID, Destination: cfg.Destination, DryRun: true}
		if existing == nil {
			// Any probe could create the route where an endpoint ignores
			// DryRun (and ReplaceRoute would name this node): none is made.
			r.Log.Infof("%s has no route for %s yet; its write permissions are not probed", t.ID, cfg.Destination)
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
		switch {
		case !cfg.CreateRoute:
		case !self.Owns(existing.InstanceID, existing.ENI):
			r.Log.Infof("%s: CreateRoute permission not probed from a standby", t.ID)
		default:
			probe.Create = true
			if err := permitted(ctx, routes, probe, "CreateRoute"); err != nil {
				return err
			}
		}
	}
	if cfg.SourceDest == metadata.SourceDestDisable && self.PrimaryENI != "" {
		on, err := sourceDestOn(ctx, self, routes)
		if err != nil {
			return err
		}
		if err := routes.SetSourceDestCheck(ctx, self.PrimaryENI, on, true); err != nil && !harmless(err) {
			return apiFailure(ctx, "ec2:ModifyNetworkInterfaceAttribute on "+self.PrimaryENI, err)
		}
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
