package agent

import (
	"context"
	"net/netip"

	"github.com/suzlab/routeha/metadata"
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
	cfg, err := ParseConfig(a.meta, r.Env)
	if err != nil {
		addr, ok := a.stopAddress(r.Env)
		if !ok {
			r.Log.Warnf("stop with an unusable configuration (%v): nothing to remove", err)
			return nil
		}
		r.Log.Warnf("stop with an unusable configuration (%v): removing %s from %s", err, addr.Prefix, addr.Interface)
		return a.removeVIP(ctx, r, addr)
	}
	a.logIgnored(r.Log, cfg)
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
func (a *Agent) stopAddress(env *ocf.Env) (Address, bool) {
	get := func(name string) string {
		if v, ok := env.Param(name); ok && v != "" {
			return v
		}
		if name == metadata.ParamIP {
			if v, ok := env.Param(metadata.ParamAddress); ok {
				return v
			}
		}
		p, _ := a.meta.Param(name)
		return p.Default
	}
	ip, err := netip.ParseAddr(get(metadata.ParamIP))
	if err != nil || ip.Zone() != "" {
		return Address{}, false
	}
	addr := Address{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Interface: get(metadata.ParamInterface)}
	if ip.Is4() {
		addr.Label = addr.Interface + ":" + get(metadata.ParamIflabel)
		if len(addr.Label) > 15 {
			addr.Label = ""
		}
	}
	return addr, addr.Interface != ""
}
