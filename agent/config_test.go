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

// The parameter table itself (params.go), read by ocf.ParseParams.

// lookup turns a map into Parse's lookup function.
func lookup(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// with returns the minimal valid parameters plus (or minus, for a nil
// value) the given ones.
func with(kv ...string) map[string]string {
	m := map[string]string{"ip": cfgIP, "routing_table": cfgRTB}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func parse(t *testing.T, m map[string]string) (ocf.Values, error) {
	t.Helper()
	return ocf.ParseParams(agent.New("1", nil).Definition().Params, lookup(m))
}

func requireParamError(t *testing.T, err error, param string) *ocf.ParamError {
	t.Helper()
	require.Error(t, err)
	var pe *ocf.ParamError
	require.True(t, errors.As(err, &pe), "%T %v", err, err)
	assert.Equal(t, param, pe.Param, err.Error())
	assert.Contains(t, err.Error(), "parameter "+param)
	return pe
}

func TestParseDefaults(t *testing.T) {
	v, err := parse(t, with())
	require.NoError(t, err)
	md := agent.New("1", nil).Definition()
	for _, p := range md.Params {
		switch p.Name {
		case "ip":
			assert.Equal(t, cfgIP, v.Get(p.Name))
		case "routing_table":
			assert.Equal(t, cfgRTB, v.Get(p.Name))
		default:
			assert.Equal(t, p.Default, v.Get(p.Name), p.Name)
			assert.False(t, v.IsSet(p.Name), p.Name)
		}
	}
	assert.Equal(t, "lo", v.Get("interface"))
	assert.Equal(t, "0", v.Get("iflabel"))
	assert.Equal(t, "NetworkInterfaceId", v.Get("lookup_type"))
	assert.Equal(t, "verify", v.Get("source_dest_check"))
	assert.True(t, v.Bool("create_route"))
	assert.Equal(t, "", v.Get("destination_cidr"))
	assert.Equal(t, "", v.Get("region"))
	assert.Equal(t, []string{"ip", "routing_table"}, v.SetNames())
}

func TestParseRequired(t *testing.T) {
	for _, name := range []string{"ip", "routing_table"} {
		m := with()
		delete(m, name)
		_, err := parse(t, m)
		pe := requireParamError(t, err, name)
		assert.Contains(t, pe.Error(), "required")

		// An empty string is the same as unset.
		m[name] = ""
		_, err = parse(t, m)
		requireParamError(t, err, name)
	}
}

func TestParseEmptyStringIsUnset(t *testing.T) {
	v, err := parse(t, with("interface", "", "create_route", "", "lookup_type", "", "region", ""))
	require.NoError(t, err)
	assert.Equal(t, "lo", v.Get("interface"))
	assert.False(t, v.IsSet("interface"))
	assert.True(t, v.Bool("create_route"))
	assert.Equal(t, "NetworkInterfaceId", v.Get("lookup_type"))
	assert.False(t, v.IsSet("region"))
}

func TestParseAlias(t *testing.T) {
	m := with()
	delete(m, "ip")
	m["address"] = "192.0.2.20"
	v, err := parse(t, m)
	require.NoError(t, err)
	assert.Equal(t, "192.0.2.20", v.Get("ip"))
	assert.True(t, v.IsSet("ip"))

	// Both set to the same value: fine.
	v, err = parse(t, with("address", cfgIP))
	require.NoError(t, err)
	assert.Equal(t, cfgIP, v.Get("ip"))

	// Both set to different values: refused, naming the alias.
	_, err = parse(t, with("address", "192.0.2.99"))
	pe := requireParamError(t, err, "address")
	assert.Equal(t, "192.0.2.99", pe.Value)
	assert.Contains(t, err.Error(), "ip")

	// The alias goes through ip's checks.
	m["address"] = "not-an-ip"
	_, err = parse(t, m)
	requireParamError(t, err, "ip")
}

// True is every ocf_is_true spelling, plus crm_is_true's in any case (the
// earlier releases' spellings: an upgrade must not turn a working
// create_route into OCF_ERR_CONFIGURED); false is the usual false
// spellings in any case; the rest is refused.
func TestParseBooleans(t *testing.T) {
	ocfIsTrue := []string{"yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON"}
	earlier := []string{"Yes", "y", "Y", "On", "tRUE", "yES"}
	for _, s := range append(ocfIsTrue, earlier...) {
		v, err := parse(t, with("create_route", s))
		require.NoError(t, err, s)
		assert.True(t, v.Bool("create_route"), s)
		b, err := ocf.ParseBool(s)
		require.NoError(t, err)
		assert.True(t, b, s)
	}
	for _, s := range []string{"0", "false", "FALSE", "False", "no", "No", "NO", "off", "OFF", "n", "N"} {
		v, err := parse(t, with("create_route", s))
		require.NoError(t, err, s)
		assert.False(t, v.Bool("create_route"), s)
	}
	for _, s := range []string{"2", "maybe", "tru", " true", "yes ", "t", "f", "enabled", "JA", "Ja", "jA"} {
		_, err := parse(t, with("create_route", s))
		requireParamError(t, err, "create_route")
		_, err = ocf.ParseBool(s)
		assert.Error(t, err, s)
	}
}

func TestParseChoices(t *testing.T) {
	for _, ok := range []string{"InstanceId", "NetworkInterfaceId"} {
		v, err := parse(t, with("lookup_type", ok))
		require.NoError(t, err, ok)
		assert.Equal(t, ok, v.Get("lookup_type"))
	}
	for _, bad := range []string{"instanceid", "ENI", "InstanceId ", "NetworkInterfaceID"} {
		_, err := parse(t, with("lookup_type", bad))
		requireParamError(t, err, "lookup_type")
		assert.Contains(t, err.Error(), "InstanceId")
	}
	for _, ok := range []string{"ignore", "verify", "disable"} {
		_, err := parse(t, with("source_dest_check", ok))
		require.NoError(t, err, ok)
	}
	_, err := parse(t, with("source_dest_check", "off"))
	requireParamError(t, err, "source_dest_check")
	for _, ok := range []string{"key", "role"} {
		_, err := parse(t, with("auth_type", ok))
		require.NoError(t, err, ok)
	}
	_, err = parse(t, with("auth_type", "Role"))
	requireParamError(t, err, "auth_type")
}

func TestParseNULRejected(t *testing.T) {
	for _, name := range []string{"profile", "awscli", "ip", "interface"} {
		_, err := parse(t, with(name, "lo\x00x"))
		pe := requireParamError(t, err, name)
		_ = pe
		assert.NotContains(t, err.Error(), "\x00")
	}
	_, err := parse(t, with("profile", "a\x00"))
	assert.Contains(t, err.Error(), "NUL")
}

func TestParseNoEffectParametersAccepted(t *testing.T) {
	v, err := parse(t, with("awscli", "/usr/bin/aws", "monapi", "true", "curl_retries", "3", "curl_sleep", "1", "awscli_timeout", "x"))
	require.NoError(t, err)
	assert.True(t, v.IsSet("awscli"))
	noEffect := map[string]bool{}
	for _, p := range agent.New("1", nil).Definition().Params {
		noEffect[p.Name] = p.NoEffect
	}
	for _, n := range []string{"awscli", "monapi", "curl_retries", "curl_sleep", "awscli_timeout"} {
		assert.True(t, noEffect[n], n)
	}
}

func TestCheckIP(t *testing.T) {
	good := []string{"192.0.2.10", "198.51.100.1", "10.0.0.1", "2001:db8::10", "2001:DB8::1", "fd00::1", "100.64.0.1"}
	for _, s := range good {
		_, err := parse(t, with("ip", s))
		assert.NoError(t, err, s)
	}
	bad := []string{
		"192.0.2", "192.0.2.256", "192.0.2.010", " 192.0.2.10", "192.0.2.10 ", "192.0.2.10/32",
		"host.example.com", "::ffff:192.0.2.10", // IPv4-mapped
		"127.0.0.1", "127.1.2.3", "::1", // loopback
		"224.0.0.1", "239.1.1.1", "ff02::1", // multicast
		"169.254.169.254", "fe80::1", // link-local
		"fe80::1%eth0", "2001:db8::1%eth0", // zones
		"0.0.0.0", "::", // unspecified
	}
	for _, s := range bad {
		_, err := parse(t, with("ip", s))
		pe := requireParamError(t, err, "ip")
		assert.Equal(t, s, pe.Value, s)
	}
}

func TestCheckRoutingTable(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"rtb-0123abcd", []string{"rtb-0123abcd"}},
		{"rtb-0123456789abcdef0", []string{"rtb-0123456789abcdef0"}},
		{"rtb-0123abcd,rtb-0123456789abcdef0", []string{"rtb-0123abcd", "rtb-0123456789abcdef0"}},
		{"rtb-0123abcd , rtb-4567abcd", []string{"rtb-0123abcd", "rtb-4567abcd"}},
		{" rtb-0123abcd,\trtb-4567abcd ", []string{"rtb-0123abcd", "rtb-4567abcd"}},
		// aws-vpc-move-ip splits on commas and blanks alike (sed 's/,/ /g'
		// and the shell's word splitting), so empty entries vanish.
		{"rtb-0123abcd rtb-4567abcd", []string{"rtb-0123abcd", "rtb-4567abcd"}},
		{"rtb-0123abcd  \trtb-4567abcd", []string{"rtb-0123abcd", "rtb-4567abcd"}},
		{"rtb-0123abcd,", []string{"rtb-0123abcd"}},
		{",rtb-0123abcd", []string{"rtb-0123abcd"}},
		{"rtb-0123abcd,,rtb-4567abcd", []string{"rtb-0123abcd", "rtb-4567abcd"}},
		{"rtb-0123abcd, ,rtb-4567abcd", []string{"rtb-0123abcd", "rtb-4567abcd"}},
		{"rtb-0123abcd, rtb-4567abcd,", []string{"rtb-0123abcd", "rtb-4567abcd"}},
	}
	for _, c := range cases {
		ids, err := agent.ParseTableIDs(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, ids, c.in)
		_, err = parse(t, with("routing_table", c.in))
		assert.NoError(t, err, c.in)
	}
	bad := map[string]string{
		"rtb-0123ABCD":                           "not a route table ID",
		"RTB-0123abcd":                           "not a route table ID",
		"rtb-0123abc":                            "not a route table ID", // 7
		"rtb-0123abcde":                          "not a route table ID", // 9
		"rtb-0123456789abcdef":                   "not a route table ID", // 16
		"rtb-0123456789abcdef01":                 "not a route table ID", // 18
		"rtb-0123abcg":                           "not a route table ID",
		"0123abcd":                               "not a route table ID",
		"subnet-0123abcd":                        "not a route table ID",
		"rtb-0123abcd;rtb-4567abcd":              "not a route table ID",
		" ":                                      "no route table",
		",":                                      "no route table",
		" , ,":                                   "no route table",
		"rtb-0123abcd,rtb-0123abcd":              "twice",
		"rtb-0123abcd, rtb-0123abcd ":            "twice",
		"rtb-0123abcd,rtb-4567abcd,rtb-0123abcd": "twice",
	}
	for in, want := range bad {
		_, err := agent.ParseTableIDs(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
		_, err = parse(t, with("routing_table", in))
		requireParamError(t, err, "routing_table")
	}
}

func TestCheckDestinationCIDR(t *testing.T) {
	for _, s := range []string{"192.0.2.10/32", "192.0.2.0/24", "0.0.0.0/0", "2001:db8::/64", "2001:db8::10/128"} {
		_, err := parse(t, with("destination_cidr", s))
		assert.NoError(t, err, s)
	}
	for _, s := range []string{"192.0.2.10/24", "2001:db8::1/64", "192.0.2.10", "192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "x/24", "192.0.2.0/024"} {
		_, err := parse(t, with("destination_cidr", s))
		requireParamError(t, err, "destination_cidr")
	}
	_, err := parse(t, with("destination_cidr", "192.0.2.10/24"))
	assert.Contains(t, err.Error(), "host bits")
	assert.Contains(t, err.Error(), "192.0.2.0/24", "the message gives the network")
}

func TestCheckInterfaceAndIflabel(t *testing.T) {
	for _, s := range []string{"lo", "eth0", "ens5", "bond0.100", "br-lan", "veth_1", "abcdefghijklmno"} {
		_, err := parse(t, with("interface", s))
		assert.NoError(t, err, s)
	}
	for _, s := range []string{"abcdefghijklmnop", "eth 0", "eth0/1", "eth0\n", "ethé", "$(reboot)"} {
		_, err := parse(t, with("interface", s))
		requireParamError(t, err, "interface")
	}
	for _, s := range []string{"0", "1", "vip", "a_b", "123456789012345"} {
		_, err := parse(t, with("iflabel", s))
		assert.NoError(t, err, s)
	}
	for _, s := range []string{"1234567890123456", "a b", "x/y", "lab\tel"} {
		_, err := parse(t, with("iflabel", s))
		requireParamError(t, err, "iflabel")
	}
}

func TestCheckRegion(t *testing.T) {
	for _, s := range []string{"eu-west-1", "us-east-1", "ap-northeast-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5"} {
		_, err := parse(t, with("region", s))
		assert.NoError(t, err, s)
	}
	for _, s := range []string{"EU-WEST-1", "eu-west", "euwest1", "eu-west-1a", "eu_west_1", "eu-west-1 ", "e-west-1"} {
		_, err := parse(t, with("region", s))
		requireParamError(t, err, "region")
	}
}

func TestCheckRoleARN(t *testing.T) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:role/routeha",
		"arn:aws:iam::123456789012:role/path/to/Role+Name=,.@-_",
		"arn:aws-cn:iam::123456789012:role/x",
		"arn:aws-us-gov:iam::123456789012:role/x",
	} {
		_, err := parse(t, with("routing_table_role", s))
		assert.NoError(t, err, s)
	}
	for _, s := range []string{
		"arn:aws:iam::12345678901:role/x",  // 11 digits
		"arn:aws:iam::123456789012:user/x", // not a role
		"arn:aws:iam::123456789012:role/",
		"arn:aws:sts::123456789012:role/x",
		"role/x",
		"arn:aws:iam::123456789012:role/a b",
	} {
		_, err := parse(t, with("routing_table_role", s))
		requireParamError(t, err, "routing_table_role")
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, s := range []string{"https://ec2.eu-west-1.amazonaws.com", "http://127.0.0.1:5000", "https://vpce-1.ec2.eu-west-1.vpce.amazonaws.com/"} {
		_, err := parse(t, with("endpoint", s))
		assert.NoError(t, err, s)
	}
	for _, s := range []string{"ec2.amazonaws.com", "ftp://x", "https://", "http:///path", "://x", "https://h:port", "127.0.0.1:5000"} {
		_, err := parse(t, with("endpoint", s))
		requireParamError(t, err, "endpoint")
	}
}

