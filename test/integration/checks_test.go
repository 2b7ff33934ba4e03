package integration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/harness"
)

// The misconfigurations of issue 8 that need more than a parameter: each
// gives its exit code and reason from validate-all, and the same from a
// probe where the VIP is present.

func TestTableInAnotherVPC(t *testing.T) {
	e := newEnv(t)
	st := e.w.Emu.Snapshot()
	st.VPCs = append(st.VPCs, ec2emu.VPC{ID: "vpc-0ffffffffffffffff", CIDRs: []string{"10.9.0.0/16"}})
	st.RouteTables = append(st.RouteTables, ec2emu.RouteTable{ID: "rtb-0fffffffffffffff0", VPC: "vpc-0ffffffffffffffff",
		Routes: []ec2emu.Route{{DestinationCIDR: "10.9.0.0/16", GatewayID: "local", Origin: "CreateRouteTable"}}})
	require.NoError(t, e.w.Emu.SetState(st))
	e.before = e.w.Emu.Snapshot()
	e.params["routing_table"] = rtb1 + ",rtb-0fffffffffffffff0"
	res := e.expect("a", "validate-all", harness.OCFConfigured)
	assert.Contains(t, res.Reason, "is in vpc-0ffffffffffffffff")
	start := e.expect("a", "start", harness.OCFConfigured)
	assert.Equal(t, res.Reason, start.Reason, "start reports it with the same reason")
	assert.False(t, e.hasVIP("a"))
}

func TestBlackholeRouteReportedAndRepaired(t *testing.T) {
	e := newEnv(t)
	e.expect("b", "start", harness.OCFSuccess)
	require.NoError(t, e.w.Emu.SetInstanceState(ec2emu.FixtureInstanceB, "stopped"))
	require.NoError(t, e.w.Node("a").NS.AddAddr("lo", vipDs))
	res := e.expect("a", "monitor", harness.OCFNotRunning, recurring)
	assert.Contains(t, res.Reason, "blackhole")
	e.expect("a", "start", harness.OCFSuccess)
	e.expect("a", "monitor", harness.OCFSuccess, recurring)
}

func TestProbeReportsMisconfiguration(t *testing.T) {
	e := newEnv(t)
	e.params["ip"] = "10.0.200.1" // inside the VPC's 10.0.0.0/16
	require.NoError(t, e.w.Node("a").NS.AddAddr("lo", "10.0.200.1/32"))
	v := e.expect("a", "validate-all", harness.OCFConfigured)
	p := e.expect("a", "monitor", harness.OCFConfigured) // a probe
	assert.Equal(t, v.Reason, p.Reason)
	assert.Contains(t, p.Reason, "inside the VPC")
}

func (e *env) status(node string, args ...string) (int, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := e.w.Agent(node)
	cmd := r.Node.NS.Command(ctx, r.Bin, append([]string{"status"}, args...)...)
	cmd.Env = r.Env(e.params)
	out, err := cmd.Output()
	code := 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	return code, string(out)
}

func TestStatusHealthyAndBroken(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)

	code, out := e.status("a")
	assert.Equal(t, harness.OCFSuccess, code, out)
	assert.Contains(t, out, "instance           i-0aaaaaaaaaaaaaaa1 (eu-west-1a, eu-west-1)")
	assert.Contains(t, out, "192.0.2.10 on lo: present")
	assert.NotContains(t, out, "FAIL")
	assert.Contains(t, out, "monitor: 0 OCF_SUCCESS")

	// Broken: one table moved to b behind the cluster's back, the
	// Source/Dest. check on (the fixture's default), asked as flags.
	e.routeTo(rtb2, "b")
	before := e.w.Emu.Snapshot()
	code, out = e.status("a", "--json", "--source-dest-check", "verify")
	assert.Equal(t, harness.OCFGeneric, code, out)
	var st struct {
		RouteTables []struct {
			ID   string `json:"id"`
			Here bool   `json:"here"`
		} `json:"route_tables"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
		Monitor struct {
			Code   int    `json:"exit_code"`
			Reason string `json:"reason"`
		} `json:"monitor"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Len(t, st.RouteTables, 2)
	assert.True(t, st.RouteTables[0].Here)
	assert.False(t, st.RouteTables[1].Here)
	failed := map[string]bool{}
	for _, c := range st.Checks {
		failed[c.Name] = !c.OK
	}
	assert.True(t, failed["source/destination check"], "checks: %+v", st.Checks)
	assert.Equal(t, harness.OCFGeneric, st.Monitor.Code)
	assert.Contains(t, st.Monitor.Reason, "disagree")
	assert.Empty(t, ec2emu.Diff(before, e.w.Emu.Snapshot()), "status changed a route")
}
