package agent

import (
	"fmt"
	"net/netip"

	"github.com/suzlab/routeha/metadata"
	"github.com/suzlab/routeha/ocf"
)

// Config is a resource's parameters after defaults and every check, typed.
type Config struct {
	IP          netip.Addr
	Destination netip.Prefix
	Tables      []string
	Address     Address
	LookupType  string
	SourceDest  string
	CreateRoute bool
	Region      string
	Profile     string
	Endpoint    string
	AuthType    string
	Role        string

	// Resource is OCF_RESOURCE_INSTANCE; RscTmp is HA_RSCTMP.
	Resource string
	RscTmp   string
	// Values keeps the raw values, for logging what was set.
	Values metadata.Values
}

// ParseConfig reads and checks every parameter. Any problem is an
// *ocf.Error with code ErrConfigured and one sentence naming the
// parameter and its value.
func ParseConfig(md *metadata.Agent, env *ocf.Env) (*Config, error) {
	v, err := md.Parse(env.Param)
	if err != nil {
		return nil, ocf.Errorf(ocf.ErrConfigured, "%w", err)
	}
	cfg := &Config{
		LookupType:  v.Get(metadata.ParamLookupType),
		SourceDest:  v.Get(metadata.ParamSourceDestCheck),
		CreateRoute: v.Bool(metadata.ParamCreateRoute),
		Region:      v.Get(metadata.ParamRegion),
		Profile:     v.Get(metadata.ParamProfile),
		Endpoint:    v.Get(metadata.ParamEndpoint),
		AuthType:    v.Get(metadata.ParamAuthType),
		Role:        v.Get(metadata.ParamRoutingTableRole),
		Resource:    env.ResourceInstance(),
		RscTmp:      env.RscTmp(),
		Values:      v,
	}
	// The table's checks have run, so these parse.
	cfg.IP = netip.MustParseAddr(v.Get(metadata.ParamIP))
	cfg.Tables, _ = metadata.ParseTableIDs(v.Get(metadata.ParamRoutingTable))

	if s := v.Get(metadata.ParamDestinationCIDR); s != "" {
		cfg.Destination = netip.MustParsePrefix(s)
		if cfg.Destination.Addr().Is4() != cfg.IP.Is4() {
			return nil, configErr(metadata.ParamDestinationCIDR, s, "is not of the same address family as ip=%s", cfg.IP)
		}
		if !cfg.Destination.Contains(cfg.IP) {
			return nil, configErr(metadata.ParamDestinationCIDR, s, "does not contain ip=%s", cfg.IP)
		}
	} else {
		cfg.Destination = netip.PrefixFrom(cfg.IP, cfg.IP.BitLen())
	}

	cfg.Address = Address{
		Prefix:    netip.PrefixFrom(cfg.IP, cfg.IP.BitLen()),
		Interface: v.Get(metadata.ParamInterface),
	}
	if cfg.IP.Is4() {
		// Linux keeps IPv4 labels in IFNAMSIZ (16 bytes with the NUL).
		label := cfg.Address.Interface + ":" + v.Get(metadata.ParamIflabel)
		if len(label) > 15 {
			return nil, configErr(metadata.ParamIflabel, v.Get(metadata.ParamIflabel),
				"makes the label %q longer than 15 characters", label)
		}
		cfg.Address.Label = label
	}
	if cfg.AuthType == metadata.AuthRole && v.IsSet(metadata.ParamProfile) {
		return nil, configErr(metadata.ParamProfile, cfg.Profile,
			"cannot be used with auth_type=role, which uses the instance profile")
	}
	return cfg, nil
}

func configErr(param, value, format string, args ...any) error {
	return ocf.Errorf(ocf.ErrConfigured, "%w", &metadata.ParamError{
		Param: param, Value: value, Reason: fmt.Sprintf(format, args...),
	})
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
