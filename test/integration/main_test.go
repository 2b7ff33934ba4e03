// Package integration drives the built routeha binary as Pacemaker does (a
// new process per action, OCF_RESKEY_* in the environment, CRM_meta_timeout
// set) inside network namespaces made by the test, against the EC2 emulator
// and one IMDS fake per node.
package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/harness"
	"github.com/suzlab/routeha/test/imdsfake"
)

const (
	vip   = "192.0.2.10"
	vipDs = "192.0.2.10/32"
	rtb1  = ec2emu.FixtureRouteTable1
	rtb2  = ec2emu.FixtureRouteTable2
)

// env is one test's world with the parameters of one resource.
type env struct {
	t      *testing.T
	w      *harness.World
	params map[string]string
	before *ec2emu.State
}

func newEnv(t *testing.T) *env {
	t.Helper()
	w := harness.NewWorld(t)
	e := &env{t: t, w: w, params: map[string]string{
		"ip": vip, "routing_table": rtb1 + "," + rtb2, "source_dest_check": "ignore",
	}}
	e.before = w.Emu.Snapshot()
	// Whatever a test does, only the configured destination in the
	// configured tables may ever change.
	t.Cleanup(func() { e.assertOnlyOurRouteChanged() })
	return e
}

func (e *env) run(node, action string, opts ...func(*harness.Runner)) harness.Result {
	e.t.Helper()
	r := e.w.Agent(node)
	for _, o := range opts {
		o(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := r.Run(ctx, action, e.params)
	require.NoError(e.t, res.Err, "running %s on %s", action, node)
	return res
}

func timeout(d time.Duration) func(*harness.Runner) { return func(r *harness.Runner) { r.Timeout = d } }
func recurring(r *harness.Runner)                   { r.Interval = 10 * time.Second }

func (e *env) expect(node, action string, code int, opts ...func(*harness.Runner)) harness.Result {
	e.t.Helper()
	res := e.run(node, action, opts...)
	require.Equal(e.t, code, res.Code, "%s on node %s: reason %q\nstderr:\n%s", action, node, res.Reason, res.Stderr)
	if code != harness.OCFSuccess {
		assert.NotEmpty(e.t, res.Reason, "every failure has an exit reason")
		assert.LessOrEqual(e.t, len(res.Reason), 127, "Pacemaker keeps 127 bytes of a reason: %q", res.Reason)
	}
	return res
}

// target returns the ENI (or instance) the VIP's route in table points at,
// "" when there is no route.
func (e *env) target(table string) string {
	st := e.w.Emu.Snapshot()
	rt := st.RouteTable(table)
	require.NotNil(e.t, rt)
	r := rt.Route(vipDs)
	if r == nil {
		return ""
	}
	if r.NetworkInterfaceID != "" {
		return r.NetworkInterfaceID
	}
	return r.InstanceID
}

func (e *env) hasVIP(node string) bool {
	ok, err := e.w.Node(node).NS.HasAddr("lo", vipDs)
	require.NoError(e.t, err)
	return ok
}

// routeTo moves the VIP's route behind the agent's back.
func (e *env) routeTo(table, node string) {
	require.NoError(e.t, e.w.Emu.SetRoute(table, vipDs, e.w.Node(node).ENI))
}

func (e *env) assertOnlyOurRouteChanged() {
	configured := map[string]bool{}
	for _, id := range strings.Split(e.params["routing_table"], ",") {
		configured[id] = true
	}
	dst := e.params["destination_cidr"]
	if dst == "" {
		dst = e.params["ip"] + "/32"
		if strings.Contains(e.params["ip"], ":") {
			dst = e.params["ip"] + "/128"
		}
	}
	for _, c := range ec2emu.Diff(e.before, e.w.Emu.Snapshot()) {
		assert.True(e.t, configured[c.RouteTableID] && c.Destination == dst,
			"a route outside the resource changed: %s", c)
	}
}

func TestStartFromNothing(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "monitor", harness.OCFNotRunning)
	e.expect("a", "start", harness.OCFSuccess)
	assert.Equal(t, ec2emu.FixtureENIA, e.target(rtb1))
	assert.Equal(t, ec2emu.FixtureENIA, e.target(rtb2))
	assert.True(t, e.hasVIP("a"))
	e.expect("a", "monitor", harness.OCFSuccess, recurring)
	e.expect("b", "monitor", harness.OCFNotRunning)
}

func TestStartTwiceIsIdempotent(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)
	e.w.Emu.ResetLog()
	e.expect("a", "start", harness.OCFSuccess)
	assert.Zero(t, e.w.Emu.Count("ReplaceRoute")+e.w.Emu.Count("CreateRoute"), "nothing to write the second time")
	e.expect("a", "monitor", harness.OCFSuccess)
}

