package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/suzlab/routeha/test/lab"

	"github.com/suzlab/routeha/test/cluster"
	"github.com/suzlab/routeha/test/ec2emu"
)

// Result is the outcome of one failover.
type Result struct {
	N          string
	Name       string
	From, To   string
	Fault      time.Time
	Detect     time.Duration // fault -> the survivor's Pacemaker declares the peer lost (kills), the failed monitor is logged (2, 3), the DC initiates the stop (moves)
	RouteAPI   time.Duration // fault -> the route write answered (emulator's request log)
	Kernel     time.Duration // fault -> the router's kernel route points at the new node
	Ping       time.Duration // fault -> first reply to a probe sent through the new route
	Lost       int           // probes sent from the fault on and never answered
	MaxGap     time.Duration // longest gap between two replies around the failover
	Start      time.Duration // routeha start on the new node (pacemaker-execd's execution time)
	Writes     int           // ReplaceRoute/CreateRoute requests during the failover
	Throttled  int           // requests answered RequestLimitExceeded
	ExitReason string        // shown by crm_mon for the failed monitor
	CrmMon     string        // crm_mon -1 after the failover
	Outage     *Outage       // scenarios 7-9: what the outage did (not a failover)
	Recovery   *Recovery     // scenario 10: the failover through an outage
}

// Scenario is one automated fault.
type Scenario struct {
	N    string
	Name string
	Run  func(l *Lab, ctx context.Context) ([]*Result, error)
}

// Scenarios are the demo's faults, in order.
var Scenarios = []Scenario{
	{"1", "kill the active node (corosync+pacemaker, SIGKILL of its PID namespace)", (*Lab).ScenarioKill},
	{"2", "route moved behind the cluster's back", (*Lab).ScenarioHijack},
	{"3", "VIP deleted from lo on the active node", (*Lab).ScenarioVIPDeleted},
	{"4", "crm resource move (force) and back, then clear", (*Lab).ScenarioMove},
	{"5", "EC2 API throttled during a node kill", (*Lab).ScenarioThrottle},
	{"6", "instance lost: node killed and its network down", (*Lab).ScenarioInstanceLost},
	{"7", "EC2 API down (every request 503) for 60 s on a healthy cluster", (*Lab).ScenarioAPIDown},
	{"8", "IAM denies ec2:DescribeRouteTables for 60 s", (*Lab).ScenarioIAMDenied},
	{"9", "VIP statically on lo:0 of both nodes, API down, crm_resource --refresh of the standby", (*Lab).ScenarioStaticRefresh},
	{"10a", "API down, active instance lost, API back 10 s later", (*Lab).ScenarioAPIDownKillShort},
	{"10b", "API down, active instance lost, API back 60 s later", (*Lab).ScenarioAPIDownKillLong},
}

// Default is what `make demo` runs unless told otherwise: the failovers.
// The control-plane outages (7-10b) take about six minutes more.
const Default = "1,2,3,4,5,6"

// Groups name sets of scenarios for -scenarios.
var Groups = map[string]string{
	"default": Default,
	"outage":  "7,8,9,10a,10b",
	"all":     "1,2,3,4,5,6,7,8,9,10a,10b",
}

// Hooks let a caller watch a failover as it happens.
type Hooks struct {
	Before func(r *Result)      // just before the fault (r.Fault unset)
	After  func(r *Result)      // when the failover is complete
	Logf   func(string, ...any) // progress
	Pause  time.Duration        // pings shown before the fault and after the recovery
}

// SetHooks installs hooks for later scenarios.
func (l *Lab) SetHooks(h Hooks) { l.hooks = h }

