package moto_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/moto"
)

// TestStandbyChangesNothing: validate-all and a probe on the standby (b,
// while a holds the route) leave every route and Source/Dest check exactly
// as they were, also on moto, which PERFORMS route writes sent with DryRun.
// Beyond the effect, the requests themselves are checked: a permission probe
// is ReplaceRoute with the route's current target only (a no-op even when
// executed), never names this node, and the standby never sends CreateRoute
// where a route exists.
//
// The one documented exception (doc/moto.md): where a table lacks the
// route, validate-all probes CreateRoute with DryRun and this node's
// target, so that a fresh install whose IAM policy lacks CreateRoute fails
// in validate-all rather than at its first start (issue 19). Real EC2 and
// our emulator answer DryRunOperation and change nothing; moto performs
// the write, so on moto, and only there, that table gains the route to the
// standby. The check is not weakened for moto's sake; the test pins what
// moto does instead.
func TestStandbyChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *moto.World) {
		ctx := ctxT(t)
		t1, t2 := w.Fix.Tables[0], w.Fix.Tables[1]
		self := map[string]bool{w.Fix.B.ID: true, w.Fix.B.ENI: true}
		cases := []struct {
			name string
			// routes: the VIP's target per table ("" no route)
			routes [2]string
			params map[string]string
			want   int // validate-all's exit code
		}{
			{"a's ENI in both tables", [2]string{w.Fix.A.ENI, w.Fix.A.ENI}, nil, 0},
			{"a's instance in both tables", [2]string{w.Fix.A.ID, w.Fix.A.ID}, nil, 0},
			{"lookup_type=InstanceId", [2]string{w.Fix.A.ID, w.Fix.A.ENI}, map[string]string{"lookup_type": "InstanceId"}, 0},
			{"source_dest_check=disable", [2]string{w.Fix.A.ENI, w.Fix.A.ENI}, map[string]string{"source_dest_check": "disable"}, 0},
			{"create_route=false", [2]string{w.Fix.A.ENI, w.Fix.A.ID}, map[string]string{"create_route": "false"}, 0},
			// A table that lacks the route: there is no current target
			// to probe with, and a probe naming this node is exactly
			// what the standby must never send.
			{"second table lacks the route", [2]string{w.Fix.A.ENI, ""}, nil, 0},
			{"second table lacks the route, InstanceId", [2]string{w.Fix.A.ID, ""}, map[string]string{"lookup_type": "InstanceId"}, 0},
			{"create_route=false and a table lacks the route", [2]string{w.Fix.A.ENI, ""}, map[string]string{"create_route": "false"}, 6},
		}
		for _, tc := range cases {
			t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
				require.NoError(t, w.SetRoute(ctx, t1, vipCIDR, tc.routes[0]))
				require.NoError(t, w.SetRoute(ctx, t2, vipCIDR, tc.routes[1]))
				params := map[string]string{"ip": vip, "routing_table": t1 + "," + t2}
				for k, v := range tc.params {
					params[k] = v
				}
				current := map[string]moto.RouteView{}
				for _, table := range w.Fix.Tables {
					rv, _, err := w.Route(ctx, table, vipCIDR)
					require.NoError(t, err)
					current[table] = rv
				}
				before, err := w.Snapshot(ctx)
				require.NoError(t, err)
				require.NotEmpty(t, before.Routes)
				w.Rec["b"].Reset()

				r := w.Agent("b").Run(ctx, "validate-all", params)
				assert.Equal(t, tc.want, r.Code, "validate-all on the standby: %s", show(r))
				p := w.Agent("b").Run(ctx, "monitor", params)
				assert.Equal(t, 7, p.Code, "probe on the standby: %s", show(p))

				// The tables that lacked the route: CreateRoute is probed there.
				fresh := map[string]bool{}
				for i, table := range []string{t1, t2} {
					fresh[table] = tc.routes[i] == "" && tc.params["create_route"] != "false"
				}
				if w.Backend == "moto" && (fresh[t1] || fresh[t2]) {
					// moto performs the DryRun CreateRoute: the exception.
					for _, table := range []string{t1, t2} {
						rv, ok, err := w.Route(ctx, table, vipCIDR)
						require.NoError(t, err)
						if fresh[table] {
							assert.True(t, ok && (self[rv.ENI] || self[rv.InstanceID]),
								"moto performed the DryRun CreateRoute in %s: it should now route to the standby (%+v)", table, rv)
						} else {
							assert.Equal(t, current[table], rv, "validate-all and a probe on the standby changed %s's route in moto", table)
						}
					}
				} else {
					after, err := w.Snapshot(ctx)
					require.NoError(t, err)
					assert.Equal(t, before, after, "validate-all and a probe on the standby changed %s", w.Backend)
				}

				calls := w.Rec["b"].Calls()
				for _, c := range writes(calls) {
					desc := describeCalls([]moto.Call{c})
					assert.True(t, c.DryRun(), "the standby sent a write without DryRun:%s", desc)
					if strings.HasPrefix(c.Action, "Modify") {
						// The Source/Dest check probe: its own ENI, with
						// the value it already has (off in the fixture).
						assert.Equal(t, "false", c.Params.Get("SourceDestCheck.Value"), "a Source/Dest check probe must set the current value:%s", desc)
						continue
					}
					if c.Action == "CreateRoute" && fresh[c.Params.Get("RouteTableId")] {
						// The fresh-install probe: DryRun, this node's target.
						assert.True(t, self[c.Target()], "a CreateRoute probe names this node:%s", desc)
						continue
					}
					// moto performs CreateRoute with DryRun, and with a
					// NetworkInterfaceId it overwrites an existing route
					// instead of answering RouteAlreadyExists.
					assert.NotEqual(t, "CreateRoute", c.Action, "the standby sent CreateRoute where a route exists:%s", desc)
					assert.False(t, self[c.Target()], "the standby sent a route write naming itself as target:%s", desc)
					if c.Action == "ReplaceRoute" {
						// Current: either field of the route as described
						// before (our emulator fills both, moto one).
						cur := current[c.Params.Get("RouteTableId")]
						assert.True(t, c.Target() != "" && (c.Target() == cur.InstanceID || c.Target() == cur.ENI),
							"a ReplaceRoute probe must name the route's current target %+v:%s", cur, desc)
					}
				}
				if tc.want == 0 {
					// It did probe where it could: the first table has a route.
					assert.Contains(t, fmt.Sprint(w.Rec["b"].Actions()), "ReplaceRoute", "validate-all probed no permission:%s", describeCalls(calls))
				}
			})
		}
	})
}
