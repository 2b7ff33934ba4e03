package agent

import (
	"context"
	"net/netip"

	"github.com/suzlab/routeha/ocf"
)

// stopHandler removes the VIP from the interface. It calls no AWS API: a
// stop that fails gets the node fenced, so it must succeed while the API,
// IMDS or the network are down. The routes stay; the node that starts the
// resource next points them at itself.
//
// With a configuration it cannot parse, stop still removes what it can
// identify (ip, interface, iflabel) and then succeeds: nothing else of the
// resource can be running under a configuration no start accepted.
func (a *Agent) stopHandler(ctx context.Context, r *ocf.Request) error {
	cfg, err := ParseConfig(r.Env)
	if err != nil {
		addr, ok := stopAddress(r.Env)
		if !ok {
			r.Log.Warnf("stop with an unusable configuration (%v): nothing to remove", err)
			return nil
		}
		r.Log.Warnf("stop with an unusable configuration (%v): removing %s from %s", err, addr.Prefix, addr.Interface)
		return a.removeVIP(ctx, r, addr)
	}
	logIgnored(r.Log, cfg)
	return a.removeVIP(ctx, r, cfg.Address)
}

func (a *Agent) removeVIP(ctx context.Context, r *ocf.Request, addr Address) error {
	if err := a.adapters.VIP().Remove(ctx, addr); err != nil {
		return ocf.Errorf(ocf.ErrGeneric, "cannot remove %s from %s: %w", addr.Prefix, addr.Interface, err)
	}
	r.Log.Infof("%s is not on %s", addr.Prefix.Addr(), addr.Interface)
	return nil
}

// stopAddress reads just the VIP and its interface from a configuration that
// failed to parse as a whole.
func stopAddress(env *ocf.Env) (Address, bool) {
	table := params()
	get := func(name string) string {
		if v, ok := env.Param(name); ok && v != "" {
			return v
		}
		for _, p := range table {
			if p.AliasOf != name {
				continue
			}
			if v, ok := env.Param(p.Name); ok && v != "" {
				return v
			}
		}
		for _, p := range table {
			if p.Name == name {
				return p.Default
			}
		}
		return ""
	}
	ip, err := netip.ParseAddr(get(ParamIP))
	if err != nil || ip.Zone() != "" {
		return Address{}, false
	}
	addr := Address{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Interface: get(ParamInterface)}
	if ip.Is4() {
		if label, ok := ipv4Label(addr.Interface, get(ParamIflabel)); ok {
			addr.Label = label
		}
	}
	return addr, addr.Interface != ""
}