func TestParamErrorMessage(t *testing.T) {
	e := &ocf.ParamError{Param: "ip", Value: "x", Reason: "is bad"}
	assert.Equal(t, `parameter ip="x": is bad`, e.Error())
	e = &ocf.ParamError{Param: "ip", Reason: "is required but not set"}
	assert.Equal(t, `parameter ip: is required but not set`, e.Error())

	// Control characters are replaced; the message stays on one line.
	e = &ocf.ParamError{Param: "interface", Value: "a\nb\rc\td\x1b[31m\x7f", Reason: "is bad"}
	msg := e.Error()
	assert.NotContains(t, msg, "\n")
	assert.NotContains(t, msg, "\r")
	assert.NotContains(t, msg, "\x1b")
	assert.NotContains(t, msg, "\x7f")
	assert.Contains(t, msg, "parameter interface=")
	assert.Contains(t, msg, "a?b?c?d?[31m?")

	// Long values are cut.
	long := strings.Repeat("x", 5000)
	e = &ocf.ParamError{Param: "profile", Value: long, Reason: "is bad"}
	msg = e.Error()
	assert.Less(t, len(msg), 200)
	assert.Contains(t, msg, strings.Repeat("x", 80)+"...")
	assert.True(t, strings.HasSuffix(msg, ": is bad"))

	// Long multi-byte values stay valid UTF-8.
	e = &ocf.ParamError{Param: "profile", Value: strings.Repeat("€", 100), Reason: "is bad"}
	assert.True(t, utf8.ValidString(e.Error()))

	// Through Parse, a bad value is named with its parameter.
	_, err := parse(t, with("region", "bad\nregion"))
	pe := requireParamError(t, err, "region")
	assert.Equal(t, "bad\nregion", pe.Value, "the error keeps the raw value")
	assert.NotContains(t, err.Error(), "\n")
	assert.Contains(t, err.Error(), `region="bad?region"`)
}

func TestParseFirstProblemInTableOrder(t *testing.T) {
	// Both ip and region are bad: ip comes first in the table.
	_, err := parse(t, with("ip", "bad", "region", "bad"))
	requireParamError(t, err, "ip")
}

func TestValuesUnknownAndSetNames(t *testing.T) {
	v, err := parse(t, with("region", "eu-west-1", "profile", "p"))
	require.NoError(t, err)
	assert.Equal(t, "", v.Get("nonexistent"))
	assert.False(t, v.IsSet("nonexistent"))
	assert.Equal(t, []string{"ip", "profile", "region", "routing_table"}, v.SetNames())
}
