package agent

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSyntaxFunctions(t *testing.T) {
	cases := []struct {
		fn   func(string) bool
		name string
		ok   []string
		bad  []string
	}{
		{isTableID, "table", []string{"rtb-0123abcd", "rtb-0123456789abcdef0"},
			[]string{"rtb-0123ABCD", "rtb-0123abc", "rtb-0123456789abcdef", "rtb-", "xrtb-0123abcd", "rtb-0123abcg"}},
		{isRegion, "region", []string{"eu-west-1", "us-gov-west-1", "ap-southeast-2"},
			[]string{"eu-west", "euwest1", "EU-west-1", "eu--1", "eu-west-1a", "e-west-1", "eu-west-"}},
		{isRoleARN, "role", []string{"arn:aws:iam::123456789012:role/routeha", "arn:aws-us-gov:iam::123456789012:role/path/to/R+=,.@_-"},
			[]string{"arn:aws:iam::12345678901:role/x", "arn:aws:iam::123456789012:user/x", "arn:aws:iam::123456789012:role/",
				"arn:aws:sts::123456789012:role/x", "arn:aws:iam:eu-west-1:123456789012:role/x", "arn:aws:iam::12345678901a:role/x",
				"arn:aws:iam::123456789012:role/" + strings.Repeat("a", 513), "arn:aws:iam::123456789012:role/a b"}},
		{isIfname, "ifname", []string{"lo", "eth0", "ens5.100", "bond_0-x"}, []string{"", "lo:0", "a/b", "abcdefghijklmnop", "eth 0"}},
		{isLabel, "label", []string{"0", "vip", "a:b"}, []string{"", "a b", "abcdefghijklmnop"}},
	}
	for _, c := range cases {
		for _, v := range c.ok {
			assert.True(t, c.fn(v), "%s %q", c.name, v)
		}
		for _, v := range c.bad {
			assert.False(t, c.fn(v), "%s %q", c.name, v)
		}
	}
	assert.True(t, isRoleARN("arn:aws:iam::123456789012:role/"+strings.Repeat("a", 512)))
}
