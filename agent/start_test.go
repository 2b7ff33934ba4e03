package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

func TestStartTakesOverEveryTable(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB), table(rtb2, &nodeB))
	w := newWorld(t, nodeA, routes)
	w.params["routing_table"] = rtb1 + "," + rtb2
	requireCode(t, ocf.Success, w.run("start", nil))
	assert.True(t, w.hasVIP())
	writes := routes.realWrites()
	require.Len(t, writes, 2)
	for _, wr := range writes {
		assert.False(t, wr.Create)
		assert.Equal(t, Target{ENI: nodeA.PrimaryENI}, wr.Target)
		assert.Equal(t, vipDst, wr.Destination)
	}
	// And the result is what monitor calls running.
	requireCode(t, ocf.Success, w.run("monitor", nil))
}

func TestStartIsIdempotent(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA))
	w := newWorld(t, nodeA, routes)
	requireCode(t, ocf.Success, w.run("start", nil))
	requireCode(t, ocf.Success, w.run("start", nil))
	assert.Empty(t, routes.realWrites(), "tables already pointing here are not written")
	assert.True(t, w.hasVIP())
}

func TestStartWritesOnlyTablesThatPointElsewhere(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA), table(rtb2, &nodeB))
	w := newWorld(t, nodeA, routes)
	w.params["routing_table"] = rtb1 + "," + rtb2
	requireCode(t, ocf.Success, w.run("start", nil))
	writes := routes.realWrites()
	require.Len(t, writes, 1)
	assert.Equal(t, rtb2, writes[0].Table)
}

func TestStartLookupTypeInstance(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB))
	w := newWorld(t, nodeA, routes)
	w.params["lookup_type"] = "InstanceId"
	requireCode(t, ocf.Success, w.run("start", nil))
	require.Len(t, routes.realWrites(), 1)
	assert.Equal(t, Target{InstanceID: nodeA.InstanceID}, routes.realWrites()[0].Target)
}

func TestStartCreatesMissingRoute(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, nil))
	w := newWorld(t, nodeA, routes)
	requireCode(t, ocf.Success, w.run("start", nil))
	require.Len(t, routes.realWrites(), 1)
	assert.True(t, routes.realWrites()[0].Create)
}

func TestStartMissingRouteWithoutCreateIsConfigError(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, nil))
	w := newWorld(t, nodeA, routes)
	w.params["create_route"] = "false"
	r := w.run("start", nil)
	requireCode(t, ocf.ErrConfigured, r)
	assert.Contains(t, r.reason, "create_route")
	assert.Empty(t, routes.writes)
	assert.False(t, w.hasVIP(), "a refused start changes nothing")
}

// The route appeared between our read and our CreateRoute (or vanished
// before our ReplaceRoute): start switches to the other call.
func TestStartSurvivesRouteCreatedMeanwhile(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, nil))
	rivalCreated := false
	routes.failWrite = func(w Write) error {
		if w.Create && !rivalCreated {
			// A rival created the route between our read and our write.
			rivalCreated = true
			tb := routes.tables[rtb1]
			tb.Routes = append(tb.Routes, Route{Destination: vipDst, InstanceID: nodeB.InstanceID, ENI: nodeB.PrimaryENI})
			return &APIError{Kind: KindRouteExists, Op: "CreateRoute", Code: "RouteAlreadyExists", Err: errors.New("exists")}
		}
		return nil
	}
	w := newWorld(t, nodeA, routes)
	requireCode(t, ocf.Success, w.run("start", nil))
	writes := routes.realWrites()
	require.Len(t, writes, 2)
	assert.True(t, writes[0].Create)
	assert.False(t, writes[1].Create, "falls back to ReplaceRoute")
	requireCode(t, ocf.Success, w.run("monitor", nil))
}

func TestStartWaitsOutStaleReads(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB))
	routes.stale = 3
	w := newWorld(t, nodeA, routes)
	requireCode(t, ocf.Success, w.run("start", nil))
	assert.Len(t, routes.realWrites(), 1, "a stale read is not a reason to write again")
	assert.GreaterOrEqual(t, routes.reads, 5)
}

func TestStartPartialFailureNamesTheTable(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB), table(rtb2, &nodeB))
	routes.failWrite = func(w Write) error {
		if w.Table == rtb2 {
			return &APIError{Kind: KindDenied, Op: "ReplaceRoute", Code: "UnauthorizedOperation", Err: errors.New("You are not authorized to perform this operation.")}
		}
		return nil
	}
	w := newWorld(t, nodeA, routes)
	w.params["routing_table"] = rtb1 + "," + rtb2
	r := w.run("start", nil)
	requireCode(t, ocf.ErrPerm, r)
	assert.Contains(t, r.reason, rtb2)
	assert.NotContains(t, r.reason, rtb1)
	// The monitor afterwards tells the truth: the tables disagree.
	requireCode(t, ocf.ErrGeneric, w.run("monitor", nil))
}