// failover injects fault with the resource on from and waits until it runs
// on the other node, the emulator's and the router's routes point there and
// the client's pings are answered through it.
func (l *Lab) failover(ctx context.Context, n, name string, from *Node, fault func() error, wantFailure bool) (*Result, error) {
	to := l.Other(from)
	r := &Result{N: n, Name: name, From: from.Name, To: to.Name}
	logN := len(l.Emu.Log())
	toLog, fromLog := markLog(to), markLog(from)
	l.beforeFault(r)
	r.Fault = time.Now()
	if err := fault(); err != nil {
		return r, fmt.Errorf("fault: %w", err)
	}
	// The emulator and the router: allow for corosync's token and
	// consensus (the vendor guides' 30 s and 36 s take over a minute).
	deadline := time.Now().Add(60*time.Second + l.membershipLoss())
	for !(l.RouteTarget() == to.ENI && l.KernelNextHop() == to.IP) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return r, fmt.Errorf("route not moved to %s (%s): table says %q, kernel next hop %q", to.Name, to.ENI, l.RouteTarget(), l.KernelNextHop())
		}
		time.Sleep(10 * time.Millisecond)
	}
	kernelAt := l.kernelMoved(r.Fault, to)
	if kernelAt.IsZero() { // the route was already there (a move by the fault itself)
		kernelAt = time.Now()
	}
	r.Kernel = kernelAt.Sub(r.Fault)
	// Pacemaker.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second+l.membershipLoss())
	defer cancel()
	if _, err := to.WaitStarted(wctx, Resource, to.Name); err != nil {
		return r, err
	}
	if wantFailure {
		f, err := to.WaitFailure(wctx, Resource)
		if err != nil {
			return r, err
		}
		r.ExitReason = f.ExitReason
	}
	// The client.
	p, ok := l.Prober.WaitAnswered(ctx, kernelAt, 20*time.Second)
	if !ok {
		return r, fmt.Errorf("no ping answered through %s", to.Name)
	}
	r.Ping = p.Recv.Sub(r.Fault)
	if l.hooks.Pause > 0 {
		time.Sleep(l.hooks.Pause)
	}
	var last time.Time
	for _, pr := range l.Prober.Since(r.Fault.Add(-time.Second)) {
		if pr.Sent.After(p.Sent.Add(time.Second)) {
			break
		}
		if !pr.Answered() {
			if !pr.Sent.Before(r.Fault) && pr.Sent.Before(p.Sent) {
				r.Lost++
			}
			continue
		}
		if !last.IsZero() && pr.Recv.Sub(last) > r.MaxGap {
			r.MaxGap = pr.Recv.Sub(last)
		}
		last = pr.Recv
	}
	// The emulator's request log.
	for _, e := range l.Emu.Log()[logN:] {
		switch {
		case e.Code == "RequestLimitExceeded":
			r.Throttled++
		case (e.Action == "ReplaceRoute" || e.Action == "CreateRoute") && !e.DryRun:
			r.Writes++
			if e.Code == "" && r.RouteAPI == 0 && (e.Params["NetworkInterfaceId"] == to.ENI || e.Params["InstanceId"] == to.Instance) {
				r.RouteAPI = e.Time.Add(e.Latency).Sub(r.Fault)
			}
		}
	}
	// Pacemaker's logs.
	if d, ok := execTime(toLog.path, toLog.off, Resource+" start"); ok {
		r.Start = d
	}
	if wantFailure {
		if t, ok := failedMonitorAt(fromLog.path, fromLog.off, r.Fault); ok {
			r.Detect = t.Sub(r.Fault)
		}
	} else if t, ok := logLineAt(toLog.path, toLog.off, "Node "+from.Name+" state is now lost", r.Fault); ok {
		r.Detect = t.Sub(r.Fault)
	} else {
		// A move: when the DC (either node) initiated the stop.
		for _, lf := range []logMark{fromLog, toLog} {
			if t, ok := logLineAt(lf.path, lf.off, "Initiating stop operation "+Resource+"_stop_0", r.Fault); ok {
				r.Detect = t.Sub(r.Fault)
				break
			}
		}
	}
	r.CrmMon = l.CrmMon(ctx)
	if l.hooks.After != nil {
		l.hooks.After(r)
	}
	return r, nil
}

