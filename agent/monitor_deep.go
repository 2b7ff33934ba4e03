package agent

import (
	"context"
	"errors"

	"github.com/suzlab/routeha/ocf"
)

// DeepCheckLevel is the OCF_CHECK_LEVEL at which monitor also asks EC2
// about the ENI the route targets, for an operator who adds
// `op monitor interval=300s OCF_CHECK_LEVEL=10` next to the usual one.
const DeepCheckLevel = 10

// deepMonitor runs after monitor found the VIP here and every table
// routing it here. At OCF_CHECK_LEVEL 10 or more (the deepest level
// routeha has, as ocf_check_level picks it) it checks, with one
// DescribeNetworkInterfaces, that each ENI the routes name is attached to
// this instance and has its source/destination check off: someone turning
// the check back on silently drops every packet for the VIP while the
// route looks right. It answers 1 for what it observed to be wrong. Where
// IAM denies the call, or EC2 does not answer, it says so and passes: the
// VIP is still served, and a control-plane failure must not take it down.
func (a *Agent) deepMonitor(ctx context.Context, r *ocf.Request, cfg *Config, self Self, routes Routes, tables []Table) error {
	if r.Env.CheckLevel() < DeepCheckLevel || routes == nil {
		return nil
	}
	var enis []string
	seen := map[string]bool{}
	for _, t := range tables {
		if rt := routeFor(t, cfg.Destination); rt != nil && rt.ENI != "" && !seen[rt.ENI] {
			seen[rt.ENI] = true
			enis = append(enis, rt.ENI)
		}
	}
	if len(enis) == 0 {
		enis = []string{self.vipENI()} // the routes name the instance only
	}
	ifs, err := routes.Interfaces(ctx, enis)
	if err != nil {
		if KindOf(err) == KindDenied {
			r.Log.Warnf("OCF_CHECK_LEVEL=%d: ec2:DescribeNetworkInterfaces is not permitted, so it was not checked that %v is attached here with its source/dest check off; passing",
				DeepCheckLevel, enis)
			return nil
		}
		r.Log.Warnf("OCF_CHECK_LEVEL=%d: cannot read %v (%v); the ENI's attachment and source/dest check were not checked; passing", DeepCheckLevel, enis, err)
		return nil
	}
	for _, eni := range enis {
		var found *Interface
		for i := range ifs {
			if ifs[i].ID == eni {
				found = &ifs[i]
			}
		}
		switch {
		case found == nil:
			return ocf.Fail(ocf.ErrGeneric, "the route targets "+eni+", which EC2 does not know", errors.New("DescribeNetworkInterfaces did not list it"))
		case found.InstanceID != self.InstanceID:
			attached := found.InstanceID
			if attached == "" {
				attached = "no instance"
			}
			return ocf.Errorf(ocf.ErrGeneric, "the route targets %s, which is attached to %s, not to this instance", eni, attached)
		case found.SourceDestCheck:
			return ocf.Errorf(ocf.ErrGeneric, "source/dest check is on for %s, the route's target: EC2 drops the VIP's traffic; turn it off", eni)
		}
	}
	r.Log.Debugf("OCF_CHECK_LEVEL=%d: %v attached here, source/dest check off", DeepCheckLevel, enis)
	return nil
}
