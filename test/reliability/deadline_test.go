package reliability

import (
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/imdsfake"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// The actions of the fault matrix, each run in the state Pacemaker runs it
// in: monitor and the active probe on node a holding the resource, the
// standby probe on node b, start on node a with the routes on node b, stop
// on node a holding the resource.
const (
	actMonitor      = "monitor (labtest.Recurring)"
	actProbeActive  = "monitor probe (active node)"
	actProbeStandby = "monitor probe (standby node)"
	actValidate     = "validate-all"
	actStart        = "start"
	actStop         = "stop"
)

// matrixConcurrency is how many fault cases run at once.
const matrixConcurrency = 3

var matrixActions = []string{actMonitor, actProbeActive, actProbeStandby, actValidate, actStart, actStop}

// faultCase is one row group of the matrix: a fault, the action timeout it
// runs under and the exit code each action must give.
type faultCase struct {
	name    string
	timeout time.Duration
	ec2     []ec2emu.Fault
	stale   int
	imds    *imdsfake.Fault
	// cold removes the identity cache before each action, so that IMDS is
	// needed (a node after a reboot: HA_RSCTMP is on tmpfs).
	cold bool
	// failing actions answer 1 with reason; the others succeed (0, and 7
	// for the standby probe). The monitor and the active probe, which
	// find the VIP here, answer 190 instead (issue 17: the VIP is still
	// served; the probe answers from the node's last observation).
	failing bool
	// outlasts is a burst longer than a monitor's 3 requests: start and
	// validate-all ride it out, the monitor and the active probe answer
	// 190 (the VIP is still served).
	outlasts bool
	reason   string // a word every failing action's exit reason contains
}

const (
	faultTimeout = 5 * time.Second  // persistent faults: the action must give up in time
	burstTimeout = 20 * time.Second // bursts: retries within Pacemaker's default must win
)

var faultCases = []faultCase{
	{name: "none", timeout: faultTimeout},
	{name: "EC2 throttling on every call (RequestLimitExceeded)", timeout: faultTimeout, failing: true, reason: "RequestLimitExceeded",
		ec2: []ec2emu.Fault{{Kind: ec2emu.Throttle}}},
	{name: "EC2 throttling burst (5 calls)", timeout: burstTimeout, outlasts: true,
		ec2: []ec2emu.Fault{{Kind: ec2emu.Throttle, Count: 5}}},
	{name: "EC2 5xx burst (5 x 500 InternalError)", timeout: burstTimeout, outlasts: true,
		ec2: []ec2emu.Fault{{Kind: ec2emu.InternalError, Count: 5}}},
	{name: "EC2 500 InternalError on every call", timeout: faultTimeout, failing: true, reason: "InternalError",
		ec2: []ec2emu.Fault{{Kind: ec2emu.InternalError}}},
	{name: "EC2 503 Unavailable on every call", timeout: faultTimeout, failing: true, reason: "Unavailable",
		ec2: []ec2emu.Fault{{Kind: ec2emu.Unavailable}}},
	{name: "EC2 30 s latency on every call", timeout: faultTimeout, failing: true, reason: "timeout",
		ec2: []ec2emu.Fault{{Kind: ec2emu.Latency, Delay: 30 * time.Second}}},
	{name: "EC2 connection dropped on every call", timeout: faultTimeout, failing: true, reason: "route tables",
		ec2: []ec2emu.Fault{{Kind: ec2emu.Drop}}},
	{name: "EC2 HTML 500 body on every call", timeout: faultTimeout, failing: true, reason: "route tables",
		ec2: []ec2emu.Fault{{Kind: ec2emu.HTMLError}}},
	{name: "EC2 stale reads (3) after each route write", timeout: faultTimeout, stale: 3},
	{name: "IMDS down (503), identity cached", timeout: faultTimeout, imds: &imdsfake.Fault{Down: true}},
	{name: "IMDS down (503), no identity cache", timeout: faultTimeout, cold: true, failing: true, reason: "instance metadata service",
		imds: &imdsfake.Fault{Down: true}},
	{name: "IMDS closes connections, no identity cache", timeout: faultTimeout, cold: true, failing: true, reason: "instance metadata service",
		imds: &imdsfake.Fault{Down: true, Close: true}},
	{name: "IMDS 30 s latency, no identity cache", timeout: faultTimeout, cold: true, failing: true, reason: "instance metadata service",
		imds: &imdsfake.Fault{Latency: 30 * time.Second}},
	{name: "EC2 503 and IMDS down, identity cached", timeout: faultTimeout, failing: true, reason: "Unavailable",
		ec2: []ec2emu.Fault{{Kind: ec2emu.Unavailable}}, imds: &imdsfake.Fault{Down: true}},
}

func init() {
	order(tableOrder, "Deadlines: fault x action", "Crash safety: start killed with SIGKILL", "Races",
		"Eventual consistency", "Hostile answers", "Hostile input", "Identity cache", "Scale")
	order(actOrder, matrixActions...)
	var names []string
	for _, fc := range faultCases {
		names = append(names, fc.name)
	}
	order(caseOrder, names...)
}

// TestDeadlines runs every action under every fault the emulator and the
// IMDS fake can inject, and checks that each returns before
// CRM_meta_timeout with the right exit code and an exit reason, that stop
// makes no EC2 request, that a probe on the standby makes none either, and
// (through newEnv) that nothing but the resource's route changed. The fault
// cases run concurrently, each in its own world.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	// t.Run from several goroutines runs the cases at once without the
	// -parallel limit (GOMAXPROCS): they mostly wait for deadlines. A few
	// at a time, so that a loaded machine does not eat the agent's margin
	// before CRM_meta_timeout with process start-up.
	sem := make(chan struct{}, matrixConcurrency)
	for _, fc := range faultCases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(fc.name, func(t *testing.T) { runFaultCase(t, fc) })
		}()
	}
	wg.Wait()
}

