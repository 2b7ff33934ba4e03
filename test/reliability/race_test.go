package reliability

import (
	"fmt"
	"maps"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
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

// runAt runs actions on nodes at the same moment (released together from a
// barrier) and returns their results in order.
func (e *env) runAt(runs ...func() lab.Result) []lab.Result {
	out := make([]lab.Result, len(runs))
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i, run := range runs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			out[i] = run()
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return out
}

// owner returns the node every configured table routes the VIP to, or ""
// when the tables disagree or point at no node.
func (e *env) owner() string {
	first := e.Target(rtb1)
	if e.Target(rtb2) != first {
		return ""
	}
	for name, n := range e.W.Nodes {
		if n.ENI == first || n.InstanceID == first {
			return name
		}
	}
	return ""
}

// namesNode reports whether an exit reason names a node (instance or ENI).
func namesNode(reason string, n *lab.Node) bool {
	return strings.Contains(reason, n.InstanceID) || strings.Contains(reason, n.ENI)
}

func other(node string) string {
	if node == "a" {
		return "b"
	}
	return "a"
}

// raceRuns is how many times TestConcurrentStarts runs each variant
// (ROUTEHA_RACE_RUNS overrides it).
func raceRuns() int {
	if n, err := strconv.Atoi(os.Getenv("ROUTEHA_RACE_RUNS")); err == nil && n > 0 {
		return n
	}
	return 10
}

// TestConcurrentStarts starts the resource on both nodes at the same moment
// (as a split brain or an operator error would), many times per variant:
// with and without eventual consistency, slow writes, a route on a third
// target, one node already holding the tables. A start that exits 0
// promises that the route stayed on its node: the test fails if any node
// whose start exited 0 does not own every table at the end. Every table
// must end on one node, whose monitor says 0; the other node's start must
// fail with a reason naming the winner, and its monitor says 7. It reports
// how often each outcome happened.
func TestConcurrentStarts(t *testing.T) {
	t.Parallel()
	variants := []struct {
		name  string
		setup func(e *env)
	}{
		{"plain", func(e *env) {}},
		{"stale reads (2) after writes", func(e *env) { e.W.Emu.SetStaleReads(2) }},
		{"alternating stale/fresh reads (6) per table", func(e *env) {
			e.W.Emu.SetTableStaleness(rtb1, ec2emu.Staleness{Reads: 6, Alternate: true})
			e.W.Emu.SetTableStaleness(rtb2, ec2emu.Staleness{Reads: 6, Alternate: true})
		}},
		{"slow writes (300 ms)", func(e *env) {
			e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Latency, Action: "ReplaceRoute", Delay: 300 * time.Millisecond})
			e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Latency, Action: "CreateRoute", Delay: 300 * time.Millisecond})
		}},
		{"routes exist on a third target", func(e *env) {
			require.NoError(e.T, e.W.Emu.SetRoute(rtb1, vipDs, ec2emu.FixtureIGW))
			require.NoError(e.T, e.W.Emu.SetRoute(rtb2, vipDs, ec2emu.FixtureIGW))
		}},
		{"a already holds the tables", func(e *env) { e.RouteTo("a", rtb1, rtb2) }},
		{"b already holds the tables", func(e *env) { e.RouteTo("b", rtb1, rtb2) }},
	}
	runs := raceRuns()
	var wg sync.WaitGroup
	for _, v := range variants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(v.name, func(t *testing.T) {
				e := newEnv(t)
				outcomes := map[string]int{}
				for i := 0; i < runs && !t.Failed(); i++ {
					outcomes[e.concurrentStarts(v.name, v.setup)]++
				}
				var parts []string
				for _, k := range slices.Sorted(maps.Keys(outcomes)) {
					parts = append(parts, fmt.Sprintf("%s: %d", k, outcomes[k]))
				}
				t.Logf("%d runs: %s", runs, strings.Join(parts, "; "))
				record(row{Table: "Races", Case: fmt.Sprintf("both nodes start at once, %s: outcomes of %d runs", v.name, runs),
					Action: "start on a and b", Timeout: 20 * time.Second, Reason: strings.Join(parts, "; ")})
			})
		}()
	}
	wg.Wait()
}

