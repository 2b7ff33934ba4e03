package integration

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// A shared VPC: the route tables belong to the VPC owner's account, which
// this node reaches through routing_table_role; the node's ENI belongs to
// its own account. Each account's policy allows only its own resources'
// actions, so a call made with the wrong credentials is refused: the route
// table calls must go through the role, and the ENI calls (the
// source/destination check read and, with source_dest_check=disable, its
// change) with the node's own credentials (issue 19, item 3).
func TestRoutingTableRoleOnlyForTables(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.W.Node("a")
	const role = "arn:aws:iam::210987654321:role/routeha-shared-vpc"
	e.W.Emu.SetRoleMode(role)
	e.W.Emu.SetPolicy(role, []string{"ec2:DescribeRouteTables", "ec2:ReplaceRoute", "ec2:CreateRoute"})
	e.W.Emu.SetPolicy(a.AccessKeyID, []string{"sts:AssumeRole", "ec2:DescribeNetworkInterfaces",
		"ec2:ModifyNetworkInterfaceAttribute", "ec2:DescribeInstances"})
	e.Params["routing_table_role"] = role
	e.Params["source_dest_check"] = "disable"

	for _, action := range []string{"validate-all", "start"} {
		res := e.Expect("a", action, lab.OCFSuccess)
		assert.NotContains(t, res.Stderr, "UnauthorizedOperation", "%s: no call was refused", action)
		assert.NotContains(t, res.Stderr, "skipp", "%s: no check was skipped", action)
	}
	assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1))
	assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb2))
	assert.True(t, e.HasVIP("a"))

	seen := map[string]bool{}
	for _, l := range e.W.Emu.Log() {
		_, viaRole := e.W.Emu.RoleOf(l.Principal)
		switch {
		case l.Action == "AssumeRole":
		case strings.Contains(l.Action, "RouteTable") || strings.HasSuffix(l.Action, "Route"):
			assert.True(t, viaRole, "%s through the role, not %s", l.Action, l.Principal)
		case strings.Contains(l.Action, "NetworkInterface"):
			assert.Equal(t, a.AccessKeyID, l.Principal, "%s with the node's own credentials", l.Action)
		}
		seen[l.Action] = true
	}
	seen["a route write"] = seen["CreateRoute"] || seen["ReplaceRoute"]
	for _, action := range []string{"DescribeRouteTables", "a route write", "DescribeNetworkInterfaces", "ModifyNetworkInterfaceAttribute"} {
		assert.True(t, seen[action], "the test saw no %s: it proves nothing about it", action)
	}
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
}
