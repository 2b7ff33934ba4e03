package demo

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/suzlab/routeha/test/lab"

	"github.com/suzlab/routeha/test/cluster"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// TestFailover runs scenarios 1-3 on a real two-node Pacemaker cluster in
// namespaces and checks where the resource, the route, the kernel route
// and the VIP end up, that the client's pings are answered again, and that
// crm_mon shows routeha's exit reason. Timings are printed, not checked.
func TestFailover(t *testing.T) {
	l, ctx := newLab(t, 4*time.Minute, Options{}, "corosync", "pacemakerd", "crm", "crm_mon", "unshare", "nsenter")

	var results []*Result
	// wantReason: the exit reason must name one of these.
	check := func(t *testing.T, rs []*Result, err error, wantReason []string) {
		t.Helper()
		results = append(results, rs...)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[len(rs)-1]
		to, from := l.NodeByName(r.To), l.NodeByName(r.From)
		st, err := l.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Resource(Resource).Started(to.Name) {
			t.Errorf("crm_mon: %s not started on %s:\n%s", Resource, to.Name, st.Raw)
		}
		if got := l.RouteTarget(); got != to.ENI {
			t.Errorf("emulator: route %s -> %s, want %s (%s)", VIPCIDR, got, to.ENI, to.Name)
		}
		if got := l.KernelNextHop(); got != to.IP {
			t.Errorf("router kernel: %s via %q, want %s", VIPCIDR, got, to.IP)
		}
		if label, ok := l.VIPLabel(to); !ok {
			t.Errorf("%s: VIP not on lo", to.Name)
		} else if label != "lo:0" {
			t.Errorf("%s: VIP on lo labelled %q, want lo:0 (iflabel's default)", to.Name, label)
		}
		if r.Ping <= 0 {
			t.Errorf("client: no reply through %s", to.Name)
		}
		if wantReason != nil {
			if r.ExitReason == "" {
				t.Errorf("crm_mon shows no exit reason for the failed monitor")
			}
			found := false
			for _, w := range wantReason {
				found = found || strings.Contains(r.ExitReason, w)
			}
			if !found {
				t.Errorf("exit reason %q names none of %q", r.ExitReason, wantReason)
			}
			if !strings.Contains(r.CrmMon, r.ExitReason) {
				t.Errorf("crm_mon -1 does not show the exit reason %q:\n%s", r.ExitReason, r.CrmMon)
			}
			// The failed node was stopped: the VIP is gone from its lo.
			if l.HasVIP(from) {
				t.Errorf("%s still has the VIP after the resource moved away", from.Name)
			}
		}
		// The cleanup after the scenario left no failure.
		st, err = l.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range st.Failures {
			t.Errorf("failure left after cleanup: %+v", f)
		}
		t.Logf("%s %s: %s -> %s: detected %v, route written %v, kernel %v, first reply %v, %d lost, start %v, reason %q",
			r.N, r.Name, r.From, r.To, r.Detect, r.RouteAPI, r.Kernel, r.Ping, r.Lost, r.Start, r.ExitReason)
	}

	t.Run("1-kill-active-node", func(t *testing.T) {
		rs, err := l.ScenarioKill(ctx)
		check(t, rs, err, nil)
		if t.Failed() {
			return
		}
		for _, n := range l.Nodes {
			if !n.Running() {
				t.Errorf("%s not running again after the scenario", n.Name)
			}
		}
	})
	t.Run("2-route-hijacked", func(t *testing.T) {
		rs, err := l.ScenarioHijack(ctx)
		check(t, rs, err, []string{OtherInstance, OtherENI}) // the route's rogue target
	})
	t.Run("3-vip-deleted", func(t *testing.T) {
		rs, err := l.ScenarioVIPDeleted(ctx)
		check(t, rs, err, []string{VIP})
	})
	t.Logf("\n%s", FormatTable(results))
}