// beforeFault calls the Before hook with r and shows the pings of the
// hooks' pause: what every scenario does just before its fault.
func (l *Lab) beforeFault(r *Result) {
	if l.hooks.Before != nil {
		l.hooks.Before(r)
	}
	if l.hooks.Pause > 0 {
		time.Sleep(l.hooks.Pause)
	}
}

// kernelMoved returns when the router's kernel route first pointed at to
// after t (zero when it has not since).
func (l *Lab) kernelMoved(t time.Time, to *Node) time.Time {
	for _, e := range l.Events() {
		if e.Time.After(t) && e.NextHop == to.IP {
			return e.Time
		}
	}
	return time.Time{}
}

// logMark is a log file and an offset in it: where the lines of one
// scenario begin.
type logMark struct {
	path string
	off  int64
}

// markLog marks the end of node n's pacemaker.log, where pacemakerd also
// points HA_LOGFILE for the agents.
func markLog(n *Node) logMark {
	p := filepath.Join(n.Dir, "var/log/pacemaker/pacemaker.log")
	return logMark{p, fileSize(p)}
}

// membershipLoss is how long corosync takes to declare a dead node lost:
// token, then consensus (corosync's default: 1.2 × token).
func (l *Lab) membershipLoss() time.Duration {
	token, consensus := l.Token()
	if consensus == 0 {
		consensus = token * 12 / 10
	}
	return token + consensus
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// linesFrom returns the lines of path after byte offset off.
func linesFrom(path string, off int64) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(off, 0); err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

var execTimeRE = regexp.MustCompile(`\(execution time ([0-9.]+)(ms|s)`)

// execTime finds pacemaker-execd's "<op> (call N, PID M) exited with status
// 0 (execution time 123ms, ...)" after off.
func execTime(path string, off int64, op string) (time.Duration, bool) {
	for _, line := range linesFrom(path, off) {
		if !strings.Contains(line, op+" (call") || !strings.Contains(line, "exited with status 0") {
			continue
		}
		if m := execTimeRE.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				continue
			}
			if m[2] == "s" {
				v *= 1000
			}
			return time.Duration(v * float64(time.Millisecond)), true
		}
	}
	return 0, false
}