func TestStartAPIOutageFailsInsideDeadline(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB))
	routes.failRead = func(ctx context.Context, _ int) error {
		<-ctx.Done()
		return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Err: ctx.Err()}
	}
	w := newWorld(t, nodeA, routes)
	r := w.run("start", map[string]string{"OCF_RESKEY_CRM_meta_timeout": "400"})
	requireCode(t, ocf.ErrGeneric, r)
	assert.Contains(t, r.reason, "within the action timeout")
	assert.Empty(t, routes.writes)
}

func TestStartIdentityFailure(t *testing.T) {
	w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeB)))
	w.adapters.id.err = errors.New("connection refused")
	r := w.run("start", nil)
	requireCode(t, ocf.ErrGeneric, r)
	assert.Contains(t, r.reason, "instance metadata service")
	assert.False(t, w.hasVIP())
}

// An identity adapter that explains its failure is quoted; one whose
// fallback API refused is read like any API error (denied: 4).
func TestStartIdentityFailureExplained(t *testing.T) {
	w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeB)))
	w.adapters.id.err = &ReasonError{Reason: "set region to fix this", Err: errors.New("connection refused")}
	r := w.run("start", nil)
	requireCode(t, ocf.ErrGeneric, r)
	assert.Equal(t, "set region to fix this", r.reason)

	w.adapters.id.err = fmt.Errorf("IMDS failed: %w", &APIError{Kind: KindDenied, Op: "DescribeInstances", Code: "UnauthorizedOperation", Err: errors.New("no")})
	r = w.run("start", nil)
	requireCode(t, ocf.ErrPerm, r)
	assert.Contains(t, r.reason, "identity")
	assert.Contains(t, r.reason, "DescribeInstances UnauthorizedOperation")
	assert.False(t, w.hasVIP())
}

// An adapter whose own configuration is wrong (a profile that does not
// exist) is not configured (6) for start and validate-all, with the
// adapter's reason, whether the identity or the EC2 adapter finds it. (The
// recurring monitor reads it as the control plane failing, as it does
// every failure to read the tables: the VIP stays served.)
func TestConfigurationErrorOfTheAdapter(t *testing.T) {
	missing := &APIError{Kind: KindConfig, Op: "AWS configuration",
		Err: errors.New(`profile "cluster" is not in the shared config or credentials file; check profile`)}
	for _, action := range []string{"start", "validate-all"} {
		w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeA)))
		w.putVIP()
		w.adapters.buildErr = missing
		r := w.run(action, nil)
		requireCode(t, ocf.ErrConfigured, r)
		assert.Equal(t, `AWS configuration: profile "cluster" is not in the shared config or credentials file; check profile`, r.reason, action)

		w = newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeA)))
		w.putVIP()
		w.adapters.id.err = fmt.Errorf("instance identity document: %w", missing)
		r = w.run(action, nil)
		requireCode(t, ocf.ErrConfigured, r)
		assert.Contains(t, r.reason, `profile "cluster"`, action)
	}
}

func TestStartVIPFailure(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB))
	w := newWorld(t, nodeA, routes)
	w.adapters.vip.failAdd = errors.New("operation not permitted")
	r := w.run("start", nil)
	requireCode(t, ocf.ErrGeneric, r)
	assert.Contains(t, r.reason, "cannot add 192.0.2.10/32 to lo")
	assert.Empty(t, routes.realWrites(), "no route is moved to a node without the VIP")
}

// A rival node writes the table after this node's write was read back:
// the node with the higher instance id gives up, naming it, instead of
// fighting until both time out.
func TestStartYieldsToLowerInstanceID(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, nil))
	wrote := 0
	routes.onRead = func(f *fakeRoutes, n int) {
		if len(f.writes) > 0 && wrote == 0 {
			wrote = n
		}
		if wrote > 0 && n == wrote+1 { // one read after ours showed B
			r := routeFor(*f.tables[rtb1], vipDst)
			r.InstanceID, r.ENI = nodeA.InstanceID, nodeA.PrimaryENI
		}
	}
	w := newWorld(t, nodeB, routes) // B > A
	r := w.run("start", map[string]string{"OCF_RESKEY_CRM_meta_timeout": "20000"})
	requireCode(t, ocf.ErrGeneric, r)
	assert.Contains(t, r.reason, nodeA.InstanceID)
}

