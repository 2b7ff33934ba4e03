package labtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
)

// The resource every scenario configures: one VIP routed in both of the
// fixture's tables.
const (
	VIP   = "192.0.2.10"
	VIPDs = VIP + "/32"
	RTB1  = ec2emu.FixtureRouteTable1
	RTB2  = ec2emu.FixtureRouteTable2
)

// Env is one scenario: a two-node world on the emulator and the parameters
// of one resource, which the test may change between actions.
type Env struct {
	T      *testing.T
	W      *World
	Params map[string]string
	// Before is the emulator's state the end-of-test check compares with;
	// a test that moves routes on purpose before acting takes a new one.
	Before *ec2emu.State
}

// NewEnv builds the world and the resource's parameters (ip, both tables,
// source_dest_check=ignore). When the test ends it checks that nothing but
// the resource's own destination in its own tables changed, whatever the
// test did.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	e := &Env{T: t, W: NewWorld(t), Params: map[string]string{
		"ip": VIP, "routing_table": RTB1 + "," + RTB2, "source_dest_check": "ignore",
	}}
	e.Before = e.W.Emu.Snapshot()
	t.Cleanup(e.AssertOnlyOurRouteChanged)
	return e
}

// Opt changes how one action is run.
type Opt func(*lab.Runner)

// Timeout sets the action's CRM_meta_timeout.
func Timeout(d time.Duration) Opt { return func(r *lab.Runner) { r.Timeout = d } }

// Recurring makes the action a recurring one (CRM_meta_interval 10 s).
func Recurring(r *lab.Runner) { r.Interval = 10 * time.Second }

// Run runs one action on a node. The process must have run and exited by
// itself (not been killed) inside its CRM_meta_timeout, where
// pacemaker-execd would have killed it, and must not have panicked.
func (e *Env) Run(node, action string, opts ...Opt) lab.Result {
	e.T.Helper()
	return e.RunEnv(node, action, nil, opts...)
}

// RunEnv is Run with extra environment entries (KEY=VALUE), which win.
func (e *Env) RunEnv(node, action string, extraEnv []string, opts ...Opt) lab.Result {
	e.T.Helper()
	res, timeout := e.run(node, action, extraEnv, opts)
	require.NoError(e.T, res.Err, "running %s on %s: the process did not exit by itself", action, node)
	assert.Less(e.T, res.Elapsed, timeout, "%s on %s ran past CRM_meta_timeout", action, node)
	assert.NotContains(e.T, res.Stderr, "panic", "%s on %s", action, node)
	assert.NotContains(e.T, res.Stderr, "goroutine ", "%s on %s", action, node)
	return res
}

// RunRaw runs an action as RunEnv does, with a 2-minute bound and no
// check, so that it may run outside the test's goroutine.
func (e *Env) RunRaw(node, action string, extraEnv []string, opts ...Opt) lab.Result {
	res, _ := e.run(node, action, extraEnv, opts)
	return res
}

// run runs the action and returns its result and CRM_meta_timeout.
func (e *Env) run(node, action string, extraEnv []string, opts []Opt) (lab.Result, time.Duration) {
	r := e.W.Agent(node)
	for _, o := range opts {
		o(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return r.Run(ctx, action, e.Params, extraEnv...), r.Timeout
}

// Expect runs an action and requires its exit code; a failure must carry
// a one-line exit reason that fits in what Pacemaker keeps.
func (e *Env) Expect(node, action string, code int, opts ...Opt) lab.Result {
	e.T.Helper()
	res := e.Run(node, action, opts...)
	require.Equal(e.T, code, res.Code, "%s on node %s: reason %q\nstderr:\n%s", action, node, res.Reason, res.Stderr)
	CheckReason(e.T, res)
	return res
}

// CheckReason: every failure has a one-line exit reason of at most 127
// bytes (what Pacemaker keeps).
func CheckReason(t testing.TB, res lab.Result) {
	t.Helper()
	if res.Code != lab.OCFSuccess {
		assert.NotEmpty(t, res.Reason, "a failure without an exit reason; stderr:\n%s", res.Stderr)
		assert.NotContains(t, res.Reason, "\n")
		assert.LessOrEqual(t, len(res.Reason), 127, "Pacemaker keeps 127 bytes of a reason: %q", res.Reason)
	}
}

// Route returns the emulator's route to dest in table (which must exist),
// nil when there is none.
func (e *Env) Route(table, dest string) *ec2emu.Route {
	e.T.Helper()
	rt := e.W.Emu.Snapshot().RouteTable(table)
	require.NotNil(e.T, rt, "no table %s", table)
	return rt.Route(dest)
}

// Target returns the ENI (or instance) the VIP's route in table points at,
// "" when there is no route.
func (e *Env) Target(table string) string {
	e.T.Helper()
	if r := e.Route(table, VIPDs); r != nil {
		return r.ENIOrInstance()
	}
	return ""
}

// HasVIP tells whether the VIP is on the node's lo.
func (e *Env) HasVIP(node string) bool {
	e.T.Helper()
	ok, err := e.W.Node(node).NS.HasAddr("lo", VIPDs)
	require.NoError(e.T, err)
	return ok
}

// RouteTo moves the VIP's route in tables to node's ENI behind the agent's
// back.
func (e *Env) RouteTo(node string, tables ...string) {
	e.T.Helper()
	for _, table := range tables {
		require.NoError(e.T, e.W.Emu.SetRoute(table, VIPDs, e.W.Node(node).ENI))
	}
}

// AssertOnlyOurRouteChanged checks that, since NewEnv, no route changed
// but the resource's destination in its configured tables.
func (e *Env) AssertOnlyOurRouteChanged() {
	configured := map[string]bool{}
	for _, id := range strings.FieldsFunc(e.Params["routing_table"], func(r rune) bool { return r == ',' || r == ' ' }) {
		configured[id] = true
	}
	dst := e.Params["destination_cidr"]
	if dst == "" {
		dst = e.Params["ip"] + "/32"
		if strings.Contains(e.Params["ip"], ":") {
			dst = e.Params["ip"] + "/128"
		}
	}
	for _, c := range ec2emu.Diff(e.Before, e.W.Emu.Snapshot()) {
		assert.True(e.T, configured[c.RouteTableID] && c.Destination == dst,
			"a route outside the resource changed: %s", c)
	}
}