func TestCreateRouteFalse(t *testing.T) {
	e := newEnv(t)
	e.params["create_route"] = "false"
	res := e.expect("a", "start", harness.OCFConfigured)
	assert.Contains(t, res.Reason, "create_route")
	assert.False(t, e.hasVIP("a"), "a refused start changes nothing")
	e.expect("a", "validate-all", harness.OCFConfigured)

	e.routeTo(rtb1, "b")
	e.routeTo(rtb2, "b")
	e.expect("a", "start", harness.OCFSuccess)
	assert.Equal(t, ec2emu.FixtureENIA, e.target(rtb1))
}

func TestStopTwiceNeedsNoAPI(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)
	e.w.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	e.w.Node("a").IMDS.SetFault(imdsDown())
	e.w.Emu.ResetLog()
	e.expect("a", "stop", harness.OCFSuccess)
	e.expect("a", "stop", harness.OCFSuccess)
	assert.False(t, e.hasVIP("a"))
	assert.Empty(t, e.w.Emu.Log(), "stop made an EC2 request")
	e.expect("a", "monitor", harness.OCFNotRunning)
}

func TestMonitorRows(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)
	e.expect("a", "monitor", harness.OCFSuccess, recurring)

	// The route moved away in one table: the tables disagree.
	e.routeTo(rtb2, "b")
	res := e.expect("a", "monitor", harness.OCFGeneric, recurring)
	assert.Contains(t, res.Reason, "disagree")
	assert.Contains(t, res.Reason, ec2emu.FixtureInstanceB)

	// In both: not running here.
	e.routeTo(rtb1, "b")
	res = e.expect("a", "monitor", harness.OCFNotRunning, recurring)
	assert.Contains(t, res.Reason, "routes it to "+ec2emu.FixtureInstanceB)

	// start takes it back.
	e.expect("a", "start", harness.OCFSuccess)
	e.expect("a", "monitor", harness.OCFSuccess, recurring)

	// The VIP deleted behind the agent's back: not running.
	require.NoError(t, e.w.Node("a").NS.DelAddr("lo", vipDs))
	res = e.expect("a", "monitor", harness.OCFNotRunning, recurring)
	assert.Contains(t, res.Reason, "not on lo")
}

func TestMonitorSteadyStateCost(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)
	e.w.Emu.ResetLog()
	e.w.Node("a").IMDS.Reset()
	e.expect("a", "monitor", harness.OCFSuccess, recurring)
	assert.Equal(t, map[string]int{"DescribeRouteTables": 1}, e.w.Emu.Counts(), "one request for both tables")
	assert.Zero(t, e.w.Node("a").IMDS.Total(), "identity comes from the cache")
}

func TestProbeOnStandbyWithStrayVIP(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)
	require.NoError(t, e.w.Node("b").NS.AddAddr("lo", vipDs))
	res := e.expect("b", "monitor", harness.OCFNotRunning) // interval 0: a probe
	assert.Contains(t, res.Reason, "routes it to "+ec2emu.FixtureInstanceA)
	assert.Equal(t, ec2emu.FixtureENIA, e.target(rtb1), "a probe changes nothing")
}

func TestFailoverBetweenNodes(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)
	e.expect("b", "start", harness.OCFSuccess)
	assert.Equal(t, ec2emu.FixtureENIB, e.target(rtb1))
	assert.Equal(t, ec2emu.FixtureENIB, e.target(rtb2))
	e.expect("a", "monitor", harness.OCFNotRunning, recurring)
	e.expect("b", "monitor", harness.OCFSuccess, recurring)
	e.expect("a", "stop", harness.OCFSuccess)
	assert.False(t, e.hasVIP("a"))
}

func TestLookupTypes(t *testing.T) {
	for _, lt := range []string{"InstanceId", "NetworkInterfaceId"} {
		t.Run(lt, func(t *testing.T) {
			e := newEnv(t)
			e.params["lookup_type"] = lt
			e.expect("a", "start", harness.OCFSuccess)
			r := e.w.Emu.Snapshot().RouteTable(rtb1).Route(vipDs)
			require.NotNil(t, r)
			assert.Equal(t, ec2emu.FixtureInstanceA, r.InstanceID)
			assert.Equal(t, ec2emu.FixtureENIA, r.NetworkInterfaceID)
			e.expect("a", "monitor", harness.OCFSuccess)
			e.expect("b", "start", harness.OCFSuccess)
			e.expect("a", "monitor", harness.OCFNotRunning)
		})
	}
}

