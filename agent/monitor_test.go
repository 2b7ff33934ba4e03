package agent

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

func TestMonitorUnknownTableIsConfigurationError(t *testing.T) {
	w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeA)))
	w.params["routing_table"] = rtb1 + "," + rtb2
	w.putVIP()
	r := w.run("monitor", nil)
	requireCode(t, ocf.ErrConfigured, r)
	assert.Contains(t, r.reason, rtb2)
}

func TestMonitorBlackholeSaysSo(t *testing.T) {
	tb := table(rtb1, &nodeB)
	tb.Routes[2].Blackhole = true
	w := newWorld(t, nodeA, newFakeRoutes(tb))
	w.putVIP()
	r := w.run("monitor", nil)
	requireCode(t, ocf.NotRunning, r)
	assert.Contains(t, r.reason, "blackhole")
	assert.Contains(t, r.reason, nodeB.InstanceID)
}

// A node whose clock EC2 found off still gets its answer (the adapter
// signs with EC2's time), and the log says to mend the clock; a node whose
// clock agrees logs nothing of the kind.
func TestClockSkewLogged(t *testing.T) {
	for skew, want := range map[time.Duration]string{
		10 * time.Minute: "this node's clock is 10m0s behind EC2's",
		-3 * time.Hour:   "this node's clock is 3h0m0s ahead of EC2's",
		0:                "",
	} {
		routes := newFakeRoutes(table(rtb1, &nodeA))
		routes.skew = skew
		w := newWorld(t, nodeA, routes)
		w.putVIP()
		for _, action := range []string{"monitor", "start", "validate-all"} {
			r := w.run(action, nil)
			requireCode(t, ocf.Success, r)
			if want == "" {
				assert.NotContains(t, r.stderr, "clock", action)
			} else {
				assert.Contains(t, r.stderr, want, action)
				assert.Contains(t, r.stderr, "NTP", action)
			}
		}
	}
}

// EC2 implementations differ in which of InstanceId and NetworkInterfaceId
// they fill in a route; either one naming this node counts as here.
func TestMonitorCountsEitherTargetField(t *testing.T) {
	for _, lookup := range []string{"InstanceId", "NetworkInterfaceId"} {
		for name, route := range map[string]Route{
			"eni only":      {Destination: vipDst, ENI: nodeA.PrimaryENI},
			"instance only": {Destination: vipDst, InstanceID: nodeA.InstanceID},
		} {
			t.Run(lookup+"/"+name, func(t *testing.T) {
				tb := table(rtb1, nil)
				tb.Routes = append(tb.Routes, route)
				w := newWorld(t, nodeA, newFakeRoutes(tb))
				w.params["lookup_type"] = lookup
				w.putVIP()
				requireCode(t, ocf.Success, w.run("monitor", nil))
			})
		}
	}
}

func TestMonitorProbeOnStandbyMakesNoRequest(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA))
	w := newWorld(t, nodeB, routes)
	r := w.run("monitor", map[string]string{"OCF_RESKEY_CRM_meta_interval": "0"})
	requireCode(t, ocf.NotRunning, r)
	assert.Zero(t, routes.reads)
	assert.Zero(t, w.adapters.id.calls, "no identity lookup for a probe without the VIP")
}

func TestBadParametersNeverTouchAnything(t *testing.T) {
	for _, action := range []string{"start", "monitor", "validate-all"} {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		w := newWorld(t, nodeA, routes)
		w.params["ip"] = "192.0.2.300"
		r := w.run(action, nil)
		require.Equal(t, ocf.ErrConfigured, r.code, action)
		assert.Contains(t, r.reason, `ip="192.0.2.300"`)
		assert.Zero(t, routes.reads+len(routes.writes), action)
		assert.Zero(t, w.adapters.vip.calls, action)
	}
}

func TestProbeReportsMisconfigurationLikeValidate(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA))
	w := newWorld(t, nodeA, routes)
	w.params["ip"] = "10.0.5.5" // inside the VPC's CIDR
	w.adapters.vip.addrs[Address{Prefix: prefix("10.0.5.5/32"), Interface: "lo"}] = true
	probe := w.run("monitor", nil)
	validate := w.run("validate-all", nil)
	requireCode(t, ocf.ErrConfigured, probe)
	assert.Equal(t, validate.reason, probe.reason)
	assert.Equal(t, 1, routes.reads-1, "the probe made one request (validate-all the other)")
}
