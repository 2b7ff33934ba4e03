package integration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// The misconfigurations of issue 8 that need more than a parameter: each
// gives its exit code and reason from validate-all, and the same from a
// probe where the VIP is present.

func TestTableInAnotherVPC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := e.W.Emu.Snapshot()
	st.VPCs = append(st.VPCs, ec2emu.VPC{ID: "vpc-0ffffffffffffffff", CIDRs: []string{"10.9.0.0/16"}})
	st.RouteTables = append(st.RouteTables, ec2emu.RouteTable{ID: "rtb-0fffffffffffffff0", VPC: "vpc-0ffffffffffffffff",
		Routes: []ec2emu.Route{{DestinationCIDR: "10.9.0.0/16", GatewayID: "local", Origin: "CreateRouteTable"}}})
	require.NoError(t, e.W.Emu.SetState(st))
	e.Before = e.W.Emu.Snapshot()
	e.Params["routing_table"] = rtb1 + ",rtb-0fffffffffffffff0"
	res := e.Expect("a", "validate-all", lab.OCFConfigured)
	assert.Contains(t, res.Reason, "is in vpc-0ffffffffffffffff")
	start := e.Expect("a", "start", lab.OCFConfigured)
	assert.Equal(t, res.Reason, start.Reason, "start reports it with the same reason")
	assert.False(t, e.HasVIP("a"))
}

func TestBlackholeRouteReportedAndRepaired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("b", "start", lab.OCFSuccess)
	require.NoError(t, e.W.Emu.SetInstanceState(ec2emu.FixtureInstanceB, "stopped"))
	require.NoError(t, e.W.Node("a").NS.AddAddr("lo", vipDs))
	res := e.Expect("a", "monitor", lab.OCFNotRunning, labtest.Recurring)
	assert.Contains(t, res.Reason, "blackhole")
	e.Expect("a", "start", lab.OCFSuccess)
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
}

func TestProbeReportsMisconfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Params["ip"] = "10.0.200.1" // inside the VPC's 10.0.0.0/16
	require.NoError(t, e.W.Node("a").NS.AddAddr("lo", "10.0.200.1/32"))
	v := e.Expect("a", "validate-all", lab.OCFConfigured)
	p := e.Expect("a", "monitor", lab.OCFConfigured) // a probe
	assert.Equal(t, v.Reason, p.Reason)
	assert.Contains(t, p.Reason, "inside the VPC")
}

func (e *env) status(node string, args ...string) (int, string) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := e.W.Agent(node)
	cmd := r.Node.NS.Command(ctx, r.Bin, append([]string{"status"}, args...)...)
	cmd.Env = r.Env(e.Params)
	out, err := cmd.Output()
	code := 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	return code, string(out)
}

func TestStatusHealthyAndBroken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)

	code, out := e.status("a")
	assert.Equal(t, lab.OCFSuccess, code, out)
	assert.Contains(t, out, "instance           i-0aaaaaaaaaaaaaaa1 (eu-west-1a, eu-west-1)")
	assert.Contains(t, out, "192.0.2.10 on lo: present")
	assert.NotContains(t, out, "FAIL")
	assert.Contains(t, out, "monitor: 0 OCF_SUCCESS")

	// Broken: one table moved to b behind the cluster's back, the
	// Source/Dest. check on (the fixture's default), asked as flags.
	e.RouteTo("b", rtb2)
	before := e.W.Emu.Snapshot()
	code, out = e.status("a", "--json", "--source-dest-check", "verify")
	assert.Equal(t, lab.OCFGeneric, code, out)
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
	assert.Equal(t, lab.OCFGeneric, st.Monitor.Code)
	assert.Contains(t, st.Monitor.Reason, "disagree")
	assert.Empty(t, ec2emu.Diff(before, e.W.Emu.Snapshot()), "status changed a route")
}
