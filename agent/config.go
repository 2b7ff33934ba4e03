package agent

import (
	"net/netip"

	"github.com/suzlab/routeha/ocf"
)

// Config is a resource's parameters after defaults and every check, typed.
// Its rows are in params.go; ParseConfig fills it.
type Config struct {
	IP          netip.Addr
	Destination netip.Prefix
	Tables      []string
	Address     Address
	LookupType  LookupType
	SourceDest  SourceDestCheck
	CreateRoute bool
	Region      string
	Profile     string
	Endpoint    string
	AuthType    AuthType
	Role        string

	// Resource is OCF_RESOURCE_INSTANCE; RscTmp is HA_RSCTMP.
	Resource string
	RscTmp   string
	// Values keeps the raw values, for logging what was set.
	Values ocf.Values
}

// ParseConfig reads and checks every parameter of the table (params.go).
// Any problem is an *ocf.Error with code ErrConfigured and one sentence
// naming the parameter and its value.
func ParseConfig(env *ocf.Env) (*Config, error) {
	v, err := ocf.ParseParams(params(), env.Param)
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrConfigured, "%w", err)
	}
	cfg := &Config{
		LookupType:  LookupType(v.Get(ParamLookupType)),
		SourceDest:  SourceDestCheck(v.Get(ParamSourceDestCheck)),
		CreateRoute: v.Bool(ParamCreateRoute),
		Region:      v.Get(ParamRegion),
		Profile:     v.Get(ParamProfile),
		Endpoint:    v.Get(ParamEndpoint),
		AuthType:    AuthType(v.Get(ParamAuthType)),
		Role:        v.Get(ParamRoutingTableRole),
		Resource:    env.ResourceInstance(),
		RscTmp:      env.RscTmp(),
		Values:      v,
	}
	// The table's checks have run, so these parse.
	cfg.IP = netip.MustParseAddr(v.Get(ParamIP))
	cfg.Tables, _ = ParseTableIDs(v.Get(ParamRoutingTable))

	if s := v.Get(ParamDestinationCIDR); s != "" {
		cfg.Destination = netip.MustParsePrefix(s)
		if cfg.Destination.Addr().Is4() != cfg.IP.Is4() {
			return nil, configErr(ParamDestinationCIDR, s, "is not of the same address family as ip=%s", cfg.IP)
		}
		if !cfg.Destination.Contains(cfg.IP) {
			return nil, configErr(ParamDestinationCIDR, s, "does not contain ip=%s", cfg.IP)
		}
	} else {
		cfg.Destination = netip.PrefixFrom(cfg.IP, cfg.IP.BitLen())
	}

	cfg.Address = Address{
		Prefix:    netip.PrefixFrom(cfg.IP, cfg.IP.BitLen()),
		Interface: v.Get(ParamInterface),
	}
	if cfg.IP.Is4() {
		label, ok := ipv4Label(cfg.Address.Interface, v.Get(ParamIflabel))
		if !ok {
			return nil, configErr(ParamIflabel, v.Get(ParamIflabel),
				"makes the label %q longer than 15 characters", label)
		}
		cfg.Address.Label = label
	}
	if cfg.AuthType == AuthRole && v.IsSet(ParamProfile) {
		return nil, configErr(ParamProfile, cfg.Profile,
			"cannot be used with auth_type=role, which uses the instance profile")
	}
	return cfg, nil
}

// ipv4Label is the label of an IPv4 VIP, interface:iflabel; ok is false
// when it is longer than Linux keeps (IFNAMSIZ, 16 bytes with the NUL).
func ipv4Label(iface, iflabel string) (label string, ok bool) {
	label = iface + ":" + iflabel
	return label, len(label) <= 15
}

// pointsAtTarget reports whether a route already has exactly the target
// start would write, so that start can skip a needless write.
func pointsAtTarget(r Route, t Target) bool {
	if r.Blackhole {
		return false
	}
	if t.ENI != "" {
		return r.ENI == t.ENI
	}
	return t.InstanceID != "" && r.InstanceID == t.InstanceID
}