func TestStartRefusesMisconfiguration(t *testing.T) {
	otherVPC := table(rtb1, &nodeB)
	otherVPC.VPCID = "vpc-0ffffffffffffffff"
	cases := []struct {
		name   string
		tb     Table
		params map[string]string
		reason string
	}{
		{"table in another VPC", otherVPC, nil, "is in vpc-0ffffffffffffffff"},
		{"vip inside the VPC CIDR", table(rtb1, nil), map[string]string{"ip": "10.0.5.5"}, "inside the VPC's 10.0.0.0/16"},
		{"more specific route", table(rtb1, &nodeB), map[string]string{"destination_cidr": "192.0.2.10/31"}, "more specific route 192.0.2.10/32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			routes := newFakeRoutes(c.tb)
			w := newWorld(t, nodeA, routes)
			for k, v := range c.params {
				w.params[k] = v
			}
			r := w.run("start", nil)
			requireCode(t, ocf.ErrConfigured, r)
			assert.Contains(t, r.reason, c.reason)
			assert.Empty(t, routes.writes)
			assert.False(t, w.hasVIP())
		})
	}
}

func TestSourceDestCheck(t *testing.T) {
	t.Run("verify refuses", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		routes.srcDest[nodeA.PrimaryENI] = true
		w := newWorld(t, nodeA, routes)
		r := w.run("start", nil)
		requireCode(t, ocf.ErrConfigured, r)
		assert.Contains(t, r.reason, nodeA.PrimaryENI)
		assert.Contains(t, r.reason, "source_dest_check=disable")
		assert.Empty(t, routes.writes)
	})
	t.Run("disable turns it off", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		routes.srcDest[nodeA.PrimaryENI] = true
		w := newWorld(t, nodeA, routes)
		w.params["source_dest_check"] = "disable"
		requireCode(t, ocf.Success, w.run("start", nil))
		assert.False(t, routes.srcDest[nodeA.PrimaryENI])
	})
	t.Run("ignore does not look", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		routes.srcDest[nodeA.PrimaryENI] = true
		w := newWorld(t, nodeA, routes)
		w.params["source_dest_check"] = "ignore"
		requireCode(t, ocf.Success, w.run("start", nil))
		assert.True(t, routes.srcDest[nodeA.PrimaryENI])
	})
}

func TestIPv6(t *testing.T) {
	dst := netip.MustParsePrefix("2001:db8::10/128")
	tb := table(rtb1, nil)
	tb.Routes = append(tb.Routes, Route{Destination: dst, InstanceID: nodeB.InstanceID, ENI: nodeB.PrimaryENI})
	routes := newFakeRoutes(tb)
	w := newWorld(t, nodeA, routes)
	w.params["ip"] = "2001:db8::10"
	requireCode(t, ocf.Success, w.run("start", nil))
	require.Len(t, routes.realWrites(), 1)
	assert.Equal(t, dst, routes.realWrites()[0].Destination)
	assert.True(t, w.adapters.vip.addrs[Address{Prefix: dst, Interface: "lo"}])
	requireCode(t, ocf.Success, w.run("monitor", nil))
}

// Two nodes starting at the same moment end with every table on one node,
// and the other node's monitor says so.
func TestSimultaneousStartsConverge(t *testing.T) {
	for i := 0; i < 5; i++ {
		routes := newFakeRoutes(table(rtb1, nil), table(rtb2, nil))
		a, b := newWorld(t, nodeA, routes), newWorld(t, nodeB, routes)
		for _, w := range []*world{a, b} {
			w.params["routing_table"] = rtb1 + "," + rtb2
		}
		done := make(chan result, 2)
		for _, w := range []*world{a, b} {
			go func(w *world) { done <- w.run("start", map[string]string{"OCF_RESKEY_CRM_meta_timeout": "30000"}) }(w)
		}
		r1, r2 := <-done, <-done
		owners := map[string]bool{}
		for _, id := range []string{rtb1, rtb2} {
			r := routeFor(*routes.tables[id], vipDst)
			require.NotNil(t, r)
			owners[r.InstanceID] = true
		}
		require.Len(t, owners, 1, "tables split between nodes:\n%s\n----\n%s", r1.stderr, r2.stderr)
		winner, loser := a, b
		if owners[nodeB.InstanceID] {
			winner, loser = b, a
		}
		requireCode(t, ocf.Success, winner.run("monitor", nil))
		requireCode(t, ocf.NotRunning, loser.run("monitor", nil))
	}
}