// concurrentStarts is one run of TestConcurrentStarts from a fresh state
// (standard fixture, no VIP anywhere) and returns its outcome in words.
func (e *env) concurrentStarts(variant string, setup func(e *env)) string {
	t := e.T
	t.Helper()
	e.W.Emu.ClearFaults()
	require.NoError(t, e.W.Emu.SetState(ec2emu.StandardFixture()))
	for _, n := range []string{"a", "b"} {
		if e.HasVIP(n) {
			require.NoError(t, e.W.Node(n).NS.DelAddr("lo", vipDs))
		}
	}
	setup(e)
	const to = 20 * time.Second
	debug := []string{"HA_DEBUG=1"}
	res := e.runAt(
		func() lab.Result { return e.RunRaw("a", "start", debug, labtest.Timeout(to)) },
		func() lab.Result { return e.RunRaw("b", "start", debug, labtest.Timeout(to)) },
	)
	e.W.Emu.ClearFaults()
	byNode := map[string]lab.Result{"a": res[0], "b": res[1]}
	for _, n := range []string{"a", "b"} {
		r := byNode[n]
		require.NoError(t, r.Err, "start on %s did not exit by itself", n)
		assert.Contains(t, []int{lab.OCFSuccess, lab.OCFGeneric}, r.Code, "start on %s: %s", n, r.Reason)
		assert.Less(t, r.Elapsed, to)
		assert.NotContains(t, r.Stderr, "panic")
		labtest.CheckReason(t, r)
	}
	win := e.owner()
	require.NotEmpty(t, win, "the tables do not all point at one node: %s / %s\na: %s\nb: %s",
		e.Target(rtb1), e.Target(rtb2), byNode["a"].Stderr, byNode["b"].Stderr)
	lose := other(win)
	// The promise of a start that succeeded: the route stayed here.
	for _, n := range []string{"a", "b"} {
		if byNode[n].Code == lab.OCFSuccess {
			assert.Equal(t, n, win, "%s's start exited 0 but every table routes to %s (%s)\nstderr of %s:\n%s",
				n, win, variant, n, byNode[n].Stderr)
		}
	}
	assert.Equal(t, lab.OCFSuccess, byNode[win].Code, "the node the tables point at failed its start: %s", byNode[win].Reason)
	l := byNode[lose]
	if l.Code != lab.OCFSuccess {
		assert.True(t, namesNode(l.Reason, e.W.Node(win)), "the failed start names its rival %s: %q", win, l.Reason)
	}
	e.Expect(win, "monitor", lab.OCFSuccess, labtest.Recurring)
	e.Expect(lose, "monitor", lab.OCFNotRunning, labtest.Recurring)
	// Pacemaker then stops the loser: clean.
	e.Expect(lose, "stop", lab.OCFSuccess)
	assert.False(t, e.HasVIP(lose))
	e.Expect(win, "monitor", lab.OCFSuccess, labtest.Recurring)
	e.Expect(win, "stop", lab.OCFSuccess)
	outcome := fmt.Sprintf("%s won, %s's start exited %d", win, lose, l.Code)
	if l.Code == lab.OCFSuccess {
		outcome += " (overtaken)"
	}
	return outcome
}

// TestStartRacingStop is a failover where the new node's start and the old
// node's stop run at the same moment.
func TestStartRacingStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	res := e.runAt(
		func() lab.Result { return e.RunRaw("b", "start", nil) },
		func() lab.Result { return e.RunRaw("a", "stop", nil) },
	)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.Equal(t, lab.OCFSuccess, r.Code, "%s: %s", []string{"start on b", "stop on a"}[i], r.Reason)
		record(row{Table: "Races", Case: "start on b racing stop on a", Action: []string{"start on b", "stop on a"}[i],
			Timeout: 20 * time.Second, Code: r.Code, Elapsed: r.Elapsed, Reason: r.Reason})
	}
	assert.Equal(t, "b", e.owner())
	assert.False(t, e.HasVIP("a"))
	assert.True(t, e.HasVIP("b"))
	e.Expect("b", "monitor", lab.OCFSuccess, labtest.Recurring)
	e.Expect("a", "monitor", lab.OCFNotRunning, labtest.Recurring)
}

// repeatedCycles is how many start/monitor/stop cycles TestRepeatedCycles
// runs. Each process is new, so what could grow is the test process's
// servers: a leak of one descriptor or goroutine per cycle shows as 9 over
// the first cycle's count, more than the 4 allowed; per action, as 27.
const repeatedCycles = 10

// TestRepeatedCycles runs start, monitor, stop repeatedCycles times in a
// row and checks after each cycle that every process exited by itself with
// the right code, that lo holds exactly what it held before, and that
// HA_RSCTMP holds nothing but the files routeha may keep; and at the end
// that the test process (the emulator's and the IMDS fake's servers) holds
// no more descriptors or goroutines than after the first cycle. It does not
// run in parallel with other tests (every other test of the package that
// runs in parallel starts after it), so the counts are its own.
func TestRepeatedCycles(t *testing.T) {
	e := newEnv(t)
	ns := e.W.Node("a").NS
	lo0, err := ns.Addrs("lo")
	require.NoError(t, err)

	cycle := func(i int) {
		e.Expect("a", "start", lab.OCFSuccess)
		e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
		e.Expect("a", "stop", lab.OCFSuccess)
		lo, err := ns.Addrs("lo")
		require.NoError(t, err)
		require.ElementsMatch(t, lo0, lo, "cycle %d: lo changed", i)
		files := e.rscTmpFiles("a")
		require.Contains(t, files, cacheName, "cycle %d: no identity cache", i)
		require.True(t, allowedRscTmp(files), "cycle %d: HA_RSCTMP holds %v", i, files)
	}
	cycle(0)
	fds0, gr0 := settledCounts(0, 0)
	for i := 1; i < repeatedCycles; i++ {
		cycle(i)
	}
	assert.Equal(t, "a", e.owner())
	fds, gr := settledCounts(fds0, gr0)
	t.Logf("after 1 cycle: %d fds, %d goroutines; after %d: %d fds, %d goroutines", fds0, gr0, repeatedCycles, fds, gr)
	// Allow the servers' idle connections still closing.
	assert.LessOrEqual(t, fds, fds0+4, "open descriptors grew over %d cycles", repeatedCycles)
	assert.LessOrEqual(t, gr, gr0+4, "goroutines grew over %d cycles", repeatedCycles)
	var lo []netip.Prefix
	lo, err = ns.Addrs("lo")
	require.NoError(t, err)
	assert.ElementsMatch(t, lo0, lo)
}

// settledCounts returns the process's open descriptors and goroutines once
// they stop falling (servers close the connections of exited agents), or
// after 5 s; wantFds/wantGr, when non-zero, end the wait early once reached.
func settledCounts(wantFds, wantGr int) (int, int) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		fds, gr := openFDs(), runtime.NumGoroutine()
		if (wantFds > 0 && fds <= wantFds && gr <= wantGr) || time.Now().After(deadline) {
			return fds, gr
		}
		if wantFds == 0 {
			time.Sleep(300 * time.Millisecond)
			if fds2, gr2 := openFDs(), runtime.NumGoroutine(); fds2 >= fds && gr2 >= gr {
				return fds2, gr2
			}
			continue
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
