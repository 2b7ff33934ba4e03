package pacemaker_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/cluster"
	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// oneNode starts the post's cluster on node a with routeha, and returns
// it with a function that runs a tool on the node.
func oneNode(t *testing.T, ctx context.Context, w *labtest.World) (*cluster.Node, func(name string, args ...string) string) {
	t.Helper()
	c := newCluster(t, w)
	n := c.Nodes[0]
	require.NoError(t, c.Start(ctx))
	require.NoError(t, c.WaitOnline(ctx))
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := n.Run(ctx, name, args...)
		transcript(t, "controlplane", name+" "+strings.Join(args, " "), out)
		require.NoError(t, err, "%s %v:\n%s", name, args, out)
		return out
	}
	run("crm", "configure", "property", "no-quorum-policy=ignore", "stonith-enabled=false")
	run("crm", "configure", "rsc_defaults", "resource-stickiness=INFINITY", "migration-threshold=1")
	return n, run
}

// watchVIP samples the VIP on node a's lo every 100 ms until the test
// ends and counts the samples without it.
func watchVIP(t *testing.T, w *labtest.World) *atomic.Int64 {
	var missing atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if ok, err := w.Node("a").NS.HasAddr("lo", vipCIDR); err == nil && !ok {
				missing.Add(1)
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
	return &missing
}

func routeWrites(w *labtest.World) int {
	n := 0
	for _, e := range w.Emu.Log() {
		if (e.Action == "ReplaceRoute" || e.Action == "CreateRoute") && !e.DryRun {
			n++
		}
	}
	return n
}

// Issue 17: the recurring monitor answers OCF_DEGRADED (190) while every
// EC2 call fails. This runs it in Debian's Pacemaker 2.1 and records what
// Pacemaker does with it: no stop, no start, fail-count 0, the VIP stays,
// and crm_mon shows it; once the API is back the next monitor is 0 and no
// trace is left, with no operator action.
func TestClusterDegradedMonitor(t *testing.T) {
	labtest.NeedTools(t, "corosync", "pacemakerd", "crm", "crm_mon", "crm_resource", "crm_failcount", "cibadmin", "nsenter", "unshare", "ip")
	t.Parallel()
	ctx := labtest.Context(t, 4*time.Minute)
	w := world(t)
	n, run := oneNode(t, ctx, w)
	run("crm", "configure", "primitive", "vip", agentName, "params", "ip="+vip, "routing_table="+tables,
		"op", "monitor", "interval=2s", "timeout=10s")
	_, err := n.WaitStarted(ctx, "vip", "node1")
	require.NoError(t, err)
	missing := watchVIP(t, w)
	writes := routeWrites(w)

	w.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	began := time.Now()
	var degraded string
	for time.Since(began) < 20*time.Second {
		time.Sleep(2 * time.Second)
		out, _ := n.Run(ctx, "crm_mon", "-1", "--show-detail")
		if strings.Contains(out, "190") || strings.Contains(strings.ToLower(out), "degraded") {
			degraded = out
		}
		st, err := n.Status(ctx)
		require.NoError(t, err)
		require.True(t, st.Resource("vip").Started("node1"), "vip not Started during the outage:\n%s", out)
	}
	mon := run("crm_mon", "-1", "--show-detail")
	t.Logf("crm_mon during the outage:\n%s", mon)
	xmlOut := run("crm_mon", "-1", "--output-as=xml")
	t.Logf("crm_mon XML during the outage:\n%s", xmlOut)
	ops := run("crm_resource", "--list-operations", "--resource", "vip")
	t.Logf("operations:\n%s", ops)
	fc := run("crm_failcount", "--query", "--resource", "vip", "--node", "node1")
	t.Logf("fail-count: %s", fc)

	// Pacemaker 2.1.5: Started, not failed, fail-count 0, and the result
	// listed under "Failed Resource Actions" as 'OCF_DEGRADED' (190) with
	// the exit reason.
	assert.Contains(t, degraded, "'OCF_DEGRADED' (190)", "crm_mon shows the degraded monitor")
	assert.Contains(t, degraded, "exitreason='EC2 control plane unreachable, VIP still served")
	assert.Contains(t, xmlOut, `failed="false"`)
	assert.Contains(t, ops, "rc=190", "the monitor's result in the operation history")
	assert.Contains(t, fc, "value=0", "fail-count")
	assert.Zero(t, missing.Load(), "samples without the VIP on lo")
	assert.Equal(t, writes, routeWrites(w), "a start ran (route written) during the outage")
	assert.NotContains(t, ops, "vip_stop_0", "a stop ran during the outage")
	assert.Equal(t, 1, strings.Count(ops, "vip_start_0"), "a start ran during the outage")

	// The API comes back: the next monitor is 0, with no operator action.
	w.Emu.ClearFaults()
	_, err = n.WaitFor(ctx, "monitor 0 again", func(s *cluster.Status) bool {
		return s.Resource("vip").Started("node1") &&
			strings.Contains(s.Raw, `task="monitor" rc="0" rc_text="ok" interval="2000ms" last-rc-change="`+lastRCChange(s.Raw))
	})
	require.NoError(t, err)
	back := time.Now()
	ops = run("crm_resource", "--list-operations", "--resource", "vip")
	t.Logf("operations after:\n%s", ops)
	assert.Contains(t, run("crm_failcount", "--query", "--resource", "vip", "--node", "node1"), "value=0")
	assert.Zero(t, missing.Load(), "samples without the VIP on lo")
	assert.NotContains(t, ops, "vip_stop_0")
	// Pacemaker 2.1.5 keeps the 190 under "Failed Resource Actions" after
	// the monitor is 0 again (cosmetic: no fail-count, no action).
	time.Sleep(6 * time.Second)
	st, err := n.Status(ctx)
	require.NoError(t, err)
	assert.Len(t, st.Failures, 1, "the degraded result is still listed %s after the API returned", time.Since(back).Round(time.Second))
	// (With failure-timeout=10s and cluster-recheck-interval=5s it was
	// still listed 3.5 min later: failure-timeout does not expire it.) A
	// cleanup removes it; its probe answers 0 and nothing is restarted.
	run("crm_resource", "--cleanup", "--resource", "vip")
	_, err = n.WaitFor(ctx, "failure cleaned", func(s *cluster.Status) bool {
		return len(s.Failures) == 0 && s.Resource("vip").Started("node1")
	})
	require.NoError(t, err)
	// The cleanup emptied the history: a stop or start now would show.
	ops = run("crm_resource", "--list-operations", "--resource", "vip")
	t.Logf("operations after the cleanup:\n%s", ops)
	assert.NotContains(t, ops, "vip_stop_0")
	assert.NotContains(t, ops, "vip_start_0")
	assert.Contains(t, ops, "vip_monitor_0 (node=node1, call=")
	assert.Equal(t, writes, routeWrites(w), "a route was written")
	assert.Zero(t, missing.Load(), "samples without the VIP on lo")
}

// lastRCChange is the last-rc-change of the last monitor in crm_mon's XML.
func lastRCChange(raw string) string {
	const key = `task="monitor" `
	i := strings.LastIndex(raw, key)
	if i < 0 {
		return "?"
	}
	rest := raw[i:]
	j := strings.Index(rest, `last-rc-change="`)
	if j < 0 {
		return "?"
	}
	rest = rest[j+len(`last-rc-change="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// Issue 17: the post's layout (VIP statically on lo:0), a fresh node
// (HA_RSCTMP empty: no observation) and every EC2 call failing. The probe
// answers 5 (unobserved). This records what Pacemaker 2.1 does with it:
// the VIP must stay (no stop), nothing is written.
func TestClusterProbeWithoutObservation(t *testing.T) {
	labtest.NeedTools(t, "corosync", "pacemakerd", "crm", "crm_mon", "crm_resource", "crm_failcount", "cibadmin", "nsenter", "unshare", "ip")
	t.Parallel()
	ctx := labtest.Context(t, 4*time.Minute)
	w := world(t)
	require.NoError(t, w.Node("a").NS.AddAddr("lo", vipCIDR))
	n, run := oneNode(t, ctx, w)
	missing := watchVIP(t, w)
	w.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	run("crm", "configure", "primitive", "vip", agentName, "params", "ip="+vip, "routing_table="+tables,
		"op", "monitor", "interval=2s", "timeout=10s", "meta", "failure-timeout=20s")
	_, err := n.WaitFor(ctx, "probe done", func(s *cluster.Status) bool { return strings.Contains(s.Raw, `task="probe" rc="5"`) })
	require.NoError(t, err)
	time.Sleep(10 * time.Second)
	mon := run("crm_mon", "-1", "--show-detail")
	t.Logf("crm_mon:\n%s", mon)
	ops := run("crm_resource", "--list-operations", "--resource", "vip")
	t.Logf("operations:\n%s", ops)
	fc := run("crm_failcount", "--query", "--resource", "vip", "--node", "node1")
	st, err := n.Status(ctx)
	require.NoError(t, err)
	// Pacemaker 2.1.5: not running here, nothing stopped or started, no
	// failure listed, fail-count 0.
	assert.False(t, st.Resource("vip").Active)
	assert.Empty(t, st.Failures)
	assert.Contains(t, fc, "value=0")
	assert.Zero(t, missing.Load(), "samples without the VIP on lo")
	assert.Zero(t, routeWrites(w), "route written")
	assert.NotContains(t, ops, "vip_stop_0", "a stop ran")
	assert.NotContains(t, ops, "vip_start_0", "a start ran")

	// The API comes back: Pacemaker does not probe again by itself...
	w.Emu.ClearFaults()
	time.Sleep(15 * time.Second)
	st, err = n.Status(ctx)
	require.NoError(t, err)
	assert.False(t, st.Resource("vip").Active, "started without a new probe")
	// ...until the operator asks for one.
	run("crm_resource", "--refresh", "--resource", "vip")
	_, err = n.WaitStarted(ctx, "vip", "node1")
	require.NoError(t, err)
	t.Logf("crm_mon after the refresh:\n%s", run("crm_mon", "-1", "--show-detail"))
	assert.Zero(t, missing.Load(), "samples without the VIP on lo")
	want := ec2emu.FixtureENIA + "/" + ec2emu.FixtureInstanceA
	assert.Equal(t, want, routeTarget(t, w, ec2emu.FixtureRouteTable1))
}
