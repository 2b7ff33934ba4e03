package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/test/imdsfake"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// auth_type=role signs with the instance profile's credentials from IMDS,
// even with keys in the environment (the lab's runner always sets some).
func TestAuthTypeRoleUsesTheInstanceProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.W.Node("a")
	a.IMDS.SetRole("routeha-node")
	e.Params["auth_type"] = "role"
	e.W.Emu.ResetLog()

	e.Expect("a", "start", lab.OCFSuccess)
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)

	roleKey := imdsfake.RoleAccessKeyID(a.InstanceID)
	var writes, reads int
	for _, l := range e.W.Emu.Log() {
		assert.Equal(t, roleKey, l.Principal, "%s signed by the instance profile, not %s", l.Action, a.AccessKeyID)
		switch l.Action {
		case "ReplaceRoute", "CreateRoute":
			writes++
		case "DescribeRouteTables":
			reads++
		}
	}
	assert.Equal(t, 2, writes, "both tables moved")
	assert.NotZero(t, reads)
	assert.Equal(t, a.ENI, e.Target(rtb1))
	assert.Equal(t, a.ENI, e.Target(rtb2))
	assert.NotZero(t, a.IMDS.Counts()["/latest/meta-data/iam/security-credentials/routeha-node"])
}

// Without an instance profile, auth_type=role fails the start with a
// reason, and changes nothing.
func TestAuthTypeRoleWithoutInstanceProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Params["auth_type"] = "role"
	res := e.Expect("a", "start", lab.OCFGeneric, labtest.Timeout(10e9))
	assert.Contains(t, res.Reason, "no credentials from the instance profile (HTTP 404)")
	assert.Zero(t, e.W.Emu.Count("DescribeRouteTables")+e.W.Emu.Count("ReplaceRoute")+e.W.Emu.Count("CreateRoute"),
		"nothing reaches EC2 unsigned")
	assert.Equal(t, e.Before.RouteTable(rtb1), e.W.Emu.Snapshot().RouteTable(rtb1), "untouched")
}
