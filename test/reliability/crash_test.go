package reliability

import (
	"context"
	"fmt"
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

// killPoint holds start at one known point (an emulator or IMDS latency
// fault that the request has taken) so that it can be killed there.
type killPoint struct {
	name string
	cold bool // no identity cache: start has to ask IMDS
	// hold arranges the stall and waits until start is stuck in it.
	hold func(t *testing.T, e *env)
}

const stall = 30 * time.Second

func latency(action string, count int, d time.Duration) ec2emu.Fault {
	return ec2emu.Fault{Kind: ec2emu.Latency, Action: action, Count: count, Delay: d}
}

// waitTaken waits until no fault rule for action is left: every counted
// request of it has arrived and is being delayed.
func waitTaken(t *testing.T, e *env, action string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, f := range e.W.Emu.Faults() {
			if f.Action == action {
				return false
			}
		}
		return true
	}, 15*time.Second, 5*time.Millisecond, "start never reached %s", action)
}

var killPoints = []killPoint{
	{name: "in the first DescribeRouteTables", hold: func(t *testing.T, e *env) {
		e.W.Emu.AddFault(latency("DescribeRouteTables", 1, stall))
		go e.startUnderTest()
		waitTaken(t, e, "DescribeRouteTables")
	}},
	{name: "in both ReplaceRoute calls", hold: func(t *testing.T, e *env) {
		e.W.Emu.AddFault(latency("ReplaceRoute", 2, stall))
		go e.startUnderTest()
		waitTaken(t, e, "ReplaceRoute")
	}},
	{name: "after one ReplaceRoute, in the other", hold: func(t *testing.T, e *env) {
		e.W.Emu.AddFault(latency("ReplaceRoute", 1, stall))
		go e.startUnderTest()
		waitTaken(t, e, "ReplaceRoute")
		require.Eventually(t, func() bool { return e.W.Emu.Count("ReplaceRoute") >= 1 }, 15*time.Second, 5*time.Millisecond)
	}},
	{name: "in the read-back after both writes", hold: func(t *testing.T, e *env) {
		// The writes are slowed just enough to add the read-back's stall
		// after the first read has been answered.
		e.W.Emu.AddFault(latency("ReplaceRoute", 2, 500*time.Millisecond))
		go e.startUnderTest()
		waitTaken(t, e, "ReplaceRoute")
		e.W.Emu.AddFault(latency("DescribeRouteTables", 1, stall))
		waitTaken(t, e, "DescribeRouteTables")
		require.Equal(t, 2, e.W.Emu.Count("ReplaceRoute"), "both writes answered before the read-back")
	}},
	{name: "in IMDS (no identity cache)", cold: true, hold: func(t *testing.T, e *env) {
		e.W.Node("a").IMDS.SetFault(imdsfake.Fault{Latency: stall})
		go e.startUnderTest()
		require.Eventually(t, func() bool { return len(e.W.Node("a").IMDS.Counts()) > 0 }, 15*time.Second, 5*time.Millisecond)
	}},
}

// startUnderTest runs start on node a with a long timeout, to be killed;
// the result goes to e.killed.
func (e *env) startUnderTest() {
	r := e.W.Agent("a")
	r.Timeout = time.Minute
	res := r.Run(e.killCtx, "start", e.Params)
	e.killed <- res
}

// TestKilledStart kills start (SIGKILL, through the Runner's context) at
// each kill point, then checks that monitor reports the state the crash
// left truthfully, and that start (repair) or stop then makes it clean.
func TestKilledStart(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 5)
	for _, kp := range killPoints {
		for _, then := range []string{"start", "stop"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				t.Run(kp.name+", then "+then, func(t *testing.T) { runKillPoint(t, kp, then) })
			}()
		}
	}
	wg.Wait()
}

