package agent_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/ocf"
)

const (
	cfgIP  = "192.0.2.10"
	cfgRTB = "rtb-0123456789abcdef0"
)

// envOf builds an ocf.Env with OCF_RESKEY_<k>=<v> for each pair, on top of
// the minimal valid ip and routing_table unless overridden. A value of
// "<unset>" removes the parameter.
func envOf(kv ...string) *ocf.Env {
	params := map[string]string{"ip": cfgIP, "routing_table": cfgRTB}
	var extra []string
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.HasPrefix(kv[i], "OCF_") || strings.HasPrefix(kv[i], "HA_") {
			extra = append(extra, kv[i]+"="+kv[i+1])
			continue
		}
		params[kv[i]] = kv[i+1]
	}
	environ := extra
	for k, v := range params {
		if v == "<unset>" {
			continue
		}
		environ = append(environ, "OCF_RESKEY_"+k+"="+v)
	}
	return ocf.NewEnv(environ)
}

func parseCfg(env *ocf.Env) (*agent.Config, error) {
	return agent.ParseConfig(env)
}

// requireConfigErr checks the contract for a bad configuration: an
// *ocf.Error with OCF_ERR_CONFIGURED, and one sentence naming the
// parameter (and its value, when it has one).
func requireConfigErr(t *testing.T, err error, param, value string) {
	t.Helper()
	require.Error(t, err)
	var oe *ocf.Error
	require.True(t, errors.As(err, &oe), "%T: %v", err, err)
	assert.Equal(t, ocf.ErrConfigured, oe.Code)
	assert.Equal(t, ocf.ErrConfigured, ocf.CodeOf(err))
	msg := err.Error()
	assert.NotEmpty(t, msg)
	assert.NotContains(t, msg, "\n")
	assert.Contains(t, msg, "parameter "+param, msg)
	if value != "" {
		assert.Contains(t, msg, value, msg)
	}
	var pe *ocf.ParamError
	if assert.True(t, errors.As(err, &pe), "the *ParamError is reachable: %v", err) {
		assert.Equal(t, param, pe.Param)
	}
}

func TestParseConfigBadInputs(t *testing.T) {
	cases := []struct {
		name  string
		env   *ocf.Env
		param string
		value string
	}{
		{"missing ip", envOf("ip", "<unset>"), "ip", ""},
		{"empty ip", envOf("ip", ""), "ip", ""},
		{"missing routing_table", envOf("routing_table", "<unset>"), "routing_table", ""},
		{"malformed ip", envOf("ip", "192.0.2.300"), "ip", "192.0.2.300"},
		{"ip with prefix", envOf("ip", "192.0.2.10/32"), "ip", "192.0.2.10/32"},
		{"loopback ip", envOf("ip", "127.0.0.1"), "ip", "127.0.0.1"},
		{"malformed CIDR", envOf("destination_cidr", "192.0.2.0/40"), "destination_cidr", "192.0.2.0/40"},
		{"CIDR with host bits", envOf("destination_cidr", "192.0.2.10/24"), "destination_cidr", "192.0.2.10/24"},
		{"CIDR not containing ip", envOf("destination_cidr", "198.51.100.0/24"), "destination_cidr", "198.51.100.0/24"},
		{"family mismatch v4 ip v6 cidr", envOf("destination_cidr", "2001:db8::/64"), "destination_cidr", "2001:db8::/64"},
		{"family mismatch v6 ip v4 cidr", envOf("ip", "2001:db8::10", "destination_cidr", "192.0.2.0/24"), "destination_cidr", "192.0.2.0/24"},
		{"family mismatch v4-mapped cidr", envOf("destination_cidr", "::ffff:192.0.2.0/120"), "destination_cidr", "::ffff:192.0.2.0/120"},
		{"bad rtb id", envOf("routing_table", "rtb-xyz"), "routing_table", "rtb-xyz"},
		{"uppercase rtb id", envOf("routing_table", "rtb-0123ABCD"), "routing_table", "rtb-0123ABCD"},
		{"duplicate table", envOf("routing_table", "rtb-0123abcd,rtb-0123abcd"), "routing_table", "rtb-0123abcd"},
		{"unknown lookup_type", envOf("lookup_type", "Eni"), "lookup_type", "Eni"},
		{"label over 15 chars", envOf("interface", "averyverylongif", "iflabel", "12"), "iflabel", "12"},
		{"bad interface", envOf("interface", "eth 0"), "interface", "eth 0"},
		{"bad source_dest_check", envOf("source_dest_check", "on"), "source_dest_check", "on"},
		{"bad create_route", envOf("create_route", "sometimes"), "create_route", "sometimes"},
		{"bad region", envOf("region", "mars-1"), "region", "mars-1"},
		{"bad endpoint", envOf("endpoint", "ec2.local"), "endpoint", "ec2.local"},
		{"bad role", envOf("routing_table_role", "admin"), "routing_table_role", "admin"},
		{"profile with auth_type=role", envOf("auth_type", "role", "profile", "prod"), "profile", "prod"},
		{"alias conflict", envOf("address", "192.0.2.11"), "address", "192.0.2.11"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseCfg(c.env)
			assert.Nil(t, cfg)
			requireConfigErr(t, err, c.param, c.value)
		})
	}
}