func runFaultCase(t *testing.T, fc faultCase) {
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)

	inject := func() {
		for _, f := range fc.ec2 {
			e.W.Emu.AddFault(f)
		}
		if fc.stale > 0 {
			e.W.Emu.SetStaleReads(fc.stale)
		}
		if fc.imds != nil {
			e.W.Node("a").IMDS.SetFault(*fc.imds)
			e.W.Node("b").IMDS.SetFault(*fc.imds)
		}
		if fc.cold {
			for _, n := range []string{"a", "b"} {
				if err := os.Remove(e.cachePath(n)); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
		}
		e.W.Emu.ResetLog()
	}
	clear := func() {
		e.W.Emu.ClearFaults()
		e.W.Node("a").IMDS.SetFault(imdsfake.Fault{})
		e.W.Node("b").IMDS.SetFault(imdsfake.Fault{})
	}

	for _, act := range matrixActions {
		node, action, opts := "a", "monitor", []labtest.Opt{labtest.Timeout(fc.timeout)}
		want := lab.OCFSuccess
		switch act {
		case actMonitor:
			opts = append(opts, labtest.Recurring)
		case actProbeStandby:
			node, want = "b", lab.OCFNotRunning
		case actValidate:
			action = "validate-all"
		case actStart:
			// From the standby side: VIP absent, every table on node b,
			// so that start has to write.
			e.Expect("a", "stop", lab.OCFSuccess)
			e.RouteTo("b", rtb1, rtb2)
			action = "start"
		case actStop:
			action = "stop"
		}
		if fc.outlasts && (act == actMonitor || act == actProbeActive) {
			want = lab.OCFDegraded
		}
		if fc.failing && act != actProbeStandby && act != actStop {
			want = lab.OCFGeneric
			if act == actMonitor || act == actProbeActive {
				want = lab.OCFDegraded
			}
		}

		inject()
		res := e.RunEnv(node, action, []string{"HA_DEBUG=1"}, opts...)
		clear()
		record(row{Table: "Deadlines: fault x action", Case: fc.name, Action: act, Timeout: fc.timeout,
			Code: res.Code, Elapsed: res.Elapsed, Own: ownTime(res.Stderr), Reason: res.Reason})

		assert.Equal(t, want, res.Code, "%s: reason %q\nstderr:\n%s", act, res.Reason, res.Stderr)
		assert.Less(t, res.Elapsed, fc.timeout, "%s returned after CRM_meta_timeout", act)
		labtest.CheckReason(t, res)
		if want == lab.OCFDegraded {
			assert.Contains(t, res.Reason, "EC2 control plane unreachable", "%s: the reason says so", act)
		}
		if want == lab.OCFGeneric && fc.reason != "" {
			assert.Contains(t, strings.ToLower(res.Reason), strings.ToLower(fc.reason), "%s: the reason names the fault", act)
		}
		switch act {
		case actProbeStandby:
			assert.Zero(t, principalRequests(e, "b"), "a probe without the VIP makes no EC2 request")
			assert.Contains(t, res.Reason, "not on lo")
		case actStop:
			assert.Empty(t, e.W.Emu.Log(), "stop made an EC2 request")
			assert.False(t, e.HasVIP("a"), "stop left the VIP")
		case actStart:
			if res.Code == lab.OCFSuccess {
				assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1))
				assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb2))
				assert.True(t, e.HasVIP("a"))
			} else {
				// Back to the active state for stop.
				e.Expect("a", "start", lab.OCFSuccess)
			}
		}
		// Monitor and probes change nothing. (validate-all's DryRun probes
		// and the emulator's log show in assertOnlyOurRouteChanged.)
		require.True(t, e.HasVIP("a") || act == actStop, "%s removed the VIP", act)
	}
}

var finishedRE = regexp.MustCompile(`finished in ([0-9.]+(?:ms|s|µs))`)

// ownTime is the time the agent measured for its action (its debug line
// "<action> finished in <d>"): the elapsed time without process start-up
// and exit.
func ownTime(stderr string) time.Duration {
	m := finishedRE.FindStringSubmatch(stderr)
	if m == nil {
		return 0
	}
	d, _ := time.ParseDuration(m[1])
	return d
}

// principalRequests counts EC2 requests a node made since the last reset.
func principalRequests(e *env, node string) int {
	n := 0
	for _, l := range e.W.Emu.Log() {
		if l.Principal == e.W.Node(node).AccessKeyID {
			n++
		}
	}
	return n
}