func runKillPoint(t *testing.T, kp killPoint, then string) {
	e := newEnv(t)
	// Node b holds the resource; a takes it over.
	e.Expect("b", "start", lab.OCFSuccess)
	e.Expect("a", "monitor", lab.OCFNotRunning)
	if !kp.cold {
		e.Expect("a", "validate-all", lab.OCFSuccess) // warms a's identity cache
	}
	e.W.Emu.ResetLog()
	e.W.Node("a").IMDS.Reset()

	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	e.killCtx, e.killed = ctx, make(chan lab.Result, 1)
	kp.hold(t, e)
	kill() // exec.CommandContext: SIGKILL
	res := <-e.killed
	require.Error(t, res.Err, "start was not killed: exit %d, %s", res.Code, res.Reason)
	if !kp.cold {
		// The agent itself died (not just a wrapper): its stalled request's
		// connection closed, and the emulator aborted it unperformed.
		require.Eventually(t, func() bool {
			for _, l := range e.W.Emu.Log() {
				if l.Code == "Aborted" {
					return true
				}
			}
			return false
		}, 10*time.Second, 10*time.Millisecond, "the stalled request was never aborted: is the agent still running?")
	}
	e.W.Emu.ClearFaults()
	e.W.Node("a").IMDS.SetFault(imdsfake.Fault{})

	// What the crash left.
	vipOn := e.HasVIP("a")
	var here, elsewhere []string
	for _, tb := range []string{rtb1, rtb2} {
		if e.Target(tb) == ec2emu.FixtureENIA {
			here = append(here, tb)
		} else {
			elsewhere = append(elsewhere, tb)
		}
	}
	truth := lab.OCFNotRunning
	switch {
	case vipOn && len(elsewhere) == 0:
		truth = lab.OCFSuccess
	case vipOn && len(here) > 0:
		truth = lab.OCFGeneric
	}
	t.Logf("after the kill: VIP on lo %v, tables here %v, elsewhere %v", vipOn, here, elsewhere)
	assert.True(t, allowedRscTmp(e.rscTmpFiles("a")), "HA_RSCTMP after the kill: %v", e.rscTmpFiles("a"))

	mon := e.Expect("a", "monitor", truth, labtest.Recurring)
	record(row{Table: "Crash safety: start killed with SIGKILL", Case: "killed " + kp.name, Action: "monitor after the kill",
		Timeout: 20 * time.Second, Code: mon.Code, Elapsed: mon.Elapsed,
		Reason: fmt.Sprintf("%s [VIP on lo: %v; tables here: %d of 2]", mon.Reason, vipOn, len(here))})
	switch {
	case !vipOn:
		assert.Contains(t, mon.Reason, "not on lo")
	case truth == lab.OCFNotRunning || truth == lab.OCFGeneric:
		// The reason names a table that routes elsewhere, and where to.
		if truth == lab.OCFGeneric {
			assert.Contains(t, mon.Reason, "disagree")
		}
		assert.True(t, namesNode(mon.Reason, e.W.Node("b")), "the reason names node b: %q", mon.Reason)
		named := false
		for _, tb := range elsewhere {
			named = named || strings.Contains(mon.Reason, tb)
		}
		assert.True(t, named, "the reason names a table routing elsewhere (%v): %q", elsewhere, mon.Reason)
	}
	// Node b, which held the resource (its VIP is on its lo), reports 7
	// when no table is left to it and 1 when the tables disagree.
	switch len(here) {
	case 1:
		e.Expect("b", "monitor", lab.OCFGeneric, labtest.Recurring)
	case 2:
		e.Expect("b", "monitor", lab.OCFNotRunning, labtest.Recurring)
	default:
		e.Expect("b", "monitor", lab.OCFSuccess, labtest.Recurring)
	}

	next := e.Expect("a", then, lab.OCFSuccess)
	record(row{Table: "Crash safety: start killed with SIGKILL", Case: "killed " + kp.name, Action: then + " after the kill",
		Timeout: 20 * time.Second, Code: next.Code, Elapsed: next.Elapsed, Reason: next.Reason})
	if then == "start" {
		assert.Equal(t, "a", e.owner())
		assert.True(t, e.HasVIP("a"))
		e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
		e.Expect("b", "monitor", lab.OCFNotRunning, labtest.Recurring)
		e.Expect("b", "stop", lab.OCFSuccess)
	} else {
		assert.False(t, e.HasVIP("a"))
		e.Expect("a", "monitor", lab.OCFNotRunning, labtest.Recurring)
		// The cluster's next start anywhere converges.
		e.Expect("b", "start", lab.OCFSuccess)
		assert.Equal(t, "b", e.owner())
	}
	files := e.rscTmpFiles("a")
	assert.True(t, allowedRscTmp(files), "HA_RSCTMP: %v", files)
	for _, f := range files {
		assert.False(t, strings.HasSuffix(f, ".tmp"), "a temporary file survived: %s", f)
	}
}
