package migration_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/suzlab/routeha/test/lab"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/imdsfake"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// guidesPolicy is the whole IAM policy the SUSE, Red Hat and AWS guides for
// SAP on AWS give the cluster for the overlay IP.
var guidesPolicy = []string{"ec2:DescribeRouteTables", "ec2:ReplaceRoute"}

// guidesParams is the guides' primitive: ip, two route tables, eth0 and
// the cluster profile; nothing else.
func guidesParams() map[string]string {
	return map[string]string{"ip": vip, "routing_table": tables, "interface": "eth0", "profile": "cluster"}
}

// The guides' operation timeouts: start and stop 180 s, monitor 60 s
// every 60 s.
var (
	opStart   = []string{"OCF_RESKEY_CRM_meta_timeout=180000"}
	opStop    = opStart
	opMonitor = []string{"OCF_RESKEY_CRM_meta_timeout=60000", "OCF_RESKEY_CRM_meta_interval=60000"}
	opProbe   = []string{"OCF_RESKEY_CRM_meta_timeout=60000", "OCF_RESKEY_CRM_meta_interval=0"}
	opDeep    = []string{"OCF_RESKEY_CRM_meta_timeout=60000", "OCF_RESKEY_CRM_meta_interval=300000", "OCF_RESKEY_OCF_CHECK_LEVEL=10"}
)

// guidesWorld is both nodes prepared as sites, the Source/Dest. check off,
// no route for the VIP's owner yet but b (the guides create the route by
// hand before the cluster, pointing at the first node), and the profile's
// key held to the guides' policy.
func guidesWorld(t *testing.T, imdsA http.Handler) (*labtest.World, *site, *site) {
	t.Helper()
	w := labtest.NewWorld(t, lab.WithState(ec2emu.StandardFixture().SourceDestCheckOff()))
	for _, tb := range strings.Split(tables, ",") {
		require.NoError(t, w.Emu.SetRoute(tb, vipCIDR, ec2emu.FixtureENIB))
	}
	w.Emu.SetPolicy(profileKey, guidesPolicy)
	return w, siteOn(t, w, "a", imdsA), siteOn(t, w, "b", nil)
}

func warningLines(stderr, about string) []string {
	return regexp.MustCompile(`(?m)^WARNING: .*`+regexp.QuoteMeta(about)+`.*$`).FindAllString(stderr, -1)
}

// TestGuidesPolicy (issue 19): the guides' configuration with the guides'
// IAM policy. Every action and a failover exit 0; each check the policy
// does not allow is named once in a warning; the route ends on the node
// that started, targeting the ENI behind eth0.
func TestGuidesPolicy(t *testing.T) {
	t.Parallel()
	labtest.NeedTools(t, "ip")
	_, a, b := guidesWorld(t, nil)
	bin := labtest.AgentBinary(t)
	params := guidesParams()
	step := func(s *site, name, action string, extra []string) result {
		t.Helper()
		r := s.run(t, bin, action, params, extra...)
		t.Logf("%s on %s: %s", name, s.n.Name, codeLine(r))
		return r
	}
	mustZero := func(r result, what string) {
		t.Helper()
		require.Equal(t, 0, r.Code, "%s: %s\n%s", what, r.Reason, r.Stderr)
	}

	// b holds the VIP: routes point at it; it starts first.
	r := step(b, "validate-all", "validate-all", opStart)
	mustZero(r, "validate-all on the active node")
	assert.Len(t, warningLines(r.Stderr, "ec2:DescribeNetworkInterfaces is not permitted"), 1, r.Stderr)
	assert.Len(t, warningLines(r.Stderr, "ec2:CreateRoute is not permitted"), 1, r.Stderr)
	mustZero(step(b, "start", "start", opStart), "start on b")
	mustZero(step(b, "monitor", "monitor", opMonitor), "monitor on b")

	r = step(a, "probe", "monitor", opProbe)
	require.Equal(t, 7, r.Code, "probe on the standby: %s", r.Stderr)
	r = step(a, "validate-all", "validate-all", opStart)
	mustZero(r, "validate-all on the standby")
	assert.Len(t, warningLines(r.Stderr, "ec2:DescribeNetworkInterfaces is not permitted"), 1, r.Stderr)

	// Failover: b stops, a starts.
	mustZero(step(b, "stop", "stop", opStop), "stop on b")
	r = step(a, "start", "start", opStart)
	mustZero(r, "start on a (failover)")
	assert.Len(t, warningLines(r.Stderr, "ec2:DescribeNetworkInterfaces is not permitted"), 1, r.Stderr)
	here := ec2emu.FixtureENIA + "/" + ec2emu.FixtureInstanceA
	assert.Equal(t, map[string]string{ec2emu.FixtureRouteTable1: here, ec2emu.FixtureRouteTable2: here}, a.targets(t))
	assert.Equal(t, "eth0:0", a.vipLabel(t))
	mustZero(step(a, "monitor", "monitor", opMonitor), "monitor on a")
	r = step(a, "deep monitor", "monitor", opDeep)
	mustZero(r, "OCF_CHECK_LEVEL=10 monitor on a")
	assert.Len(t, warningLines(r.Stderr, "ec2:DescribeNetworkInterfaces is not permitted"), 1, r.Stderr)
	r = step(a, "validate-all", "validate-all", opStart)
	mustZero(r, "validate-all on the new active node")
	mustZero(step(a, "stop", "stop", opStop), "stop on a")
	assert.Empty(t, a.vipLabel(t), "stop left the VIP on eth0")

	// Denied calls were only the skipped checks; every write went through.
	for _, e := range a.w.Emu.Log() {
		if e.Code == "UnauthorizedOperation" {
			assert.Contains(t, []string{"DescribeNetworkInterfaces", "CreateRoute"}, e.Action, "denied %s", e.Action)
			if e.Action == "CreateRoute" {
				assert.True(t, e.DryRun, "a CreateRoute that was not a probe")
			}
		}
	}
}

