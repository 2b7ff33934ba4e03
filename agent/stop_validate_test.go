package agent

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

func TestStopNeedsNoAWSAndIsIdempotent(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA))
	w := newWorld(t, nodeA, routes)
	w.adapters.id.err = errors.New("IMDS down")
	w.putVIP()
	requireCode(t, ocf.Success, w.run("stop", nil))
	assert.False(t, w.hasVIP())
	requireCode(t, ocf.Success, w.run("stop", nil))
	assert.Zero(t, w.adapters.id.calls)
	assert.Zero(t, w.adapters.built)
	assert.Zero(t, routes.reads)
	requireCode(t, ocf.NotRunning, w.run("monitor", nil))
}

func TestStopWithBrokenConfigurationStillRemovesTheVIP(t *testing.T) {
	w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeA)))
	w.putVIP()
	w.params["routing_table"] = "not-a-table"
	requireCode(t, ocf.Success, w.run("stop", nil))
	assert.False(t, w.hasVIP())
}

func TestStartStopCycle(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB))
	a := newWorld(t, nodeA, routes)
	b := newWorld(t, nodeB, routes)
	requireCode(t, ocf.NotRunning, a.run("monitor", nil))
	requireCode(t, ocf.Success, a.run("start", nil))
	requireCode(t, ocf.Success, a.run("monitor", nil))
	requireCode(t, ocf.Success, a.run("stop", nil))
	requireCode(t, ocf.NotRunning, a.run("monitor", nil))
	requireCode(t, ocf.Success, b.run("start", nil))
	requireCode(t, ocf.Success, b.run("monitor", nil))
	// A's VIP returns behind the cluster's back: the route still says B.
	a.putVIP()
	requireCode(t, ocf.NotRunning, a.run("monitor", nil))
}

func TestValidate(t *testing.T) {
	// Probes use the route's current target, so that an endpoint that
	// ignores DryRun and performs them changes nothing either.
	probes := func(t *testing.T, routes *fakeRoutes) (creates, replaces int) {
		for _, wr := range routes.writes {
			require.True(t, wr.DryRun, "validate-all changes nothing")
			if wr.Create {
				creates++
			} else {
				replaces++
			}
		}
		return creates, replaces
	}
	t.Run("active node probes both writes", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeA))
		w := newWorld(t, nodeA, routes)
		requireCode(t, ocf.Success, w.run("validate-all", nil))
		c, r := probes(t, routes)
		assert.Equal(t, 1, c)
		assert.Equal(t, 1, r)
		for _, wr := range routes.writes {
			assert.Equal(t, Target{ENI: nodeA.PrimaryENI}, wr.Target)
		}
	})
	t.Run("standby never probes CreateRoute", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		w := newWorld(t, nodeA, routes)
		requireCode(t, ocf.Success, w.run("validate-all", nil))
		c, r := probes(t, routes)
		assert.Zero(t, c)
		assert.Equal(t, 1, r)
		assert.Equal(t, Target{ENI: nodeB.PrimaryENI}, routes.writes[0].Target, "never this node as target")
	})
	t.Run("missing route: CreateRoute probed with this node's target", func(t *testing.T) {
		// A fresh install: start will create the route, so validate-all
		// must know now that IAM allows it. Real EC2 honours DryRun.
		routes := newFakeRoutes(table(rtb1, nil))
		w := newWorld(t, nodeA, routes)
		requireCode(t, ocf.Success, w.run("validate-all", nil))
		c, r := probes(t, routes)
		assert.Equal(t, 1, c)
		assert.Zero(t, r)
		assert.Equal(t, Target{ENI: nodeA.PrimaryENI}, routes.writes[0].Target)
		assert.Empty(t, routes.realWrites())
	})
	t.Run("missing route, create_route=false: no probe (and 6)", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, nil))
		w := newWorld(t, nodeA, routes)
		w.params["create_route"] = "false"
		requireCode(t, ocf.ErrConfigured, w.run("validate-all", nil))
		assert.Empty(t, routes.writes)
	})
	t.Run("denied", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB), table(rtb2, &nodeB))
		routes.failWrite = func(w Write) error {
			if w.Table == rtb2 && !w.Create {
				return &APIError{Kind: KindDenied, Op: "ReplaceRoute", Code: "UnauthorizedOperation", Err: errors.New("You are not authorized to perform this operation.")}
			}
			return nil
		}
		w := newWorld(t, nodeA, routes)
		w.params["routing_table"] = rtb1 + "," + rtb2
		r := w.run("validate-all", nil)
		requireCode(t, ocf.ErrPerm, r)
		assert.Contains(t, r.reason, "ec2:ReplaceRoute on "+rtb2)
	})
	t.Run("no interface", func(t *testing.T) {
		w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeB)))
		w.params["interface"] = "eth9"
		r := w.run("validate-all", nil)
		requireCode(t, ocf.ErrInstalled, r)
		assert.Contains(t, r.reason, "eth9")
	})
	t.Run("unknown table", func(t *testing.T) {
		w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeB)))
		w.params["routing_table"] = rtb2
		r := w.run("validate-all", nil)
		requireCode(t, ocf.ErrConfigured, r)
		assert.Contains(t, r.reason, rtb2)
	})
	t.Run("source dest check on", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		routes.srcDest[nodeA.PrimaryENI] = true
		w := newWorld(t, nodeA, routes)
		requireCode(t, ocf.ErrConfigured, w.run("validate-all", nil))
		w.params["source_dest_check"] = "disable"
		requireCode(t, ocf.Success, w.run("validate-all", nil))
		assert.True(t, routes.srcDest[nodeA.PrimaryENI], "validate-all does not disable it")
	})
}