// failedMonitorAt finds when the failed monitor was logged on a node (the
// controller's "Result of monitor operation for vip ..." that is not ok),
// from the log line's timestamp (local time, milliseconds).
func failedMonitorAt(path string, off int64, near time.Time) (time.Time, bool) {
	for _, line := range linesFrom(path, off) {
		if !strings.Contains(line, "Result of monitor operation for "+Resource) || strings.Contains(line, ": ok") {
			continue
		}
		if t, ok := logTime(line, near); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// logLineAt finds the first line after off containing s and returns its
// timestamp.
func logLineAt(path string, off int64, s string, near time.Time) (time.Time, bool) {
	for _, line := range linesFrom(path, off) {
		if strings.Contains(line, s) {
			return logTime(line, near)
		}
	}
	return time.Time{}, false
}

// logTime parses Pacemaker's "Jan 02 15:04:05.000" line prefix.
func logTime(line string, near time.Time) (time.Time, bool) {
	if len(line) < 19 {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("Jan 02 15:04:05.000", line[:19], time.Local)
	if err != nil {
		return time.Time{}, false
	}
	t = t.AddDate(near.Year(), 0, 0)
	return t, true
}

// Active returns the active node, waiting for the resource to be started.
func (l *Lab) active(ctx context.Context) (*Node, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := l.Active(ctx)
		if err == nil {
			return n, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Cleanup clears the resource's fail counts (crm resource cleanup) and
// waits until crm_mon lists no failure and the resource runs.
func (l *Lab) Cleanup(ctx context.Context) error {
	n := l.Running()
	if n == nil {
		return errors.New("no node running")
	}
	if _, err := n.Run(ctx, "crm", "resource", "cleanup", Resource); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err := n.WaitFor(wctx, "no failures", func(s *cluster.Status) bool {
		for _, f := range s.Failures {
			if strings.HasPrefix(f.OpKey, Resource+"_") {
				return false
			}
		}
		return s.Resource(Resource).Started("")
	})
	return err
}

// Restart brings a killed node back and waits until both are online.
// It also waits for the node's first probe of the resource to be logged:
// a scenario that breaks the API at once must not race that probe.
func (l *Lab) Restart(ctx context.Context, n *Node) error {
	pmLog := markLog(n)
	if err := n.Start(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := n.WaitOnline(wctx, l.Nodes[0].Name, l.Nodes[1].Name); err != nil {
		return err
	}
	if err := l.privateCrmsh(ctx, n); err != nil {
		return err
	}
	probe := "Result of probe operation for " + Resource + " on " + n.Name
	for {
		if _, ok := logLineAt(pmLog.path, pmLog.off, probe, time.Now()); ok {
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("%s: no probe of %s after the restart: %w", n.Name, Resource, wctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// reboot is what a lost instance's restart does to its addresses: the VIP
// added by the last start is gone from lo (it is not configured
// statically), and its link is back.
func (l *Lab) reboot(n *Node) error {
	if l.HasVIP(n) {
		if err := lab.IP("-n", n.NS, "addr", "del", VIPCIDR, "dev", "lo"); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"-n", n.NS, "link", "set", "eth0", "up"},
		{"-n", n.NS, "route", "replace", "default", "via", n.GW},
	} {
		if err := lab.IP(args...); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) progress(format string, args ...any) {
	if l.hooks.Logf != nil {
		l.hooks.Logf(format, args...)
	} else {
		l.logf(format, args...)
	}
}

// ScenarioKill kills the active node: one SIGKILL of its PID namespace's
// first process takes corosync, pacemakerd and its children down at once.
// The node's network namespace, with the VIP still on its lo, stays, as
// the kernel of a node whose cluster stack crashed would. The node is
// started again afterwards.
func (l *Lab) ScenarioKill(ctx context.Context) ([]*Result, error) {
	return l.single(ctx, "1", "kill active node", false, (*Node).Kill, l.restarted(ctx, false))
}

// ScenarioHijack points the route at another instance behind the
// cluster's back: the monitor fails with routeha's exit reason and
// migration-threshold=1 moves the resource.
func (l *Lab) ScenarioHijack(ctx context.Context) ([]*Result, error) {
	return l.single(ctx, "2", "route hijacked", true, func(*Node) error {
		return l.Emu.SetRoute(Table, VIPCIDR, OtherENI)
	}, l.cleanedUp(ctx))
}

// ScenarioVIPDeleted deletes the VIP from lo on the active node.
func (l *Lab) ScenarioVIPDeleted(ctx context.Context) ([]*Result, error) {
	return l.single(ctx, "3", "VIP deleted from lo", true, func(from *Node) error {
		return lab.IP("-n", from.NS, "addr", "del", VIPCIDR, "dev", "lo")
	}, l.cleanedUp(ctx))
}

// ScenarioMove moves the resource with crm resource move, back, and clears
// the constraint.
func (l *Lab) ScenarioMove(ctx context.Context) ([]*Result, error) {
	from, err := l.active(ctx)
	if err != nil {
		return nil, err
	}
	to := l.Other(from)
	move := func(target *Node) func() error {
		return func() error {
			// force: also ban the current node. Without it the move
			// constraint (INFINITY) only ties with resource-stickiness
			// INFINITY and the resource stays where it is.
			_, err := l.Running().Run(ctx, "crm", "resource", "move", Resource, target.Name, "force")
			return err
		}
	}
	r1, err := l.failover(ctx, "4a", "crm resource move", from, move(to), false)
	if err != nil {
		return []*Result{r1}, err
	}
	r2, err := l.failover(ctx, "4b", "crm resource move back", to, move(from), false)
	if err != nil {
		return []*Result{r1, r2}, err
	}
	if _, err := l.Running().Run(ctx, "crm", "resource", "clear", Resource); err != nil {
		return []*Result{r1, r2}, err
	}
	return []*Result{r1, r2}, nil
}

// ScenarioThrottle kills the active node with the next few EC2 requests
// (all of them the survivor's start: nobody else calls EC2 then) answered
// RequestLimitExceeded.
const throttled = 5

func (l *Lab) ScenarioThrottle(ctx context.Context) ([]*Result, error) {
	return l.single(ctx, "5", fmt.Sprintf("kill + next %d EC2 requests throttled", throttled), false, func(from *Node) error {
		l.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Count: throttled})
		return from.Kill()
	}, func(from *Node, err error) error {
		l.Emu.ClearFaults()
		if err != nil {
			return err
		}
		return l.bringBack(ctx, from, false)
	})
}

// ScenarioInstanceLost kills the active node and takes its network link
// down at the same moment, as when the instance itself dies: unlike
// scenario 1, where the dead node's kernel still answers for the VIP until
// the route moves, every ping is lost until the route points at the other
// node. Afterwards the VIP is taken off its lo and its link brought back,
// as the instance's reboot would, and the node is started again.
func (l *Lab) ScenarioInstanceLost(ctx context.Context) ([]*Result, error) {
	return l.single(ctx, "6", "instance lost (kill + link down)", false, loseInstance, l.restarted(ctx, true))
}

// single runs a one-failover scenario: fault breaks the active node (see
// failover for wantFailure), then after gets the node and failover's
// error and returns the scenario's.
func (l *Lab) single(ctx context.Context, n, name string, wantFailure bool, fault func(from *Node) error, after func(from *Node, err error) error) ([]*Result, error) {
	from, err := l.active(ctx)
	if err != nil {
		return nil, err
	}
	r, err := l.failover(ctx, n, name, from, func() error { return fault(from) }, wantFailure)
	return []*Result{r}, after(from, err)
}

// cleanedUp is the end of a scenario that left its node running: the
// failures are cleaned up.
func (l *Lab) cleanedUp(ctx context.Context) func(*Node, error) error {
	return func(_ *Node, err error) error {
		if err != nil {
			return err
		}
		return l.Cleanup(ctx)
	}
}

// restarted is the end of a scenario that took its node down: see
// bringBack.
func (l *Lab) restarted(ctx context.Context, reboot bool) func(*Node, error) error {
	return func(from *Node, err error) error {
		if err != nil {
			return err
		}
		return l.bringBack(ctx, from, reboot)
	}
}

// bringBack reboots node n (when its instance was lost), starts it again
// and cleans up the failures.
func (l *Lab) bringBack(ctx context.Context, n *Node, reboot bool) error {
	if reboot {
		if err := l.reboot(n); err != nil {
			return err
		}
	}
	l.progress("restarting %s", n.Name)
	if err := l.Restart(ctx, n); err != nil {
		return err
	}
	return l.Cleanup(ctx)
}

// loseInstance is what an instance's death looks like from outside: its
// link goes down and its cluster stack is killed.
func loseInstance(n *Node) error {
	if err := lab.IP("-n", n.NS, "link", "set", "eth0", "down"); err != nil {
		return err
	}
	return n.Kill()
}

// FormatTable formats results as a Markdown table.
func FormatTable(results []*Result) string {
	return markdownTable(results, "# | scenario | from → to | fault detected | route written (API) | kernel route | first reply | pings lost | longest reply gap | routeha start | route writes | throttled", func(r *Result) []any {
		if r.Outage != nil || r.Recovery != nil {
			return nil
		}
		return []any{r.N, r.Name, r.From + " → " + r.To, msOr(r.Detect), msOr(r.RouteAPI), msOr(r.Kernel), msOr(r.Ping), r.Lost, msOr(r.MaxGap), msOr(r.Start), r.Writes, r.Throttled}
	})
}
