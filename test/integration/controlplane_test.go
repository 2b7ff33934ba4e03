package integration

import (
	"context"
	"fmt"
	"net"
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
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// Issue 17: with the VIP here and the EC2 API down, the recurring monitor
// must report the VIP as served (degraded), not fail: a failure makes
// Pacemaker stop the resource, which takes the VIP down. (Written first;
// on 741989c it failed with exit 1, "cannot read route tables:
// DescribeRouteTables Unavailable".)
func TestMonitorDuringAPIOutageIsNotAFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	res := e.Run("a", "monitor", labtest.Recurring, labtest.Timeout(5*time.Second))
	assert.NotEqual(t, lab.OCFGeneric, res.Code, "reason %q", res.Reason)
	assert.NotEqual(t, lab.OCFNotRunning, res.Code, "reason %q", res.Reason)
}

// cpTimeout is CRM_meta_timeout of every monitor here: short, so that a
// fault that hangs costs little, and so that "finishes inside" means
// something.
const cpTimeout = 4 * time.Second

// controlPlaneFault is one way the tables become unreadable.
type controlPlaneFault struct {
	name string
	// word is what the exit reason must name.
	word string
	// inject breaks the control plane for node; it returns extra
	// environment for the agent.
	inject func(t *testing.T, e *env, node string) []string
	// counted: the emulator sees the requests (not so for a refused
	// connection, or when no credentials let a request be signed).
	counted bool
}

func controlPlaneFaults() []controlPlaneFault {
	emuFault := func(f ec2emu.Fault) func(*testing.T, *env, string) []string {
		return func(_ *testing.T, e *env, _ string) []string { e.W.Emu.AddFault(f); return nil }
	}
	return []controlPlaneFault{
		{name: "503 Unavailable", word: "DescribeRouteTables Unavailable", counted: true,
			inject: emuFault(ec2emu.Fault{Kind: ec2emu.Unavailable})},
		{name: "throttling (RequestLimitExceeded)", word: "RequestLimitExceeded", counted: true,
			inject: emuFault(ec2emu.Fault{Kind: ec2emu.Throttle})},
		{name: "hang past the timeout (30 s latency)", word: "DescribeRouteTables: no answer within the action timeout", counted: true,
			inject: emuFault(ec2emu.Fault{Kind: ec2emu.Latency, Delay: 30 * time.Second})},
		{name: "connection refused", word: "connection refused",
			inject: func(t *testing.T, e *env, node string) []string {
				return []string{"AWS_ENDPOINT_URL_EC2=" + closedPort(t, e.W.Node(node))}
			}},
		{name: "IAM denies DescribeRouteTables", word: "denied by IAM (DescribeRouteTables UnauthorizedOperation)", counted: true,
			inject: func(_ *testing.T, e *env, _ string) []string {
				e.W.Emu.Deny(ec2emu.Deny{Principal: "*", Action: "DescribeRouteTables"})
				return nil
			}},
		{name: "credentials refused (401 AuthFailure)", word: "AuthFailure", counted: true,
			inject: emuFault(ec2emu.Fault{Kind: ec2emu.AuthFailure})},
		{name: "credentials unavailable (credential_process fails)", word: "no credentials from",
			inject: func(t *testing.T, e *env, _ string) []string {
				dir := t.TempDir()
				cfg := filepath.Join(dir, "config")
				require.NoError(t, os.WriteFile(cfg, []byte("[default]\ncredential_process = /bin/false\n"), 0o644))
				return []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_CONFIG_FILE=" + cfg,
					"AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
			}},
	}
}

// closedPort is an EC2 URL inside node's namespace where nothing listens.
func closedPort(t *testing.T, n *lab.Node) string {
	ln, err := n.NS.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.TCPAddr)
	require.NoError(t, ln.Close())
	return fmt.Sprintf("http://127.0.0.1:%d", addr.Port)
}

// cpRow is one measured monitor, for doc/RELIABILITY.md.
type cpRow struct {
	fault, situation, action string
	code, requests           int
	counted                  bool
	elapsed                  time.Duration
	reason                   string
}

type cpReport struct {
	mu   sync.Mutex
	rows []cpRow
}

func (r *cpReport) add(row cpRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, row)
}