// TestControlPlaneOutage runs scenarios 9-10b (issue 17): the standby's
// re-probe in the post's layout during an EC2 outage must cost no ping, no
// stop or start and no fail-count, show a warning, and not make the VIP
// "active on 2 nodes"; and with the API down while the active instance
// dies, the VIP must be served again with no operator action once the API
// is back. Each scenario checks its own claims (Outage.Problems); the test
// checks the main ones again from the results. About two and a half
// minutes: skipped with -short.
//
// Scenarios 7 (API down) and 8 (IAM denies DescribeRouteTables) on a
// healthy cluster run in make demo, not here: that Pacemaker keeps a
// resource whose recurring monitor answers 190 started, with no stop,
// start, route write or fail-count and the VIP on lo throughout, and shows
// the degraded result, is test/pacemaker's TestClusterDegradedMonitor; that
// the monitor answers 190 with the VIP here for every control-plane fault
// (503, IAM denial, refused connections, hangs, bad credentials) is
// test/integration's TestControlPlaneTable.
func TestControlPlaneOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("about two and a half minutes of outages; run without -short")
	}
	l, ctx := newLab(t, 12*time.Minute, Options{
		// 10 monitors per outage instead of make demo's 30: the same claims,
		// 40 s less of make test.
		OutageFor: 20 * time.Second,
		// 10b: the start still fails (20 s) with the API down, the API
		// returns at 30 s, and failure-timeout (30 s after the failure)
		// alone brings the resource back: make demo's claims, 30 s sooner.
		FailureTimeout: "30s", LongAPIBack: 30 * time.Second},
		"corosync", "pacemakerd", "crm", "crm_mon", "crm_resource", "crm_failcount", "unshare", "nsenter")
	var results []*Result
	outage := func(t *testing.T, run func(*Lab, context.Context) ([]*Result, error)) {
		rs, err := run(l, ctx)
		results = append(results, rs...)
		if len(rs) == 0 || rs[0].Outage == nil {
			t.Fatalf("no result: %v", err)
		}
		o := rs[0].Outage
		if o.Lost != 0 {
			t.Errorf("%d pings lost during the outage", o.Lost)
		}
		if o.Stops != 0 || o.Starts != 0 || o.Moved {
			t.Errorf("Pacemaker acted: %d stops, %d starts, moved %v", o.Stops, o.Starts, o.Moved)
		}
		if o.FailMax != 0 {
			t.Errorf("fail-count %d", o.FailMax)
		}
		if o.TwoActive {
			t.Errorf("Pacemaker logged \"active on 2 nodes\"")
		}
		if o.Warnings == 0 && !strings.Contains(strings.ToLower(o.CrmMon), "degraded") {
			t.Errorf("no warning from routeha in the log or crm_mon")
		}
		if o.Recovered <= 0 {
			t.Errorf("no good read of the tables after the API came back")
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", rs[0].N, *o)
	}
	t.Run("9-static-lo0-refresh", func(t *testing.T) {
		outage(t, (*Lab).ScenarioStaticRefresh)
		if o := results[len(results)-1].Outage; !strings.Contains(o.Probe, "not running") {
			t.Errorf("the standby's probe during the outage: %q, want not running (its last observation)", o.Probe)
		}
	})
	recovery := func(t *testing.T, run func(*Lab, context.Context) ([]*Result, error)) {
		rs, err := run(l, ctx)
		results = append(results, rs...)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		if got := l.RouteTarget(); got != l.NodeByName(r.To).ENI {
			t.Errorf("route -> %s, want %s's ENI", got, r.To)
		}
		if r.Recovery.Ping <= r.Recovery.APIBack {
			t.Errorf("served again %v after the kill, before the API returned (%v)?", r.Recovery.Ping, r.Recovery.APIBack)
		}
		t.Logf("%s: %+v", r.N, *r.Recovery)
	}
	t.Run("10a-api-down-kill-short", func(t *testing.T) { recovery(t, (*Lab).ScenarioAPIDownKillShort) })
	t.Run("10b-api-down-kill-long", func(t *testing.T) { recovery(t, (*Lab).ScenarioAPIDownKillLong) })
	t.Logf("\n%s\n%s", FormatOutageTable(results), FormatRecoveryTable(results))
}

// TestPcsConfig checks that the pcs commands of doc/FAILOVER.md are
// accepted by pcs against an offline CIB (pcs -f), with the agent visible
// to pcs only inside a private mount namespace.
func TestPcsConfig(t *testing.T) {
	labtest.RequireRoot(t)
	needTools(t, "pcs and Pacemaker", "pcs", "cibadmin", "unshare")
	agent := labtest.AgentBinary(t)
	dir := t.TempDir()
	ocf := dir + "/ocf"
	if err := cluster.StageAgents(ocf, []cluster.Agent{{Provider: "suzlab", Type: "routeha", Path: agent}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cib := dir + "/cib.xml"
	out, err := exec.CommandContext(ctx, "cibadmin", "--empty").Output()
	if err != nil {
		t.Fatalf("cibadmin --empty: %v", err)
	}
	if err := os.WriteFile(cib, out, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range PcsConfig("2s", FailureTimeout) {
		args := append([]string{"-f", cib}, c...)
		cmd := cluster.AgentCommand(ctx, ocf, lab.HiddenHostFiles(), "pcs", args...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pcs %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	b, err := os.ReadFile(cib)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`type="routeha"`, `provider="suzlab"`, `value="` + VIP + `"`, `value="` + Table + `"`,
		`name="migration-threshold" value="1"`, `name="resource-stickiness" value="INFINITY"`,
		`name="no-quorum-policy" value="ignore"`, `name="stonith-enabled" value="false"`, `interval="2s"`,
		`name="failure-timeout" value="` + FailureTimeout + `"`, `timeout="` + StartTimeout + `"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("cib.xml lacks %s:\n%s", want, b)
		}
	}
}

// needTools fails t when one of tools is not on PATH: the demo's tests
// do not skip. what is what make deps installs for them.
func needTools(t *testing.T, what string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make deps installs %s): %v", tool, what, err)
		}
	}
}

// newLab starts a lab of the agent under test with opts, for a test that
// needs tools and takes at most timeout. At the end the lab is closed,
// after the cluster's and routeha's logs when the test failed, and no
// namespace of it may be left.
func newLab(t *testing.T, timeout time.Duration, opts Options, tools ...string) (*Lab, context.Context) {
	t.Helper()
	labtest.RequireRoot(t)
	needTools(t, "Pacemaker, corosync and crmsh", tools...)
	opts.Agent, opts.Dir, opts.Logf = labtest.AgentBinary(t), t.TempDir(), t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	l, err := New(ctx, opts)
	if err != nil {
		cancel()
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() && l.Cluster != nil {
			t.Log(l.Cluster.Logs(60))
			for _, n := range l.Nodes {
				if b, err := os.ReadFile(n.Dir + "/var/log/pacemaker/routeha.log"); err == nil {
					t.Logf("==== %s: routeha.log\n%s", n.Name, tail(string(b), 40))
				}
			}
		}
		l.Close()
		for _, ns := range []string{l.RouterNS, l.ClientNS, l.Nodes[0].NS, l.Nodes[1].NS} {
			if _, err := os.Stat("/run/netns/" + ns); err == nil {
				t.Errorf("namespace %s left behind", ns)
			}
		}
	})
	t.Cleanup(cancel) // registered last, runs first: as the tests' deferred cancel did
	return l, ctx
}

func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