// TestGuidesPolicyFreshInstall: the route does not exist yet and
// create_route=true (routeha's default): validate-all probes CreateRoute
// with DryRun and, the guides' policy lacking it, fails with 4 naming it,
// before any start; granting it makes validate-all pass and start create
// the route.
func TestGuidesPolicyFreshInstall(t *testing.T) {
	t.Parallel()
	labtest.NeedTools(t, "ip")
	w, a, _ := guidesWorld(t, nil)
	st := w.Emu.Snapshot()
	for i := range st.RouteTables {
		rt := &st.RouteTables[i]
		for j := 0; j < len(rt.Routes); j++ {
			if rt.Routes[j].DestinationCIDR == vipCIDR {
				rt.Routes = append(rt.Routes[:j], rt.Routes[j+1:]...)
				j--
			}
		}
	}
	require.NoError(t, w.Emu.SetState(st))
	bin := labtest.AgentBinary(t)
	r := a.run(t, bin, "validate-all", guidesParams(), opStart...)
	require.Equal(t, 4, r.Code, "validate-all: %s", r.Stderr)
	assert.Contains(t, r.Reason, "ec2:CreateRoute")
	assert.Equal(t, map[string]string{ec2emu.FixtureRouteTable1: "", ec2emu.FixtureRouteTable2: ""}, a.targets(t), "the probe changed a table")

	w.Emu.SetPolicy(profileKey, append(append([]string{}, guidesPolicy...), "ec2:CreateRoute"))
	r = a.run(t, bin, "validate-all", guidesParams(), opStart...)
	require.Equal(t, 0, r.Code, "validate-all with CreateRoute: %s", r.Stderr)
	r = a.run(t, bin, "start", guidesParams(), opStart...)
	require.Equal(t, 0, r.Code, "start: %s", r.Stderr)
	here := ec2emu.FixtureENIA + "/" + ec2emu.FixtureInstanceA
	assert.Equal(t, map[string]string{ec2emu.FixtureRouteTable1: here, ec2emu.FixtureRouteTable2: here}, a.targets(t))
}

// TestSecondENI (issue 19, item 2): node a has a second ENI on eth1 (a
// replication network, say). With interface=eth1 the VIP goes on eth1
// and the routes target eth1's ENI, found by its MAC as aws-vpc-move-ip
// finds it; with lookup_type=InstanceId, which EC2 refuses on an instance
// with several ENIs, the routes target that ENI too, and the log says why.
func TestSecondENI(t *testing.T) {
	t.Parallel()
	labtest.NeedTools(t, "ip")
	const (
		eni2 = "eni-0aaaaaaaaaaaaaaa2"
		mac2 = "02:00:00:00:00:a2"
	)
	imds := imdsfake.New(imdsfake.Config{
		InstanceID: ec2emu.FixtureInstanceA, Region: ec2emu.DefaultRegion, AZ: ec2emu.FixtureAZA, AccountID: ec2emu.DefaultAccount,
		Interfaces: []imdsfake.Interface{
			{MAC: ec2emu.FixtureMACA, ENI: ec2emu.FixtureENIA, DeviceIndex: 0, VPC: ec2emu.FixtureVPC, Subnet: ec2emu.FixtureSubnetA, IP: ec2emu.FixtureIPA},
			{MAC: mac2, ENI: eni2, DeviceIndex: 1, VPC: ec2emu.FixtureVPC, Subnet: ec2emu.FixtureSubnetA, IP: "10.0.1.11"},
		},
	})
	for _, lookup := range []string{"NetworkInterfaceId", "InstanceId"} {
		t.Run(lookup, func(t *testing.T) {
			w, a, _ := guidesWorld(t, imds)
			// Every permission, so that the source/dest check of eth1's
			// ENI is read too.
			w.Emu.SetPolicy(profileKey, nil)
			st := w.Emu.Snapshot()
			st.ENIs = append(st.ENIs, ec2emu.ENI{ID: eni2, Instance: ec2emu.FixtureInstanceA, DeviceIndex: 1, MAC: mac2,
				PrivateIP: "10.0.1.11", Subnet: ec2emu.FixtureSubnetA})
			require.NoError(t, w.Emu.SetState(st))
			addNIC(t, a.n.NS.Name, "eth1", mac2)
			params := guidesParams()
			params["interface"], params["lookup_type"] = "eth1", lookup
			bin := labtest.AgentBinary(t)
			r := a.run(t, bin, "validate-all", params, opStart...)
			require.Equal(t, 0, r.Code, "validate-all: %s", r.Stderr)
			r = a.run(t, bin, "start", params, opStart...)
			require.Equal(t, 0, r.Code, "start: %s", r.Stderr)
			if lookup == "InstanceId" {
				assert.Contains(t, r.Stderr, "lookup_type=InstanceId: this instance has 2 network interfaces")
			}
			here := eni2 + "/" + ec2emu.FixtureInstanceA
			assert.Equal(t, map[string]string{ec2emu.FixtureRouteTable1: here, ec2emu.FixtureRouteTable2: here}, a.targets(t))
			ok, err := a.n.NS.HasAddr("eth1", vipCIDR)
			require.NoError(t, err)
			assert.True(t, ok, "the VIP is not on eth1")
			r = a.run(t, bin, "monitor", params, opMonitor...)
			require.Equal(t, 0, r.Code, "monitor: %s", r.Stderr)
			r = a.run(t, bin, "stop", params, opStop...)
			require.Equal(t, 0, r.Code, "stop: %s", r.Stderr)
		})
	}
}