// write puts the rows as a Markdown table in $ROUTEHA_CONTROLPLANE_OUT.
func (r *cpReport) write(t *testing.T, order []string) {
	out := os.Getenv("ROUTEHA_CONTROLPLANE_OUT")
	if out == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	pos := map[string]int{}
	for i, f := range order {
		pos[f] = i
	}
	sort.SliceStable(r.rows, func(i, j int) bool { return pos[r.rows[i].fault] < pos[r.rows[j].fault] })
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- written by TestControlPlaneTable (ROUTEHA_CONTROLPLANE_OUT) on %s, CRM_meta_timeout %s -->\n",
		time.Now().UTC().Format(time.RFC3339), cpTimeout)
	b.WriteString("| fault | situation | action | exit code | EC2 requests | time taken | exit reason |\n|---|---|---|---|---|---|---|\n")
	for _, row := range r.rows {
		req := fmt.Sprint(row.requests)
		if !row.counted {
			req = "(not seen)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %s |\n", row.fault, row.situation, row.action, row.code, req,
			row.elapsed.Round(10*time.Millisecond), strings.ReplaceAll(row.reason, "|", "\\|"))
	}
	require.NoError(t, os.WriteFile(out, []byte(b.String()), 0o644))
}

// requestsBy counts node's DescribeRouteTables requests in the log.
func requestsBy(e *env, node string) int {
	n := 0
	for _, l := range e.W.Emu.Log() {
		if l.Principal == e.W.Node(node).AccessKeyID && l.Action == "DescribeRouteTables" {
			n++
		}
	}
	return n
}

