package reliability

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// The tests of this file come from an adversarial run against routeha
// (issue 18): eventual consistency longer than a constant settle time,
// answers listing tables nobody asked for, identity caches planted in
// HA_RSCTMP, a CRM_meta_timeout that overflows a duration, and a start over
// 200 tables against an endpoint that performs writes but answers late.

// TestFailoverThroughStaleReads: a owned the VIP and stopped; b (the higher
// instance id) starts while EC2's reads keep showing a for longer than any
// constant settle time. a is the old owner, not a rival: b must wait the
// staleness out within its deadline and succeed.
func TestFailoverThroughStaleReads(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(e *env)
	}{
		{"stale reads (8) after writes, every table", func(e *env) { e.W.Emu.SetStaleReads(8) }},
		{"rtb2 stale for 12 reads", func(e *env) {
			e.W.Emu.SetTableStaleness(rtb2, ec2emu.Staleness{Reads: 12})
		}},
		{"both tables stale for 7s", func(e *env) {
			e.W.Emu.SetTableStaleness(rtb1, ec2emu.Staleness{For: 7 * time.Second})
			e.W.Emu.SetTableStaleness(rtb2, ec2emu.Staleness{For: 7 * time.Second})
		}},
		{"alternating stale/fresh reads (10)", func(e *env) {
			e.W.Emu.SetTableStaleness(rtb1, ec2emu.Staleness{Reads: 10, Alternate: true})
			e.W.Emu.SetTableStaleness(rtb2, ec2emu.Staleness{Reads: 10, Alternate: true})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.Expect("a", "start", lab.OCFSuccess)
			e.Expect("a", "stop", lab.OCFSuccess)
			c.setup(e)
			const to = 20 * time.Second
			res := e.Run("b", "start", labtest.Timeout(to))
			record(row{Table: "Eventual consistency", Case: "failover a -> b, " + c.name, Action: "start on b",
				Timeout: to, Code: res.Code, Elapsed: res.Elapsed, Reason: res.Reason})
			assert.Equal(t, lab.OCFSuccess, res.Code, "reason %q\n%s", res.Reason, res.Stderr)
			assert.Less(t, res.Elapsed, to)
			e.W.Emu.ClearFaults()
			assert.Equal(t, "b", e.owner(), "every table routes to b")
			assert.True(t, e.HasVIP("b"))
			e.Expect("b", "monitor", lab.OCFSuccess, labtest.Recurring)
		})
	}
}

// TestStartWritesOnlyConfiguredTables: an endpoint that ignores
// RouteTableId answers with every table of the VPC; start must not write
// the one it was not configured for, whatever it then exits with.
func TestStartWritesOnlyConfiguredTables(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.RouteTo("b", rtb1, rtb2, ec2emu.FixtureMainTable)
	e.Before = e.W.Emu.Snapshot()
	e.W.Emu.SetIgnoreTableIDs(true)
	res := e.Run("a", "start", labtest.Timeout(5*time.Second))
	record(row{Table: "Hostile answers", Case: "DescribeRouteTables answers every table of the VPC", Action: "start",
		Timeout: 5 * time.Second, Code: res.Code, Elapsed: res.Elapsed, Reason: res.Reason})
	labtest.CheckReason(t, res)
	assert.Equal(t, e.W.Node("b").ENI, e.Target(ec2emu.FixtureMainTable), "an unconfigured table was written")
	for _, l := range e.W.Emu.Log() {
		if l.Action == "ReplaceRoute" || l.Action == "CreateRoute" {
			assert.Contains(t, []string{rtb1, rtb2}, l.Params["RouteTableId"], "a write to a table not in routing_table")
		}
	}
}

// TestIdentityCacheTrust plants identity caches that name node b in node
// a's HA_RSCTMP: a file anyone may write (0666), one owned by another user,
// and b's own genuine cache. None may be believed: start on a points the
// tables at a, and says in its log that it ignored the file.
func TestIdentityCacheTrust(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		plant func(e *env, path string)
		warn  string // what the log says, "" when nothing need be said
	}{
		{"mode 0666", func(e *env, path string) {
			require.NoError(e.T, os.WriteFile(path, forgedIdentity(e.T), 0o600))
			require.NoError(e.T, os.Chmod(path, 0o666))
		}, "0666"},
		{"owned by nobody", func(e *env, path string) {
			require.NoError(e.T, os.WriteFile(path, forgedIdentity(e.T), 0o600))
			require.NoError(e.T, os.Chown(path, 65534, 65534))
		}, "uid 65534"},
		{"node b's genuine cache, no asset tag", func(e *env, path string) {
			e.Expect("b", "start", lab.OCFSuccess)
			e.Expect("b", "stop", lab.OCFSuccess)
			b, err := os.ReadFile(e.cachePath("b"))
			require.NoError(e.T, err)
			require.Contains(e.T, string(b), e.W.Node("b").InstanceID)
			require.NoError(e.T, os.WriteFile(path, b, 0o600))
		}, e2eInstanceWarning},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.RouteTo("b", rtb1, rtb2)
			c.plant(e, e.cachePath("a"))
			res := e.Run("a", "start")
			record(row{Table: "Identity cache", Case: "planted cache naming node b: " + c.name, Action: "start on a",
				Timeout: 20 * time.Second, Code: res.Code, Elapsed: res.Elapsed, Reason: res.Reason})
			require.Equal(t, lab.OCFSuccess, res.Code, "reason %q\n%s", res.Reason, res.Stderr)
			assert.Equal(t, e.W.Node("a").ENI, e.Target(rtb1), "the planted identity was believed")
			assert.Equal(t, e.W.Node("a").ENI, e.Target(rtb2))
			assert.Contains(t, res.Stderr, "WARNING")
			assert.Contains(t, res.Stderr, c.warn)
			// The cache is rewritten as this node's own, private file.
			fi, err := os.Stat(e.cachePath("a"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			b, err := os.ReadFile(e.cachePath("a"))
			require.NoError(t, err)
			assert.Contains(t, string(b), e.W.Node("a").InstanceID)
		})
	}
}