func TestIPv6(t *testing.T) {
	e := newEnv(t)
	e.params["ip"] = "2001:db8::10"
	e.expect("a", "start", harness.OCFSuccess)
	r := e.w.Emu.Snapshot().RouteTable(rtb1).Route("2001:db8::10/128")
	require.NotNil(t, r)
	assert.Equal(t, ec2emu.FixtureENIA, r.NetworkInterfaceID)
	ok, err := e.w.Node("a").NS.HasAddr("lo", "2001:db8::10/128")
	require.NoError(t, err)
	assert.True(t, ok)
	e.expect("a", "monitor", harness.OCFSuccess)
	e.expect("a", "stop", harness.OCFSuccess)
	e.expect("a", "monitor", harness.OCFNotRunning)
}

func TestThrottlingStillSucceeds(t *testing.T) {
	e := newEnv(t)
	// The next eight requests, whatever they are, are throttled.
	e.w.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Count: 8})
	res := e.expect("a", "start", harness.OCFSuccess, timeout(30*time.Second))
	assert.Less(t, res.Elapsed, 30*time.Second)
	// A monitor makes at most 3 requests: two throttled, the third answers.
	e.w.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Count: 2})
	e.expect("a", "monitor", harness.OCFSuccess, recurring)
}

// A node whose clock is off by more than AWS's 5-minute window (NTP down,
// an instance resumed from hibernation) still starts and monitors: the
// refused request is signed again with EC2's time, from the answer's Date,
// once per process.
func TestClockSkewCorrected(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			e := newEnv(t)
			e.w.Emu.SetClockSkew(skew)
			e.w.Emu.ResetLog()
			res := e.expect("a", "start", harness.OCFSuccess)
			assert.Equal(t, e.w.Node("a").ENI, e.target(rtb1))
			word := map[bool]string{true: "behind", false: "ahead of"}[skew > 0]
			assert.Regexp(t, `this node's clock is (9m5\ds|10m0s|10m1s) `+word+` EC2's`, res.Stderr, "the log says to mend the clock")
			log := e.w.Emu.Log()
			require.NotEmpty(t, log)
			assert.Equal(t, "RequestExpired", log[0].Code, "the first request, signed with the node's clock")
			for _, entry := range log[1:] {
				assert.Empty(t, entry.Code, "%s after the correction", entry.Action)
			}
			e.w.Emu.ResetLog()
			e.expect("a", "monitor", harness.OCFSuccess, recurring)
			assert.Equal(t, map[string]int{"DescribeRouteTables": 2}, e.w.Emu.Counts(), "one refused, one answered")
		})
	}
	// Through routing_table_role: STS refuses the stale AssumeRole with
	// SignatureDoesNotMatch ("Signature expired"), corrected the same way.
	t.Run("role", func(t *testing.T) {
		e := newEnv(t)
		const role = "arn:aws:iam::123456789012:role/routeha"
		e.w.Emu.SetRoleMode(role)
		e.params["routing_table_role"] = role
		e.w.Emu.SetClockSkew(-10 * time.Minute)
		e.w.Emu.ResetLog()
		e.expect("a", "start", harness.OCFSuccess)
		assert.Equal(t, e.w.Node("a").ENI, e.target(rtb2))
		refused := map[string]string{}
		for _, entry := range e.w.Emu.Log() {
			if entry.Code != "" {
				refused[entry.Action] = entry.Code
			}
		}
		assert.Equal(t, "SignatureDoesNotMatch", refused["AssumeRole"])
		assert.Equal(t, "RequestExpired", refused["DescribeRouteTables"])
		assert.Len(t, refused, 2, "nothing else refused: %v", refused)
	})
}

func TestAPIDown(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)
	e.w.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	// The monitor finds the VIP here and cannot read the tables: still
	// served (issue 17); start, which must write, fails.
	for action, code := range map[string]int{"monitor": harness.OCFDegraded, "start": harness.OCFGeneric} {
		res := e.expect("a", action, code, timeout(4*time.Second))
		assert.Less(t, res.Elapsed, 4*time.Second, "%s returned after CRM_meta_timeout", action)
		if action == "start" {
			assert.Contains(t, res.Reason, "Unavailable")
		}
	}
	res := e.expect("a", "monitor", harness.OCFDegraded, recurring, timeout(4*time.Second))
	assert.Contains(t, res.Reason, "Unavailable")
	e.expect("a", "stop", harness.OCFSuccess, timeout(4*time.Second))
}

func TestDroppedConnectionsEndInsideTimeout(t *testing.T) {
	e := newEnv(t)
	e.w.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Drop})
	res := e.expect("a", "start", harness.OCFGeneric, timeout(4*time.Second))
	assert.Less(t, res.Elapsed, 4*time.Second)
}

func TestStaleReadsAfterWrite(t *testing.T) {
	e := newEnv(t)
	e.w.Emu.SetStaleReads(3)
	e.expect("a", "start", harness.OCFSuccess)
	e.expect("a", "monitor", harness.OCFSuccess)
}

type imdsFault = imdsfake.Fault