// TestControlPlaneTable drives every row of issue 17's table through the
// binary, under each fault that makes the tables unreadable: exit code,
// EC2 requests (at most 3 per monitor), the action inside
// CRM_meta_timeout, the reason, and that the VIP stays.
func TestControlPlaneTable(t *testing.T) {
	t.Parallel()
	faults := controlPlaneFaults()
	var report cpReport
	var names []string
	for _, f := range faults {
		names = append(names, f.name)
	}
	t.Cleanup(func() { report.write(t, append([]string{"none"}, names...)) })

	t.Run("readable", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.Expect("a", "start", lab.OCFSuccess)
		measure := func(node, situation, action string, want, wantReq int, opts ...labtest.Opt) {
			t.Helper()
			e.W.Emu.ResetLog()
			res := e.Run(node, action, append(opts, labtest.Timeout(cpTimeout))...)
			label := "monitor (labtest.Recurring)"
			if !isRecurring(opts) {
				label = "probe"
			}
			report.add(cpRow{fault: "none", situation: situation, action: label, code: res.Code, requests: requestsBy(e, node),
				counted: true, elapsed: res.Elapsed, reason: res.Reason})
			assert.Equal(t, want, res.Code, "%s, %s: %q\n%s", situation, label, res.Reason, res.Stderr)
			assert.Equal(t, wantReq, requestsBy(e, node), "%s, %s: DescribeRouteTables requests", situation, label)
			assert.Less(t, res.Elapsed, cpTimeout)
		}
		for _, kind := range []labtest.Opt{labtest.Recurring, func(*lab.Runner) {}} {
			measure("b", "VIP absent", "monitor", lab.OCFNotRunning, 0, kind)
			measure("a", "VIP present, all tables route here", "monitor", lab.OCFSuccess, 1, kind)
			e.RouteTo("b", rtb2)
			measure("a", "VIP present, some tables route here", "monitor", lab.OCFGeneric, 2, kind)
			e.RouteTo("b", rtb1)
			measure("a", "VIP present, no table routes here", "monitor", lab.OCFNotRunning, 2, kind)
			e.RouteTo("a", rtb1)
			e.RouteTo("a", rtb2)
		}
	})

	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.Expect("a", "start", lab.OCFSuccess)
			// Node b has the VIP statically on lo, as in the post, and
			// has read the tables once (the route was on a).
			require.NoError(t, e.W.Node("b").NS.AddAddr("lo", vipDs))
			e.Expect("b", "monitor", lab.OCFNotRunning, labtest.Timeout(cpTimeout))

			measure := func(node, situation string, want int, reasonHas string, opts ...labtest.Opt) lab.Result {
				t.Helper()
				extra := f.inject(t, e, node)
				e.W.Emu.ResetLog()
				r := e.W.Agent(node)
				r.Timeout = cpTimeout
				for _, o := range opts {
					o(r)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				res := r.Run(ctx, "monitor", e.Params, extra...)
				require.NoError(t, res.Err)
				e.W.Emu.ClearFaults()
				e.W.Emu.ClearDenies()
				time.Sleep(100 * time.Millisecond) // a hung request is logged when the agent has gone
				label := "monitor (labtest.Recurring)"
				if r.Interval == 0 {
					label = "probe"
				}
				n := requestsBy(e, node)
				report.add(cpRow{fault: f.name, situation: situation, action: label, code: res.Code, requests: n,
					counted: f.counted, elapsed: res.Elapsed, reason: res.Reason})
				assert.Equal(t, want, res.Code, "%s, %s: %q\n%s", situation, label, res.Reason, res.Stderr)
				assert.LessOrEqual(t, n, 3, "%s, %s: a monitor makes at most 3 EC2 requests", situation, label)
				if f.counted && want != lab.OCFNotRunning {
					assert.Positive(t, n, "%s, %s: the fault was met", situation, label)
				}
				assert.Less(t, res.Elapsed, cpTimeout, "%s, %s: inside CRM_meta_timeout", situation, label)
				assert.LessOrEqual(t, len(res.Reason), 127)
				assert.NotContains(t, res.Reason, "...", "the reason was cut")
				if want != lab.OCFNotRunning || reasonHas != "" {
					assert.Contains(t, res.Reason, "EC2 control plane unreachable", "%s, %s", situation, label)
				}
				assert.Contains(t, res.Reason, reasonHas, "%s, %s", situation, label)
				if want == lab.OCFDegraded {
					assert.Contains(t, res.Stderr, "WARNING", "a warning, not an error")
					assert.Contains(t, res.Reason, "VIP still served")
				}
				ok, err := e.W.Node(node).NS.HasAddr("lo", vipDs)
				require.NoError(t, err)
				assert.True(t, ok, "%s, %s: the VIP stays", situation, label)
				return res
			}
			probe := func(*lab.Runner) {}

			measure("a", "VIP present, tables unreadable", lab.OCFDegraded, f.word, labtest.Recurring)
			measure("a", "VIP present, tables unreadable, observed here", lab.OCFDegraded, "all tables routed here", probe)
			measure("b", "VIP present, tables unreadable, observed elsewhere", lab.OCFNotRunning, "no table routed "+vip+" here", probe)
			require.NoError(t, os.Remove(filepath.Join(e.W.Node("a").RscTmp, "routeha-vip.observation")))
			measure("a", "VIP present, tables unreadable, never observed", lab.OCFInstalled, "never read the tables", probe)
			// VIP absent: 7 without a request, whatever the fault.
			require.NoError(t, e.W.Node("b").NS.DelAddr("lo", vipDs))
			for _, kind := range []labtest.Opt{labtest.Recurring, probe} {
				extra := f.inject(t, e, "b")
				e.W.Emu.ResetLog()
				r := e.W.Agent("b")
				r.Timeout = cpTimeout
				kind(r)
				res := r.Run(context.Background(), "monitor", e.Params, extra...)
				e.W.Emu.ClearFaults()
				e.W.Emu.ClearDenies()
				require.NoError(t, res.Err)
				label := map[bool]string{true: "monitor (labtest.Recurring)", false: "probe"}[r.Interval > 0]
				report.add(cpRow{fault: f.name, situation: "VIP absent", action: label, code: res.Code, requests: requestsBy(e, "b"),
					counted: f.counted, elapsed: res.Elapsed, reason: res.Reason})
				assert.Equal(t, lab.OCFNotRunning, res.Code, "VIP absent, %s: %q", label, res.Reason)
				assert.Zero(t, requestsBy(e, "b"), "VIP absent, %s: no EC2 request", label)
				assert.Less(t, res.Elapsed, cpTimeout)
			}
			var res lab.Result

			// The API is back: the next monitor is 0, no operator action.
			e.W.Emu.ResetLog()
			res = e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring, labtest.Timeout(cpTimeout))
			report.add(cpRow{fault: f.name, situation: "API back", action: "monitor (labtest.Recurring)", code: res.Code,
				requests: requestsBy(e, "a"), counted: true, elapsed: res.Elapsed})
			assert.Equal(t, 1, requestsBy(e, "a"))
			assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1))
			assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb2))
		})
	}
}

func isRecurring(opts []labtest.Opt) bool {
	r := &lab.Runner{}
	for _, o := range opts {
		o(r)
	}
	return r.Interval > 0
}

// `routeha status` during an outage: the control plane is unreachable, the
// monitor degraded, and the age of the last good read is shown.
func TestStatusDuringAPIOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	time.Sleep(1100 * time.Millisecond)
	code, out := e.status("a")
	assert.Equal(t, lab.OCFDegraded, code, out)
	assert.Regexp(t, `control plane\s+unreachable: DescribeRouteTables Unavailable`, out)
	assert.Regexp(t, `last good read\s+all tables routed here, [1-9]\d*s ago`, out)
	assert.Contains(t, out, "monitor: 190 OCF_DEGRADED, degraded: the VIP is served but the route could not be confirmed")
	e.W.Emu.ClearFaults()
	code, out = e.status("a")
	assert.Equal(t, lab.OCFSuccess, code, out)
	assert.Regexp(t, `control plane\s+reachable`, out)
	assert.Regexp(t, `last good read\s+all tables routed here, 0s ago`, out)
}