func TestParseConfigLabelMessageNamesTheLabel(t *testing.T) {
	_, err := parseCfg(envOf("interface", "averyverylongif", "iflabel", "12"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "averyverylongif:12")
	assert.Contains(t, err.Error(), "15")

	// 15 characters exactly is fine.
	cfg, err := parseCfg(envOf("interface", "averyverylong", "iflabel", "1"))
	require.NoError(t, err)
	assert.Equal(t, "averyverylong:1", cfg.Address.Label)
	assert.Len(t, cfg.Address.Label, 15)

	// IPv6 has no labels: the length does not matter.
	cfg, err = parseCfg(envOf("ip", "2001:db8::10", "interface", "averyverylongif", "iflabel", "12"))
	require.NoError(t, err)
	assert.Empty(t, cfg.Address.Label)
}

func TestParseConfigDefaultsIPv4(t *testing.T) {
	cfg, err := parseCfg(envOf("OCF_RESOURCE_INSTANCE", "vip", "HA_RSCTMP", "/tmp/rsc"))
	require.NoError(t, err)
	assert.Equal(t, netip.MustParseAddr(cfgIP), cfg.IP)
	assert.Equal(t, netip.MustParsePrefix("192.0.2.10/32"), cfg.Destination)
	assert.Equal(t, []string{cfgRTB}, cfg.Tables)
	assert.Equal(t, agent.Address{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Interface: "lo", Label: "lo:0"}, cfg.Address)
	assert.Equal(t, agent.LookupENI, cfg.LookupType)
	assert.Equal(t, agent.SourceDestVerify, cfg.SourceDest)
	assert.True(t, cfg.CreateRoute)
	assert.Empty(t, cfg.Region)
	assert.Empty(t, cfg.Profile)
	assert.Empty(t, cfg.Endpoint)
	assert.Empty(t, cfg.Role)
	assert.Equal(t, agent.AuthKey, cfg.AuthType)
	assert.Equal(t, "vip", cfg.Resource)
	assert.Equal(t, "/tmp/rsc", cfg.RscTmp)
}

func TestParseConfigDefaultsIPv6(t *testing.T) {
	cfg, err := parseCfg(envOf("ip", "2001:db8::10"))
	require.NoError(t, err)
	assert.Equal(t, netip.MustParsePrefix("2001:db8::10/128"), cfg.Destination)
	assert.Equal(t, netip.MustParsePrefix("2001:db8::10/128"), cfg.Address.Prefix)
	assert.Equal(t, "lo", cfg.Address.Interface)
	assert.Empty(t, cfg.Address.Label, "IPv6 addresses have no label")
}

func TestParseConfigExplicitValues(t *testing.T) {
	cfg, err := parseCfg(envOf(
		"routing_table", "rtb-0123abcd , rtb-0123456789abcdef0",
		"destination_cidr", "192.0.2.0/24",
		"interface", "eth0", "iflabel", "vip",
		"lookup_type", "InstanceId", "source_dest_check", "disable", "create_route", "no",
		"region", "eu-west-1", "profile", "prod", "endpoint", "http://127.0.0.1:5000",
		"routing_table_role", "arn:aws:iam::123456789012:role/routeha",
	))
	require.NoError(t, err)
	assert.Equal(t, []string{"rtb-0123abcd", "rtb-0123456789abcdef0"}, cfg.Tables)
	assert.Equal(t, netip.MustParsePrefix("192.0.2.0/24"), cfg.Destination)
	assert.Equal(t, netip.MustParsePrefix("192.0.2.10/32"), cfg.Address.Prefix, "the VIP itself is always /32")
	assert.Equal(t, "eth0:vip", cfg.Address.Label)
	assert.Equal(t, agent.LookupInstance, cfg.LookupType)
	assert.Equal(t, agent.SourceDestDisable, cfg.SourceDest)
	assert.False(t, cfg.CreateRoute)
	assert.Equal(t, "eu-west-1", cfg.Region)
	assert.Equal(t, "prod", cfg.Profile)
	assert.Equal(t, "http://127.0.0.1:5000", cfg.Endpoint)
	assert.Equal(t, "arn:aws:iam::123456789012:role/routeha", cfg.Role)
	assert.True(t, cfg.Values.IsSet("region"))
}

func TestParseConfigAddressAlias(t *testing.T) {
	cfg, err := parseCfg(envOf("ip", "<unset>", "address", "198.51.100.5"))
	require.NoError(t, err)
	assert.Equal(t, netip.MustParseAddr("198.51.100.5"), cfg.IP)
	assert.Equal(t, netip.MustParsePrefix("198.51.100.5/32"), cfg.Destination)
}

func TestParseConfigDestinationContainsIP(t *testing.T) {
	for _, c := range []struct{ ip, cidr string }{
		{"192.0.2.10", "192.0.2.10/32"}, {"192.0.2.10", "192.0.2.0/24"}, {"192.0.2.10", "0.0.0.0/0"},
		{"2001:db8::10", "2001:db8::/32"}, {"2001:db8::10", "2001:db8::10/128"},
	} {
		cfg, err := parseCfg(envOf("ip", c.ip, "destination_cidr", c.cidr))
		require.NoError(t, err, c)
		assert.Equal(t, c.cidr, cfg.Destination.String())
		assert.True(t, cfg.Destination.Contains(cfg.IP))
	}
}

func TestConfigTarget(t *testing.T) {
	one := agent.Self{InstanceID: "i-0123456789abcdef0", PrimaryENI: "eni-0123456789abcdef0", ENIs: []string{"eni-0123456789abcdef0"}}
	two := agent.Self{InstanceID: "i-0123456789abcdef0", PrimaryENI: "eni-0123456789abcdef0", ENIs: []string{"eni-0123456789abcdef0", "eni-1"}}

	cfg, err := parseCfg(envOf())
	require.NoError(t, err)
	assert.Equal(t, agent.Target{ENI: "eni-0123456789abcdef0"}, cfg.Target(one), "default lookup_type is the primary ENI")

	cfg, err = parseCfg(envOf("lookup_type", "NetworkInterfaceId"))
	require.NoError(t, err)
	assert.Equal(t, agent.Target{ENI: "eni-0123456789abcdef0"}, cfg.Target(one))
	second := two
	second.VIPENI = "eni-1"
	assert.Equal(t, agent.Target{ENI: "eni-1"}, cfg.Target(second), "the ENI behind the interface")

	cfg, err = parseCfg(envOf("lookup_type", "InstanceId"))
	require.NoError(t, err)
	assert.Equal(t, agent.Target{InstanceID: "i-0123456789abcdef0"}, cfg.Target(one))
	assert.Equal(t, "i-0123456789abcdef0", cfg.Target(one).String())
	// EC2 refuses an instance with several ENIs as a route target.
	assert.Equal(t, agent.Target{ENI: "eni-0123456789abcdef0"}, cfg.Target(two))
	assert.Equal(t, agent.Target{ENI: "eni-1"}, cfg.Target(second))
}

// FuzzParseConfig sets every OCF_RESKEY_* parameter of the table from the
// fuzzer's input. ParseConfig must never panic; it either returns a
// configuration whose Destination contains IP, or an *ocf.Error with
// OCF_ERR_CONFIGURED and a non-empty, single-line reason.
func FuzzParseConfig(f *testing.F) {
	f.Add("192.0.2.10", "rtb-0123456789abcdef0", "", "", "", "", "", "", "", "", "", "", "", "")
	f.Add("2001:db8::10", "rtb-0123abcd,rtb-4567abcd", "2001:db8::/64", "eth0", "vip", "InstanceId", "disable", "no",
		"eu-west-1", "prod", "http://127.0.0.1:5000", "key", "arn:aws:iam::123456789012:role/r", "198.51.100.1")
	f.Fuzz(func(t *testing.T, ip, rtb, cidr, iface, label, lookupType, sdc, create, region, profile, endpoint, auth, role, address string) {
		vals := map[string]string{
			"ip": ip, "routing_table": rtb, "destination_cidr": cidr, "interface": iface, "iflabel": label,
			"lookup_type": lookupType, "source_dest_check": sdc, "create_route": create, "region": region,
			"profile": profile, "endpoint": endpoint, "auth_type": auth, "routing_table_role": role, "address": address,
			// The no-effect parameters get a value derived from the input too.
			"awscli": profile, "monapi": create, "curl_retries": label, "curl_sleep": iface, "awscli_timeout": region,
		}
		var environ []string
		for k, v := range vals {
			environ = append(environ, "OCF_RESKEY_"+k+"="+v)
		}
		md := agent.New("fuzz", nil).Definition()
		// Every parameter of the table is covered.
		for _, p := range md.Params {
			if _, ok := vals[p.Name]; !ok {
				t.Fatalf("parameter %s not fuzzed", p.Name)
			}
		}
		cfg, err := agent.ParseConfig(ocf.NewEnv(environ))
		if err != nil {
			if cfg != nil {
				t.Fatalf("both a config and an error: %v", err)
			}
			var oe *ocf.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %T is not an *ocf.Error: %v", err, err)
			}
			if oe.Code != ocf.ErrConfigured {
				t.Fatalf("code %v, want OCF_ERR_CONFIGURED: %v", oe.Code, err)
			}
			msg := err.Error()
			if strings.TrimSpace(msg) == "" || strings.ContainsAny(msg, "\n\r\x00") || !utf8.ValidString(msg) {
				t.Fatalf("reason is not one non-empty line: %q", msg)
			}
			if !strings.HasPrefix(msg, "parameter ") {
				t.Fatalf("reason does not name a parameter: %q", msg)
			}
			return
		}
		if cfg == nil {
			t.Fatal("no config and no error")
		}
		if !cfg.IP.IsValid() || !cfg.Destination.IsValid() {
			t.Fatalf("invalid IP %v or destination %v", cfg.IP, cfg.Destination)
		}
		if !cfg.Destination.Contains(cfg.IP) {
			t.Fatalf("destination %s does not contain ip %s", cfg.Destination, cfg.IP)
		}
		if cfg.Address.Prefix != netip.PrefixFrom(cfg.IP, cfg.IP.BitLen()) {
			t.Fatalf("address %s is not the ip alone", cfg.Address.Prefix)
		}
		if len(cfg.Tables) == 0 {
			t.Fatal("no tables")
		}
		if cfg.IP.Is4() && (cfg.Address.Label == "" || len(cfg.Address.Label) > 15) {
			t.Fatalf("IPv4 label %q", cfg.Address.Label)
		}
		if !cfg.IP.Is4() && cfg.Address.Label != "" {
			t.Fatalf("IPv6 label %q", cfg.Address.Label)
		}
		if cfg.LookupType != agent.LookupENI && cfg.LookupType != agent.LookupInstance {
			t.Fatalf("lookup_type %q", cfg.LookupType)
		}
	})
}
