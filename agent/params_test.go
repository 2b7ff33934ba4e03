package agent_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/ocf"
)

const (
	goodIP  = "192.0.2.10"
	goodRTB = "rtb-0123456789abcdef0"
)

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
	m := map[string]string{"ip": goodIP, "routing_table": goodRTB}
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
			assert.Equal(t, goodIP, v.Get(p.Name))
		case "routing_table":
			assert.Equal(t, goodRTB, v.Get(p.Name))
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
	v, err = parse(t, with("address", goodIP))
	require.NoError(t, err)
	assert.Equal(t, goodIP, v.Get("ip"))

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

// True is exactly ocf_is_true's spellings; false is the usual false
// spellings in any case; the rest (among them Yes and y, which look true
// but which ocf_is_true reads as false) is refused.
func TestParseBooleans(t *testing.T) {
	for _, s := range []string{"yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON"} {
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
	for _, s := range []string{"2", "maybe", "tru", " true", "yes ", "t", "f", "enabled", "Yes", "y", "Y", "On", "tRUE"} {
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
	md := agent.New("1", nil).Definition()
	for _, n := range []string{"awscli", "monapi", "curl_retries", "curl_sleep", "awscli_timeout"} {
		p, ok := md.Param(n)
		require.True(t, ok, n)
		assert.True(t, p.NoEffect, n)
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
