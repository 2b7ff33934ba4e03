// Package reliability checks routeha's promises under failure: every action
// ends inside CRM_meta_timeout with the right exit code and a reason whatever
// the EC2 API or IMDS do, nothing but the resource's own route ever changes,
// two nodes racing converge, a start killed half-way leaves a state the next
// monitor reports truthfully and the next start or stop repairs, and no
// secret reaches a log.
//
// It drives the built binary (ROUTEHA_BIN, else built by the harness) as
// Pacemaker does, inside network namespaces made by the test, against the
// in-process EC2 emulator and one IMDS fake per node. It needs root.
//
// With ROUTEHA_RELIABILITY_OUT=<file> the measured tables (fault x action x
// exit code x time x reason) are written there as Markdown; doc/RELIABILITY.md
// holds a pasted run.
package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/harness"
)

const (
	vip   = "192.0.2.10"
	vipDs = "192.0.2.10/32"
	rtb1  = ec2emu.FixtureRouteTable1
	rtb2  = ec2emu.FixtureRouteTable2
)

// env is one test's world with the parameters of one resource.
type env struct {
	t      *testing.T
	w      *harness.World
	params map[string]string
	before *ec2emu.State

	// killCtx and killed serve the crash tests: the context that kills a
	// start, and where its result goes.
	killCtx context.Context
	killed  chan harness.Result
}

func newEnv(t *testing.T) *env {
	t.Helper()
	w := harness.NewWorld(t)
	e := &env{t: t, w: w, params: map[string]string{
		"ip": vip, "routing_table": rtb1 + "," + rtb2, "source_dest_check": "ignore",
	}}
	e.before = w.Emu.Snapshot()
	// Safety, for every test of the package: whatever happened, only the
	// configured destination in the configured tables changed.
	t.Cleanup(e.assertOnlyOurRouteChanged)
	return e
}

type opt func(*harness.Runner)

func timeout(d time.Duration) opt { return func(r *harness.Runner) { r.Timeout = d } }
func recurring(r *harness.Runner) { r.Interval = 10 * time.Second }

// run runs one action on a node; the process must have run and exited by
// itself (not been killed), and must not have panicked.
func (e *env) run(node, action string, opts ...opt) harness.Result {
	e.t.Helper()
	return e.runEnv(node, action, nil, opts...)
}

func (e *env) runEnv(node, action string, extraEnv []string, opts ...opt) harness.Result {
	e.t.Helper()
	r := e.w.Agent(node)
	for _, o := range opts {
		o(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res := r.Run(ctx, action, e.params, extraEnv...)
	require.NoError(e.t, res.Err, "running %s on %s: the process did not exit by itself", action, node)
	assert.NotContains(e.t, res.Stderr, "panic", "%s on %s", action, node)
	assert.NotContains(e.t, res.Stderr, "goroutine ", "%s on %s", action, node)
	return res
}

func (e *env) expect(node, action string, code int, opts ...opt) harness.Result {
	e.t.Helper()
	res := e.run(node, action, opts...)
	require.Equal(e.t, code, res.Code, "%s on node %s: reason %q\nstderr:\n%s", action, node, res.Reason, res.Stderr)
	checkReason(e.t, res)
	return res
}

// checkReason: every failure has a one-line exit reason.
func checkReason(t *testing.T, res harness.Result) {
	t.Helper()
	if res.Code != harness.OCFSuccess {
		assert.NotEmpty(t, res.Reason, "a failure without an exit reason; stderr:\n%s", res.Stderr)
		assert.NotContains(t, res.Reason, "\n")
	}
}

// target returns the ENI (or instance) the VIP's route in table points at,
// "" when there is no route.
func (e *env) target(table string) string {
	e.t.Helper()
	rt := e.w.Emu.Snapshot().RouteTable(table)
	require.NotNil(e.t, rt)
	r := rt.Route(vipDs)
	if r == nil {
		return ""
	}
	if r.NetworkInterfaceID != "" {
		return r.NetworkInterfaceID
	}
	return r.InstanceID
}

func (e *env) hasVIP(node string) bool {
	e.t.Helper()
	ok, err := e.w.Node(node).NS.HasAddr("lo", vipDs)
	require.NoError(e.t, err)
	return ok
}

// routeTo moves the VIP's route behind the agent's back.
func (e *env) routeTo(node string, tables ...string) {
	e.t.Helper()
	for _, table := range tables {
		require.NoError(e.t, e.w.Emu.SetRoute(table, vipDs, e.w.Node(node).ENI))
	}
}

func (e *env) assertOnlyOurRouteChanged() {
	configured := map[string]bool{}
	for _, id := range strings.Split(e.params["routing_table"], ",") {
		configured[id] = true
	}
	dst := e.params["destination_cidr"]
	if dst == "" {
		dst = e.params["ip"] + "/32"
	}
	for _, c := range ec2emu.Diff(e.before, e.w.Emu.Snapshot()) {
		assert.True(e.t, configured[c.RouteTableID] && c.Destination == dst,
			"a route outside the resource changed: %s", c)
	}
}

// rscTmpFiles lists HA_RSCTMP of a node.
func (e *env) rscTmpFiles(node string) []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.w.Node(node).RscTmp)
	require.NoError(e.t, err)
	var names []string
	for _, d := range ents {
		names = append(names, d.Name())
	}
	return names
}

