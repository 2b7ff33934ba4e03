package agent

import (
	"context"
	"strings"

	"github.com/suzlab/routeha/ocf"
)

// resolveVIPENI sets self.VIPENI, the ENI the route targets, from the
// resource's interface, as aws-vpc-move-ip finds it: for a real NIC (one
// with a MAC address, such as the vendor guides' eth0) the ENI whose MAC
// it has, which IMDS lists under network/interfaces/macs/<mac>/; for lo
// (the Routing-Based HA post's layout) the primary ENI. An instance with
// a client and a replication network has several ENIs, and the route must
// reach the NIC the VIP is on.
//
// It also says why, with lookup_type=InstanceId on an instance with more
// than one ENI, the route names that ENI instead: EC2 refuses an instance
// target then ("multiple network interfaces", resource-agents #1320).
func (a *Agent) resolveVIPENI(ctx context.Context, log *ocf.Logger, cfg *Config, self Self) (Self, error) {
	self.VIPENI = self.PrimaryENI
	mac, err := a.adapters.VIP().HardwareAddr(ctx, cfg.Address.Interface)
	if err != nil {
		return self, ocf.Errorf(ocf.ErrGeneric, "cannot read the MAC address of %s: %w", cfg.Address.Interface, err)
	}
	if mac != "" {
		switch eni, ok := self.MACs[strings.ToLower(mac)]; {
		case ok:
			self.VIPENI = eni
		case len(self.MACs) == 0:
			// An identity that did not come from IMDS (DescribeInstances
			// where IMDS is disabled) knows no MACs.
			log.Warnf("this instance's identity lists no MAC addresses, so the ENI of %s (%s) is unknown; routing to the primary ENI %s",
				cfg.Address.Interface, mac, self.PrimaryENI)
		default:
			return self, ocf.Errorf(ocf.ErrConfigured,
				"interface %s (MAC %s) is not one of this instance's ENIs; set interface to a NIC of an ENI, or lo", cfg.Address.Interface, mac)
		}
	}
	if cfg.LookupType == LookupInstance && len(self.ENIs) > 1 {
		log.Infof("lookup_type=InstanceId: this instance has %d network interfaces and EC2 refuses an instance as the route target then; the route targets %s (the ENI of %s) instead",
			len(self.ENIs), self.VIPENI, cfg.Address.Interface)
	}
	return self, nil
}

// Target is the route target for this node, following lookup_type: the
// instance, or the ENI behind the interface (Self.VIPENI, the primary ENI
// when unset). An instance with several ENIs is targeted by that ENI
// whatever lookup_type says, since EC2 refuses the instance then.
func (c *Config) Target(self Self) Target {
	eni := self.vipENI()
	if c.LookupType == LookupInstance && len(self.ENIs) <= 1 {
		return Target{InstanceID: self.InstanceID}
	}
	return Target{ENI: eni}
}

// vipENI is Self.VIPENI, or the primary ENI where it was not worked out.
func (s Self) vipENI() string {
	if s.VIPENI != "" {
		return s.VIPENI
	}
	return s.PrimaryENI
}