func imdsDown() imdsFault { return imdsFault{Down: true} }

func TestIMDSDown(t *testing.T) {
	e := newEnv(t)
	e.w.Node("a").IMDS.SetFault(imdsDown())
	res := e.expect("a", "start", harness.OCFGeneric, timeout(5*time.Second))
	assert.Contains(t, res.Reason, "instance metadata service")
	assert.Less(t, res.Elapsed, 5*time.Second)

	// Once the identity is cached, IMDS is not needed any more.
	e.w.Node("a").IMDS.SetFault(imdsFault{})
	e.expect("a", "start", harness.OCFSuccess)
	e.w.Node("a").IMDS.SetFault(imdsDown())
	e.expect("a", "monitor", harness.OCFSuccess)
	e.expect("a", "start", harness.OCFSuccess)
}

func TestIAMDenied(t *testing.T) {
	e := newEnv(t)
	e.expect("a", "validate-all", harness.OCFSuccess)
	e.w.Emu.Deny(ec2emu.Deny{Principal: e.w.Node("a").AccessKeyID, Action: "ReplaceRoute", RouteTableID: rtb2})
	e.routeTo(rtb1, "b")
	e.routeTo(rtb2, "b")
	before := e.w.Emu.Snapshot()
	res := e.expect("a", "validate-all", harness.OCFPerm)
	assert.Contains(t, res.Reason, "ReplaceRoute")
	assert.Contains(t, res.Reason, rtb2)
	assert.Empty(t, ec2emu.Diff(before, e.w.Emu.Snapshot()), "validate-all changed a route")
	res = e.expect("a", "start", harness.OCFPerm)
	assert.Contains(t, res.Reason, rtb2)
	// Node b is allowed: validate-all passes there.
	e.expect("b", "validate-all", harness.OCFSuccess)
}

func TestSourceDestCheck(t *testing.T) {
	e := newEnv(t)
	e.params["source_dest_check"] = "verify"
	res := e.expect("a", "validate-all", harness.OCFConfigured)
	assert.Contains(t, res.Reason, ec2emu.FixtureENIA)
	e.expect("a", "start", harness.OCFConfigured)
	assert.False(t, e.hasVIP("a"))

	e.params["source_dest_check"] = "disable"
	e.expect("a", "validate-all", harness.OCFSuccess)
	e.expect("a", "start", harness.OCFSuccess)
	e.params["source_dest_check"] = "verify"
	e.expect("a", "validate-all", harness.OCFSuccess)
}

func TestBadParameters(t *testing.T) {
	e := newEnv(t)
	cases := map[string]map[string]string{
		"missing ip":            {"ip": ""},
		"malformed ip":          {"ip": "192.0.2"},
		"malformed cidr":        {"destination_cidr": "192.0.2.0/33"},
		"cidr without ip":       {"destination_cidr": "198.51.100.0/24"},
		"bad table":             {"routing_table": "rtb-123"},
		"duplicate table":       {"routing_table": rtb1 + "," + rtb1},
		"unknown lookup_type":   {"lookup_type": "PrivateIp"},
		"label over 15":         {"iflabel": "abcdefghijklmn"},
		"unknown table":         {"routing_table": "rtb-0123456789abcdef0"},
		"vip inside the VPC":    {"ip": "10.0.9.9"},
		"bad source_dest_check": {"source_dest_check": "maybe"},
		"more specific route":   {"ip": "172.16.0.1", "destination_cidr": "172.16.0.0/11"},
	}
	for name, override := range cases {
		t.Run(name, func(t *testing.T) {
			saved := map[string]string{}
			for k, v := range e.params {
				saved[k] = v
			}
			defer func() { e.params = saved }()
			for k, v := range override {
				if v == "" {
					delete(e.params, k)
				} else {
					e.params[k] = v
				}
			}
			res := e.run("a", "validate-all")
			require.Equal(t, harness.OCFConfigured, res.Code, "reason %q", res.Reason)
			param := ""
			for k := range override {
				param = k
			}
			if name != "unknown table" && name != "vip inside the VPC" && name != "more specific route" {
				assert.Contains(t, res.Reason, fmt.Sprintf("parameter %s", param))
			}
			assert.NotContains(t, res.Stderr, "panic")
			assert.False(t, e.hasVIP("a"))
		})
	}
}

func TestInterfaceMissing(t *testing.T) {
	e := newEnv(t)
	e.params["interface"] = "eth7"
	res := e.expect("a", "validate-all", harness.OCFInstalled)
	assert.Contains(t, res.Reason, "eth7")
}

func TestUnknownAction(t *testing.T) {
	e := newEnv(t)
	res := e.run("a", "reload-agent")
	assert.Equal(t, 3, res.Code)
	assert.Contains(t, res.Reason, "unknown action")
}
