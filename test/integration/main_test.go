// Package integration drives the built routeha binary as Pacemaker does (a
// new process per action, OCF_RESKEY_* in the environment, CRM_meta_timeout
// set) inside network namespaces made by the test, against the EC2 emulator
// and one IMDS fake per node. Every test builds its own world (test/lab)
// and shares nothing host-wide, so every test runs in parallel.
package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/imdsfake"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

const (
	vip   = labtest.VIP
	vipDs = labtest.VIPDs
	rtb1  = labtest.RTB1
	rtb2  = labtest.RTB2
)

// env is one scenario (labtest.Env) with this package's own helpers.
type env struct{ *labtest.Env }

func newEnv(t *testing.T) *env { return &env{labtest.NewEnv(t)} }

func TestStartFromNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "monitor", lab.OCFNotRunning)
	e.Expect("a", "start", lab.OCFSuccess)
	assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1))
	assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb2))
	assert.True(t, e.HasVIP("a"))
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
	e.Expect("b", "monitor", lab.OCFNotRunning)
}

func TestStartTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.W.Emu.ResetLog()
	e.Expect("a", "start", lab.OCFSuccess)
	assert.Zero(t, e.W.Emu.Count("ReplaceRoute")+e.W.Emu.Count("CreateRoute"), "nothing to write the second time")
	e.Expect("a", "monitor", lab.OCFSuccess)
}

func TestCreateRouteFalse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Params["create_route"] = "false"
	res := e.Expect("a", "start", lab.OCFConfigured)
	assert.Contains(t, res.Reason, "create_route")
	assert.False(t, e.HasVIP("a"), "a refused start changes nothing")
	e.Expect("a", "validate-all", lab.OCFConfigured)

	e.RouteTo("b", rtb1)
	e.RouteTo("b", rtb2)
	e.Expect("a", "start", lab.OCFSuccess)
	assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1))
}

func TestStopTwiceNeedsNoAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	e.W.Node("a").IMDS.SetFault(imdsDown())
	e.W.Emu.ResetLog()
	e.Expect("a", "stop", lab.OCFSuccess)
	e.Expect("a", "stop", lab.OCFSuccess)
	assert.False(t, e.HasVIP("a"))
	assert.Empty(t, e.W.Emu.Log(), "stop made an EC2 request")
	e.Expect("a", "monitor", lab.OCFNotRunning)
}

func TestMonitorRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)

	// The route moved away in one table: the tables disagree.
	e.RouteTo("b", rtb2)
	res := e.Expect("a", "monitor", lab.OCFGeneric, labtest.Recurring)
	assert.Contains(t, res.Reason, "disagree")
	assert.Contains(t, res.Reason, ec2emu.FixtureInstanceB)

	// In both: not running here.
	e.RouteTo("b", rtb1)
	res = e.Expect("a", "monitor", lab.OCFNotRunning, labtest.Recurring)
	assert.Contains(t, res.Reason, "routes it to "+ec2emu.FixtureInstanceB)

	// start takes it back.
	e.Expect("a", "start", lab.OCFSuccess)
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)

	// The VIP deleted behind the agent's back: not running.
	require.NoError(t, e.W.Node("a").NS.DelAddr("lo", vipDs))
	res = e.Expect("a", "monitor", lab.OCFNotRunning, labtest.Recurring)
	assert.Contains(t, res.Reason, "not on lo")
}

func TestMonitorSteadyStateCost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.W.Emu.ResetLog()
	e.W.Node("a").IMDS.Reset()
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
	assert.Equal(t, map[string]int{"DescribeRouteTables": 1}, e.W.Emu.Counts(), "one request for both tables")
	assert.Zero(t, e.W.Node("a").IMDS.Total(), "identity comes from the cache")
}

func TestProbeOnStandbyWithStrayVIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	require.NoError(t, e.W.Node("b").NS.AddAddr("lo", vipDs))
	res := e.Expect("b", "monitor", lab.OCFNotRunning) // interval 0: a probe
	assert.Contains(t, res.Reason, "routes it to "+ec2emu.FixtureInstanceA)
	assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1), "a probe changes nothing")
}

func TestFailoverBetweenNodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.Expect("b", "start", lab.OCFSuccess)
	assert.Equal(t, ec2emu.FixtureENIB, e.Target(rtb1))
	assert.Equal(t, ec2emu.FixtureENIB, e.Target(rtb2))
	e.Expect("a", "monitor", lab.OCFNotRunning, labtest.Recurring)
	e.Expect("b", "monitor", lab.OCFSuccess, labtest.Recurring)
	e.Expect("a", "stop", lab.OCFSuccess)
	assert.False(t, e.HasVIP("a"))
}

