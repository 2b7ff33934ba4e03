package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/test/harness"
	"github.com/suzlab/routeha/test/imdsfake"
)

// auth_type=role signs with the instance profile's credentials from IMDS,
// even with keys in the environment (the harness always sets some).
func TestAuthTypeRoleUsesTheInstanceProfile(t *testing.T) {
	e := newEnv(t)
	a := e.w.Node("a")
	a.IMDS.SetRole("routeha-node")
	e.params["auth_type"] = "role"
	e.w.Emu.ResetLog()

	e.expect("a", "start", harness.OCFSuccess)
	e.expect("a", "monitor", harness.OCFSuccess, recurring)

	roleKey := imdsfake.RoleAccessKeyID(a.InstanceID)
	var writes, reads int
	for _, l := range e.w.Emu.Log() {
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
	assert.Equal(t, a.ENI, e.target(rtb1))
	assert.Equal(t, a.ENI, e.target(rtb2))
	assert.NotZero(t, a.IMDS.Counts()["/latest/meta-data/iam/security-credentials/routeha-node"])
}

// Without an instance profile, auth_type=role fails the start with a
// reason, and changes nothing.
func TestAuthTypeRoleWithoutInstanceProfile(t *testing.T) {
	e := newEnv(t)
	e.params["auth_type"] = "role"
	res := e.expect("a", "start", harness.OCFGeneric, timeout(10e9))
	assert.Contains(t, res.Reason, "no credentials from the instance profile (HTTP 404)")
	assert.Zero(t, e.w.Emu.Count("DescribeRouteTables")+e.w.Emu.Count("ReplaceRoute")+e.w.Emu.Count("CreateRoute"),
		"nothing reaches EC2 unsigned")
	assert.Equal(t, e.before.RouteTable(rtb1), e.w.Emu.Snapshot().RouteTable(rtb1), "untouched")
}
