package agent

import (
	"context"

	"github.com/suzlab/routeha/metadata"
	"github.com/suzlab/routeha/ocf"
)

// checkTables finds the configuration mistakes that only show during a
// failover: a table in another VPC, a VIP inside the VPC's own CIDR (AWS
// routes it locally and ignores the table), and a more specific route that
// would take the VIP's traffic elsewhere. The VPC CIDRs come from the
// tables' local routes, so no extra request is needed.
func checkTables(cfg *Config, self Self, tables []Table) error {
	if err := checkTablesPresent(cfg, tables); err != nil {
		return err
	}
	for _, t := range tables {
		if self.VPCID != "" && t.VPCID != "" && t.VPCID != self.VPCID {
			return ocf.Errorf(ocf.ErrConfigured,
				"route table %s belongs to %s but this instance's network interface %s is in %s; list the tables of %s in routing_table",
				t.ID, t.VPCID, self.PrimaryENI, self.VPCID, self.VPCID)
		}
		if !cfg.CreateRoute && routeFor(t, cfg.Destination) == nil {
			return ocf.Errorf(ocf.ErrConfigured,
				"route table %s has no route for %s and create_route is false; create the route or set create_route=true",
				t.ID, cfg.Destination)
		}
		for _, r := range t.Routes {
			if r.Gateway == "local" && r.Destination.Contains(cfg.IP) {
				return ocf.Errorf(ocf.ErrConfigured,
					"ip=%s lies inside %s, a CIDR of %s, which AWS routes locally whatever route table %s says; choose a VIP outside the VPC's CIDRs",
					cfg.IP, r.Destination, t.VPCID, t.ID)
			}
			if r.Destination != cfg.Destination && r.Destination.Bits() >= cfg.Destination.Bits() &&
				r.Destination.Overlaps(cfg.Destination) && !self.Owns(r.InstanceID, r.ENI) {
				return ocf.Errorf(ocf.ErrConfigured,
					"route table %s has a route %s to %s that overlaps destination_cidr=%s more specifically and would take its traffic; delete it or change destination_cidr",
					t.ID, r.Destination, describeRoute(&r), cfg.Destination)
			}
		}
	}
	return nil
}

// checkSourceDest applies source_dest_check: verify fails when the check is
// on (the instance would drop the VIP's forwarded packets), disable turns
// it off (only when allowed to change things), ignore does nothing.
func checkSourceDest(ctx context.Context, cfg *Config, self Self, routes Routes, mayChange bool) error {
	if cfg.SourceDest == metadata.SourceDestIgnore || self.PrimaryENI == "" {
		return nil
	}
	on, err := routes.SourceDestCheck(ctx, self.PrimaryENI)
	if err != nil {
		return apiFailure(ctx, "cannot read the source/destination check of "+self.PrimaryENI, err)
	}
	if !on {
		return nil
	}
	if cfg.SourceDest == metadata.SourceDestVerify {
		return ocf.Errorf(ocf.ErrConfigured,
			"source/destination check is enabled on %s (%s); disable it (aws ec2 modify-network-interface-attribute --network-interface-id %s --no-source-dest-check) or set source_dest_check=disable",
			self.PrimaryENI, self.InstanceID, self.PrimaryENI)
	}
	if !mayChange {
		return nil
	}
	if err := routes.SetSourceDestCheck(ctx, self.PrimaryENI, false, false); err != nil {
		return apiFailure(ctx, "cannot disable the source/destination check of "+self.PrimaryENI, err)
	}
	return nil
}