func TestLookupTypes(t *testing.T) {
	t.Parallel()
	for _, lt := range []string{"InstanceId", "NetworkInterfaceId"} {
		t.Run(lt, func(t *testing.T) {
			e := newEnv(t)
			e.Params["lookup_type"] = lt
			e.Expect("a", "start", lab.OCFSuccess)
			r := e.Route(rtb1, vipDs)
			require.NotNil(t, r)
			assert.Equal(t, ec2emu.FixtureInstanceA, r.InstanceID)
			assert.Equal(t, ec2emu.FixtureENIA, r.NetworkInterfaceID)
			e.Expect("a", "monitor", lab.OCFSuccess)
			e.Expect("b", "start", lab.OCFSuccess)
			e.Expect("a", "monitor", lab.OCFNotRunning)
		})
	}
}

func TestIPv6(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Params["ip"] = "2001:db8::10"
	e.Expect("a", "start", lab.OCFSuccess)
	r := e.Route(rtb1, "2001:db8::10/128")
	require.NotNil(t, r)
	assert.Equal(t, ec2emu.FixtureENIA, r.NetworkInterfaceID)
	ok, err := e.W.Node("a").NS.HasAddr("lo", "2001:db8::10/128")
	require.NoError(t, err)
	assert.True(t, ok)
	e.Expect("a", "monitor", lab.OCFSuccess)
	e.Expect("a", "stop", lab.OCFSuccess)
	e.Expect("a", "monitor", lab.OCFNotRunning)
}

func TestThrottlingStillSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The next eight requests, whatever they are, are throttled.
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Count: 8})
	res := e.Expect("a", "start", lab.OCFSuccess, labtest.Timeout(30*time.Second))
	assert.Less(t, res.Elapsed, 30*time.Second)
	// A monitor makes at most 3 requests: two throttled, the third answers.
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Count: 2})
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
}

// A node whose clock is off by more than AWS's 5-minute window (NTP down,
// an instance resumed from hibernation) still starts and monitors: the
// refused request is signed again with EC2's time, from the answer's Date,
// once per process.
func TestClockSkewCorrected(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			e := newEnv(t)
			e.W.Emu.SetClockSkew(skew)
			e.W.Emu.ResetLog()
			res := e.Expect("a", "start", lab.OCFSuccess)
			assert.Equal(t, e.W.Node("a").ENI, e.Target(rtb1))
			word := map[bool]string{true: "behind", false: "ahead of"}[skew > 0]
			assert.Regexp(t, `this node's clock is (9m5\ds|10m0s|10m1s) `+word+` EC2's`, res.Stderr, "the log says to mend the clock")
			log := e.W.Emu.Log()
			require.NotEmpty(t, log)
			assert.Equal(t, "RequestExpired", log[0].Code, "the first request, signed with the node's clock")
			for _, entry := range log[1:] {
				assert.Empty(t, entry.Code, "%s after the correction", entry.Action)
			}
			e.W.Emu.ResetLog()
			e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
			assert.Equal(t, map[string]int{"DescribeRouteTables": 2}, e.W.Emu.Counts(), "one refused, one answered")
		})
	}
	// Through routing_table_role: STS refuses the stale AssumeRole with
	// SignatureDoesNotMatch ("Signature expired"), corrected the same way.
	t.Run("role", func(t *testing.T) {
		e := newEnv(t)
		const role = "arn:aws:iam::123456789012:role/routeha"
		e.W.Emu.SetRoleMode(role)
		e.Params["routing_table_role"] = role
		e.W.Emu.SetClockSkew(-10 * time.Minute)
		e.W.Emu.ResetLog()
		e.Expect("a", "start", lab.OCFSuccess)
		assert.Equal(t, e.W.Node("a").ENI, e.Target(rtb2))
		refused := map[string]string{}
		for _, entry := range e.W.Emu.Log() {
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
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	// The monitor finds the VIP here and cannot read the tables: still
	// served (issue 17); start, which must write, fails.
	for action, code := range map[string]int{"monitor": lab.OCFDegraded, "start": lab.OCFGeneric} {
		res := e.Expect("a", action, code, labtest.Timeout(4*time.Second))
		assert.Less(t, res.Elapsed, 4*time.Second, "%s returned after CRM_meta_timeout", action)
		if action == "start" {
			assert.Contains(t, res.Reason, "Unavailable")
		}
	}
	res := e.Expect("a", "monitor", lab.OCFDegraded, labtest.Recurring, labtest.Timeout(4*time.Second))
	assert.Contains(t, res.Reason, "Unavailable")
	e.Expect("a", "stop", lab.OCFSuccess, labtest.Timeout(4*time.Second))
}

func TestDroppedConnectionsEndInsideTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Drop})
	res := e.Expect("a", "start", lab.OCFGeneric, labtest.Timeout(4*time.Second))
	assert.Less(t, res.Elapsed, 4*time.Second)
}

func TestStaleReadsAfterWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.W.Emu.SetStaleReads(3)
	e.Expect("a", "start", lab.OCFSuccess)
	e.Expect("a", "monitor", lab.OCFSuccess)
}

type imdsFault = imdsfake.Fault

func imdsDown() imdsFault { return imdsFault{Down: true} }

func TestIMDSDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.W.Node("a").IMDS.SetFault(imdsDown())
	res := e.Expect("a", "start", lab.OCFGeneric, labtest.Timeout(5*time.Second))
	assert.Contains(t, res.Reason, "instance metadata service")
	assert.Less(t, res.Elapsed, 5*time.Second)

	// Once the identity is cached, IMDS is not needed any more.
	e.W.Node("a").IMDS.SetFault(imdsFault{})
	e.Expect("a", "start", lab.OCFSuccess)
	e.W.Node("a").IMDS.SetFault(imdsDown())
	e.Expect("a", "monitor", lab.OCFSuccess)
	e.Expect("a", "start", lab.OCFSuccess)
}

func TestIAMDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "validate-all", lab.OCFSuccess)
	e.W.Emu.Deny(ec2emu.Deny{Principal: e.W.Node("a").AccessKeyID, Action: "ReplaceRoute", RouteTableID: rtb2})
	e.RouteTo("b", rtb1)
	e.RouteTo("b", rtb2)
	before := e.W.Emu.Snapshot()
	res := e.Expect("a", "validate-all", lab.OCFPerm)
	assert.Contains(t, res.Reason, "ReplaceRoute")
	assert.Contains(t, res.Reason, rtb2)
	assert.Empty(t, ec2emu.Diff(before, e.W.Emu.Snapshot()), "validate-all changed a route")
	res = e.Expect("a", "start", lab.OCFPerm)
	assert.Contains(t, res.Reason, rtb2)
	// Node b is allowed: validate-all passes there.
	e.Expect("b", "validate-all", lab.OCFSuccess)
}

func TestSourceDestCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Params["source_dest_check"] = "verify"
	res := e.Expect("a", "validate-all", lab.OCFConfigured)
	assert.Contains(t, res.Reason, ec2emu.FixtureENIA)
	e.Expect("a", "start", lab.OCFConfigured)
	assert.False(t, e.HasVIP("a"))

	e.Params["source_dest_check"] = "disable"
	e.Expect("a", "validate-all", lab.OCFSuccess)
	e.Expect("a", "start", lab.OCFSuccess)
	e.Params["source_dest_check"] = "verify"
	e.Expect("a", "validate-all", lab.OCFSuccess)
}

func TestBadParameters(t *testing.T) {
	t.Parallel()
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
			for k, v := range e.Params {
				saved[k] = v
			}
			defer func() { e.Params = saved }()
			for k, v := range override {
				if v == "" {
					delete(e.Params, k)
				} else {
					e.Params[k] = v
				}
			}
			res := e.Run("a", "validate-all")
			require.Equal(t, lab.OCFConfigured, res.Code, "reason %q", res.Reason)
			param := ""
			for k := range override {
				param = k
			}
			if name != "unknown table" && name != "vip inside the VPC" && name != "more specific route" {
				assert.Contains(t, res.Reason, fmt.Sprintf("parameter %s", param))
			}
			assert.NotContains(t, res.Stderr, "panic")
			assert.False(t, e.HasVIP("a"))
		})
	}
}

func TestInterfaceMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Params["interface"] = "eth7"
	res := e.Expect("a", "validate-all", lab.OCFInstalled)
	assert.Contains(t, res.Reason, "eth7")
}

func TestUnknownAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.Run("a", "reload-agent")
	assert.Equal(t, 3, res.Code)
	assert.Contains(t, res.Reason, "unknown action")
}

// A boolean written as earlier releases accepted it (Yes, y, On: Pacemaker's
// crm_is_true spellings) still works after an upgrade: a recurring monitor
// that answered 6 for it would stop the resource on every node. A value
// that is no boolean at all is still a configuration error.
func TestBooleanSpellingsOfEarlierReleases(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Params["create_route"] = "Yes"
	e.Expect("a", "start", lab.OCFSuccess)
	for _, v := range []string{"Yes", "y", "On", "ja", "1"} {
		e.Params["create_route"] = v
		e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
	}
	e.Params["create_route"] = "maybe"
	res := e.Expect("a", "validate-all", lab.OCFConfigured)
	assert.Contains(t, res.Reason, "create_route")
}
