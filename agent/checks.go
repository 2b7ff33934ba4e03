package agent

import (
	"context"

	"github.com/suzlab/routeha/ocf"
)

// A finding is the result of one configuration check; Err is nil when the
// check passed. Checks are named so that `routeha status` can list them.
type finding struct {
	Check string
	Err   error
}

// Names of the checks, as `routeha status` shows them.
const (
	checkExist      = "route tables exist"
	checkVPC        = "route tables in this instance's VPC"
	checkOutsideVPC = "ip outside the VPC's CIDRs"
	checkOverlap    = "no more specific route for the ip"
	checkRoute      = "route present or create_route=true"
	checkSrcDest    = "source/destination check"
	checkIAM        = "IAM permits the writes (DryRun)"
	checkOthers     = "other route tables of the VPC"
)

// inspectTables finds the configuration mistakes that only show during a
// failover: a missing table, a table in another VPC, a VIP inside the
// VPC's own CIDR (AWS routes it locally and ignores the table), a more
// specific route that would take the VIP's traffic elsewhere, and a
// missing route that start may not create. The VPC CIDRs come from the
// tables' local routes, so no extra request is needed.
func inspectTables(cfg *Config, self Self, tables []Table) []finding {
	fail := func(format string, args ...any) error { return ocf.Errorf(ocf.ErrConfigured, format, args...) }
	exist := finding{Check: checkExist, Err: checkTablesPresent(cfg, self, tables)}
	vpc := finding{Check: checkVPC}
	outside := finding{Check: checkOutsideVPC}
	overlap := finding{Check: checkOverlap}
	route := finding{Check: checkRoute}
	for _, t := range tables {
		if vpc.Err == nil && self.VPCID != "" && t.VPCID != "" && t.VPCID != self.VPCID {
			vpc.Err = fail("route table %s is in %s, not in this instance's %s; list tables of %s",
				t.ID, t.VPCID, self.VPCID, self.VPCID)
		}
		if route.Err == nil && !cfg.CreateRoute && routeFor(t, cfg.Destination) == nil {
			route.Err = fail("%s has no route for %s and create_route=false; create it or set create_route=true",
				t.ID, cfg.Destination)
		}
		for _, r := range t.Routes {
			if outside.Err == nil && r.Gateway == "local" && r.Destination.Contains(cfg.IP) {
				outside.Err = fail("ip=%s is inside the VPC's %s: AWS routes it locally, ignoring route tables; use an IP outside",
					cfg.IP, r.Destination)
			}
			if overlap.Err == nil && r.Destination != cfg.Destination && r.Destination.Bits() >= cfg.Destination.Bits() &&
				r.Destination.Overlaps(cfg.Destination) && !self.Owns(r.InstanceID, r.ENI) {
				overlap.Err = fail("%s: more specific route %s to %s takes traffic of %s",
					t.ID, r.Destination, describeRoute(&r), cfg.Destination)
			}
		}
	}
	return []finding{exist, vpc, outside, overlap, route}
}

// checkTables returns the first problem inspectTables finds.
func checkTables(cfg *Config, self Self, tables []Table) error {
	return firstError(inspectTables(cfg, self, tables))
}

func firstError(fs []finding) error {
	for _, f := range fs {
		if f.Err != nil {
			return f.Err
		}
	}
	return nil
}

// otherTables warns about route tables of the VPC that are not configured
// but route the VIP somewhere: clients in their subnets would not follow a
// failover. It returns the warnings; it never fails an action.
func otherTables(ctx context.Context, cfg *Config, self Self, routes Routes) ([]string, error) {
	if self.VPCID == "" {
		return nil, nil
	}
	all, err := routes.VPCTables(ctx, self.VPCID)
	if err != nil {
		return nil, err
	}
	configured := map[string]bool{}
	for _, id := range cfg.Tables {
		configured[id] = true
	}
	var warnings []string
	for _, t := range all {
		if configured[t.ID] {
			continue
		}
		if r := routeFor(t, cfg.Destination); r != nil {
			warnings = append(warnings, "route table "+t.ID+" (not in routing_table) routes "+cfg.Destination.String()+
				" to "+describeRoute(r)+"; its subnets will not follow a failover: add it to routing_table or delete that route")
		}
	}
	return warnings, nil
}

// vipInterface describes the ENI the route targets (Self.VIPENI, else the
// primary one): whose it is and its source/destination check.
func vipInterface(ctx context.Context, self Self, routes Routes) (Interface, error) {
	eni := self.vipENI()
	ifs, err := routes.Interfaces(ctx, []string{eni})
	if err != nil {
		if KindOf(err) == KindDenied {
			return Interface{}, skipIfDenied(err, "DescribeNetworkInterfaces",
				"that the source/destination check of "+eni+" is off")
		}
		return Interface{}, apiFailure(ctx, "cannot read the source/destination check of "+eni, err)
	}
	for _, i := range ifs {
		if i.ID == eni {
			if i.InstanceID != "" && self.InstanceID != "" && i.InstanceID != self.InstanceID {
				return i, ocf.Errorf(ocf.ErrGeneric, "network interface %s is attached to %s, not to this instance %s", eni, i.InstanceID, self.InstanceID)
			}
			return i, nil
		}
	}
	return Interface{}, ocf.Errorf(ocf.ErrGeneric, "EC2 does not know this instance's network interface %s", eni)
}

// sourceDestOn reads the source/destination check of the ENI the route
// targets.
func sourceDestOn(ctx context.Context, self Self, routes Routes) (bool, error) {
	i, err := vipInterface(ctx, self, routes)
	return i.SourceDestCheck, err
}

// checkSourceDest applies source_dest_check to the ENI the route targets:
// verify fails when the check is on (the instance would drop the VIP's
// forwarded packets), disable turns it off (only when allowed to change
// things), ignore does nothing. Where IAM denies reading the check, verify
// is skipped (a *Skip) and disable turns it off without reading it first.
func checkSourceDest(ctx context.Context, cfg *Config, self Self, routes Routes, mayChange bool) error {
	if cfg.SourceDest == SourceDestIgnore || self.PrimaryENI == "" {
		return nil
	}
	eni := self.vipENI()
	on, err := sourceDestOn(ctx, self, routes)
	if _, denied := skipsOf(err); denied && cfg.SourceDest == SourceDestDisable {
		if !mayChange {
			return err
		}
		on = true // unknown: turning it off is what disable asks for anyway
	} else if err != nil {
		return err
	}
	if !on {
		return nil
	}
	if cfg.SourceDest == SourceDestVerify {
		return ocf.Errorf(ocf.ErrConfigured,
			"source/dest check is on for %s (%s); turn it off or set source_dest_check=disable",
			eni, self.InstanceID)
	}
	if !mayChange {
		return nil
	}
	if err := routes.SetSourceDestCheck(ctx, eni, false, false); err != nil {
		return apiFailure(ctx, "turning off source/dest check of "+eni, err)
	}
	return nil
}
