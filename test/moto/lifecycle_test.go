package moto_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/moto"
)

const (
	vip     = "192.0.2.10"
	vipCIDR = vip + "/32"
)

// targetOf is the id a node writes for lookup_type.
func targetOf(in moto.Instance, lookup string) string {
	if lookup == "InstanceId" {
		return in.ID
	}
	return in.ENI
}

// requireRoutesTo asserts that the VIP's route in every table names the
// instance in the field lookup_type writes.
func requireRoutesTo(t *testing.T, w *moto.World, in moto.Instance, lookup string) {
	t.Helper()
	for _, table := range w.Fix.Tables {
		r, ok, err := w.Route(ctxT(t), table, vipCIDR)
		require.NoError(t, err)
		require.True(t, ok, "%s has no route for %s", table, vipCIDR)
		if lookup == "InstanceId" {
			require.Equal(t, in.ID, r.InstanceID, "%s: %+v", table, r)
		} else {
			require.Equal(t, in.ENI, r.ENI, "%s: %+v", table, r)
		}
		require.Equal(t, "active", r.State, "%s: %+v", table, r)
	}
}

func hasVIP(t *testing.T, n *lab.Node) bool {
	t.Helper()
	ok, err := n.NS.HasAddr("lo", vip)
	require.NoError(t, err)
	return ok
}

// TestLifecycle drives the binary through what Pacemaker does to it, against
// moto and against our emulator, with both lookup types: a probe on either
// node, start on a (one table routes to b, the other lacks the route, so
// start both replaces and creates), start again, monitor, the route moved
// away behind a's back (one table: tables disagree; both: not running),
// start taking it back, stop twice, monitor after stop.
func TestLifecycle(t *testing.T) {
	for _, lookup := range []string{"NetworkInterfaceId", "InstanceId"} {
		t.Run(lookup, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, w *moto.World) {
				ctx := ctxT(t)
				t1, t2 := w.Fix.Tables[0], w.Fix.Tables[1]
				params := map[string]string{"ip": vip, "routing_table": t1 + "," + t2, "lookup_type": lookup}
				a, b := w.Agent("a"), w.Agent("b")
				monA := w.Agent("a")
				monA.Interval = 10 * time.Second
				require.NoError(t, w.SetRoute(ctx, t1, vipCIDR, targetOf(w.Fix.B, lookup)))
				require.NoError(t, w.SetRoute(ctx, t2, vipCIDR, ""))

				// Probes on both nodes: not running, and no API call.
				for _, n := range []string{"a", "b"} {
					r := w.Agent(n).Run(ctx, "monitor", params)
					require.Equal(t, 7, r.Code, "probe on %s: %s", n, show(r))
					require.Empty(t, w.Rec[n].Calls(), "a probe without the VIP must not call EC2")
				}

				r := a.Run(ctx, "start", params)
				require.Equal(t, 0, r.Code, "start: %s", show(r))
				require.True(t, hasVIP(t, w.Nodes["a"]), "start left no %s on lo", vip)
				requireRoutesTo(t, w, w.Fix.A, lookup)
				acts := strings.Join(w.Rec["a"].Actions(), " ")
				assert.Contains(t, acts, "CreateRoute", "start creates the missing route (create_route=true)")
				assert.Contains(t, acts, "ReplaceRoute", "start replaces the route that points at b")

				w.Rec["a"].Reset()
				r = a.Run(ctx, "start", params)
				require.Equal(t, 0, r.Code, "second start: %s", show(r))
				require.Empty(t, writes(w.Rec["a"].Calls()), "a second start must write nothing:%s", describeCalls(w.Rec["a"].Calls()))

				r = monA.Run(ctx, "monitor", params)
				require.Equal(t, 0, r.Code, "monitor: %s", show(r))

				// Moved away behind a's back: one table, then both.
				require.NoError(t, w.SetRoute(ctx, t1, vipCIDR, targetOf(w.Fix.B, lookup)))
				r = monA.Run(ctx, "monitor", params)
				require.Equal(t, 1, r.Code, "monitor with tables disagreeing: %s", show(r))
				assert.Contains(t, r.Reason, t1)
				require.NoError(t, w.SetRoute(ctx, t2, vipCIDR, targetOf(w.Fix.B, lookup)))
				r = monA.Run(ctx, "monitor", params)
				require.Equal(t, 7, r.Code, "monitor with the route moved away: %s", show(r))

				r = a.Run(ctx, "start", params)
				require.Equal(t, 0, r.Code, "start taking the route back: %s", show(r))
				requireRoutesTo(t, w, w.Fix.A, lookup)
				r = monA.Run(ctx, "monitor", params)
				require.Equal(t, 0, r.Code, "monitor after taking it back: %s", show(r))

				w.Rec["a"].Reset()
				for i := 1; i <= 2; i++ {
					r = a.Run(ctx, "stop", params)
					require.Equal(t, 0, r.Code, "stop %d: %s", i, show(r))
					require.False(t, hasVIP(t, w.Nodes["a"]), "stop %d left %s on lo", i, vip)
				}
				require.Empty(t, w.Rec["a"].Calls(), "stop must not call EC2")
				r = monA.Run(ctx, "monitor", params)
				require.Equal(t, 7, r.Code, "monitor after stop: %s", show(r))
				requireRoutesTo(t, w, w.Fix.A, lookup) // stop leaves the routes

				r = b.Run(ctx, "monitor", params)
				require.Equal(t, 7, r.Code, "probe on b: %s", show(r))
				require.Empty(t, w.Rec["b"].Calls(), "b never needed the API")
			})
		})
	}
}

// TestMonitorEitherField: a route counts as here when its instance id is
// this instance or its ENI is this instance's, whatever lookup_type says.
// moto fills only the field the route was written with, so this is where
// an agent that compared only one field would fail.
func TestMonitorEitherField(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *moto.World) {
		ctx := ctxT(t)
		params := map[string]string{"ip": vip, "routing_table": strings.Join(w.Fix.Tables, ",")}
		require.NoError(t, w.Nodes["a"].NS.AddAddr("lo:0", vipCIDR))
		mon := w.Agent("a")
		mon.Interval = 10 * time.Second
		for _, lookup := range []string{"NetworkInterfaceId", "InstanceId"} {
			params["lookup_type"] = lookup
			for _, tc := range []struct {
				name   string
				target string
				want   int
			}{
				{"route to a's instance", w.Fix.A.ID, 0},
				{"route to a's ENI", w.Fix.A.ENI, 0},
				{"route to b's instance", w.Fix.B.ID, 7},
				{"route to b's ENI", w.Fix.B.ENI, 7},
			} {
				for _, table := range w.Fix.Tables {
					require.NoError(t, w.SetRoute(ctx, table, vipCIDR, tc.target))
				}
				r, _, err := w.Route(ctx, w.Fix.Tables[0], vipCIDR)
				require.NoError(t, err)
				t.Logf("%s: %s describes the route as %+v", w.Backend, tc.name, r)
				res := mon.Run(ctx, "monitor", params)
				assert.Equal(t, tc.want, res.Code, "lookup_type=%s, %s: %s", lookup, tc.name, show(res))
			}
		}
	})
}