// e2eInstanceWarning is what the log says of a cache of another instance.
const e2eInstanceWarning = "i-0bbbbbbbbbbbbbbb2"

// TestSteadyMonitorAsksIMDSNothing: the identity cache is keyed to the
// instance id without costing the recurring monitor an IMDS request, with
// the Nitro asset tag and without it.
func TestSteadyMonitorAsksIMDSNothing(t *testing.T) {
	t.Parallel()
	for _, tag := range []bool{true, false} {
		t.Run(fmt.Sprintf("asset tag %v", tag), func(t *testing.T) {
			e := newEnv(t)
			a := e.W.Node("a")
			withTag := func(r *lab.Runner) {
				if tag {
					r.AssetTag = a.InstanceID
				}
			}
			e.Expect("a", "start", lab.OCFSuccess, withTag)
			a.IMDS.Reset()
			e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring, withTag)
			assert.Zero(t, a.IMDS.Total(), "IMDS requests of a steady monitor: %v", a.IMDS.Counts())
		})
	}
}

// TestHugeTimeout: a CRM_meta_timeout whose milliseconds overflow a
// duration must not become a deadline of a fraction of a millisecond.
func TestHugeTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.RouteTo("b", rtb1, rtb2)
	res := e.RunEnv("a", "start", []string{"OCF_RESKEY_CRM_meta_timeout=18446744073710"})
	record(row{Table: "Hostile input", Case: "CRM_meta_timeout=18446744073710 (overflows a duration)", Action: "start",
		Code: res.Code, Elapsed: res.Elapsed, Reason: res.Reason})
	require.Equal(t, lab.OCFSuccess, res.Code, "reason %q\n%s", res.Reason, res.Stderr)
	assert.Equal(t, "a", e.owner())
	assert.Contains(t, res.Stderr, "CRM_meta_timeout", "the log says what became of the value")
}

// TestManyTablesBoundedWrites: 200 tables, and the first 20 writes are
// performed but their answers never come. start must keep at most 20 writes
// in flight, must not send a timed-out write again once a read shows it
// performed, and must succeed.
func TestManyTablesBoundedWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := e.W.Emu.Snapshot()
	var ids []string
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("rtb-%017x", 0xe0000+i)
		ids = append(ids, id)
		st.RouteTables = append(st.RouteTables, ec2emu.RouteTable{ID: id, VPC: ec2emu.FixtureVPC, Routes: []ec2emu.Route{
			{DestinationCIDR: vipDs, NetworkInterfaceID: ec2emu.FixtureENIB, InstanceID: ec2emu.FixtureInstanceB, Origin: "CreateRoute"},
		}})
	}
	require.NoError(t, e.W.Emu.SetState(st))
	e.Before = e.W.Emu.Snapshot()
	e.Params["routing_table"] = strings.Join(ids, ",")
	e.W.Emu.ResetLog()
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.SlowAnswer, Action: "ReplaceRoute", Delay: time.Hour, Count: 20})
	const to = 30 * time.Second
	res := e.Run("a", "start", labtest.Timeout(to))
	replaces := e.W.Emu.Count("ReplaceRoute")
	inFlight := e.W.Emu.MaxInFlight("ReplaceRoute")
	record(row{Table: "Scale", Case: fmt.Sprintf("200 tables, first 20 writes performed but unanswered: %d ReplaceRoute, at most %d in flight", replaces, inFlight),
		Action: "start", Timeout: to, Code: res.Code, Elapsed: res.Elapsed, Reason: res.Reason})
	t.Logf("start: %d in %s; %d ReplaceRoute requests, at most %d in flight; %d DescribeRouteTables", res.Code, res.Elapsed, replaces, inFlight, e.W.Emu.Count("DescribeRouteTables"))
	assert.Equal(t, lab.OCFSuccess, res.Code, "reason %q", res.Reason)
	assert.LessOrEqual(t, inFlight, 20, "writes in flight at once")
	assert.Equal(t, 200, replaces, "one write per table: a timed-out write is read back before it is sent again")
	snap := e.W.Emu.Snapshot()
	for _, id := range ids {
		assert.Equal(t, ec2emu.FixtureENIA, snap.RouteTable(id).Route(vipDs).NetworkInterfaceID, id)
	}
}