// The files routeha may keep in HA_RSCTMP: the identity cache of resource
// "vip" (imdsid.CachePath), the node's IMDSv2 token (imdsid.TokenPath) and
// the resource's last observation of its tables (lastread.Path).
const (
	cacheName       = "routeha-vip.identity"
	tokenName       = "routeha.imds-token"
	observationName = "routeha-vip.observation"
)

// allowedRscTmp reports whether every file in names is one routeha may keep.
func allowedRscTmp(names []string) bool {
	for _, n := range names {
		if n != cacheName && n != tokenName && n != observationName {
			return false
		}
	}
	return true
}

func (e *env) cachePath(node string) string {
	return filepath.Join(e.w.Node(node).RscTmp, cacheName)
}

// ---- measured tables ----

// row is one measured action.
type row struct {
	Table   string // which table of the report
	Case    string // the fault or situation
	Action  string
	Timeout time.Duration
	Code    int
	Elapsed time.Duration // fork to exit, as Pacemaker measures
	Own     time.Duration // the agent's own measure, when known
	Reason  string
}

var report struct {
	mu   sync.Mutex
	rows []row
}

func record(r row) {
	report.mu.Lock()
	defer report.mu.Unlock()
	report.rows = append(report.rows, r)
}

// tableOrder and caseOrder keep the written report in a stable order.
var (
	tableOrder = map[string]int{}
	caseOrder  = map[string]int{}
	actOrder   = map[string]int{}
)

func order(m map[string]int, keys ...string) {
	for i, k := range keys {
		m[k] = i
	}
}

func writeReport(path string) error {
	report.mu.Lock()
	rows := append([]row(nil), report.rows...)
	report.mu.Unlock()
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Table != b.Table {
			return tableOrder[a.Table] < tableOrder[b.Table]
		}
		if a.Case != b.Case {
			ca, oka := caseOrder[a.Case]
			cb, okb := caseOrder[b.Case]
			if oka && okb {
				return ca < cb
			}
			return a.Case < b.Case
		}
		return actOrder[a.Action] < actOrder[b.Action]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- written by test/reliability (ROUTEHA_RELIABILITY_OUT) on %s -->\n", time.Now().UTC().Format(time.RFC3339))
	table := ""
	for _, r := range rows {
		if r.Table != table {
			table = r.Table
			fmt.Fprintf(&b, "\n### %s\n\n", table)
			b.WriteString("| case | action | CRM_meta_timeout | exit code | time taken (agent's own) | exit reason |\n|---|---|---|---|---|---|\n")
		}
		reason := strings.ReplaceAll(r.Reason, "|", "\\|")
		if len(reason) > 300 {
			reason = reason[:300] + "…"
		}
		took := r.Elapsed.Round(10 * time.Millisecond).String()
		if r.Own > 0 {
			took += " (" + r.Own.Round(10*time.Millisecond).String() + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d %s | %s | %s |\n", r.Case, r.Action, r.Timeout, r.Code, codeName(r.Code),
			took, reason)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func codeName(c int) string {
	switch c {
	case 0:
		return "success"
	case 1:
		return "generic"
	case 2:
		return "args"
	case 3:
		return "unimplemented"
	case 4:
		return "perm"
	case 5:
		return "installed"
	case 6:
		return "configured"
	case 7:
		return "not running"
	case 190:
		return "degraded"
	}
	return "?"
}

func TestMain(m *testing.M) {
	code := m.Run()
	if out := os.Getenv("ROUTEHA_RELIABILITY_OUT"); out != "" {
		if err := writeReport(out); err != nil {
			fmt.Fprintf(os.Stderr, "writing %s: %v\n", out, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}
