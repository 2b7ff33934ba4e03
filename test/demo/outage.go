package demo

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/suzlab/routeha/test/lab"

	"github.com/suzlab/routeha/test/ec2emu"
)

// Control-plane outages (issue 17): the EC2 API or IAM fails while the
// data plane (the route, the VIP) keeps working. The cluster must keep
// serving: no stop, no start, no fail-count, a warning instead. Each
// scenario checks its claims and returns an error naming every claim that
// did not hold, so `make demo` and the test fail on them alike.

// DefaultOutageFor is how long scenarios 7 and 8 keep the API down unless
// Options.OutageFor says otherwise: 30 monitors at the demo's 2 s interval.
const DefaultOutageFor = 60 * time.Second

// Outage is what a scenario with the API down on a healthy cluster saw.
type Outage struct {
	Fault     string        // what was broken
	Node      string        // the active node
	Down      time.Duration // how long
	Lost      int           // probes sent during the outage and its aftermath never answered
	MaxGap    time.Duration // longest gap between two replies
	Stops     int           // stop and start operations initiated (either node's log)
	Starts    int
	Moved     bool          // the resource ran anywhere but Node at some poll
	FailMax   int           // highest fail-count of the resource seen on Node during and after
	Failed    []string      // crm_mon's failed actions of the resource seen (distinct)
	Requests  int           // EC2 requests from Node during the outage
	Monitors  int           // their bursts: one per monitor
	PerMon    int           // the largest burst
	CrmMon    string        // crm_mon -1 -r halfway through
	Warnings  int           // routeha's WARNING lines in Node's log during the outage
	Warning   string        // the first of them (or crm_mon's degraded line)
	TwoActive bool          // Pacemaker logged "active on 2 nodes"
	Recovered time.Duration // API back -> the next successful DescribeRouteTables from Node
	Probe     string        // scenario 9: the standby's probe result as Pacemaker logged it
	VIPKept   bool          // the VIP was on Node's lo at the end
	Problems  []string      // claims that did not hold
}

// Recovery is what scenario 10 (the API down while the active node dies)
// saw.
type Recovery struct {
	APIBack       time.Duration // kill -> the API answers again
	StartsFailed  int           // survivor's starts that failed
	StartsOK      int
	FirstStartEnd time.Duration // kill -> the survivor's first start finished (its result logged)
	RouteAPI      time.Duration // kill -> the route write answered
	Ping          time.Duration // kill -> first reply through the survivor
	FromAPIBack   time.Duration // API back -> first reply through the survivor
	Lost          int
}

// failCountRE reads crm_failcount --query's "... value=N".
var failCountRE = regexp.MustCompile(`value=(\S+)`)

// FailCount returns the resource's fail-count on node n (0 when unset).
func (l *Lab) FailCount(ctx context.Context, n *Node) (int, error) {
	r := l.Running()
	if r == nil {
		return 0, errors.New("no node running")
	}
	out, err := r.Run(ctx, "crm_failcount", "--query", "-r", Resource, "-N", n.Name)
	if err != nil {
		return 0, err
	}
	m := failCountRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("crm_failcount: %q", out)
	}
	switch m[1] {
	case "INFINITY":
		return 1000000, nil
	case "(null)", "0":
		return 0, nil
	}
	var v int
	if _, err := fmt.Sscanf(m[1], "%d", &v); err != nil {
		return 0, fmt.Errorf("crm_failcount: %q", out)
	}
	return v, nil
}

func (l *Lab) markLogs(name string) []logMark {
	var ms []logMark
	for _, n := range l.Nodes {
		p := filepath.Join(n.Dir, "var/log/pacemaker", name)
		ms = append(ms, logMark{p, fileSize(p)})
	}
	return ms
}

func countLines(ms []logMark, substrs ...string) (int, []string) {
	var n int
	var lines []string
	for _, m := range ms {
		for _, line := range linesFrom(m.path, m.off) {
			for _, s := range substrs {
				if strings.Contains(line, s) {
					n++
					lines = append(lines, line)
					break
				}
			}
		}
	}
	return n, lines
}

// bursts groups the requests by time: a monitor's retries are at most
// about a second apart (its back-off cap), monitors at least an interval.
func bursts(es []ec2emu.LogEntry) (n, largest int) {
	var last time.Time
	size := 0
	for _, e := range es {
		if last.IsZero() || e.Time.Sub(last) > 1500*time.Millisecond {
			n++
			size = 0
		}
		size++
		if size > largest {
			largest = size
		}
		last = e.Time
	}
	return n, largest
}

// pingsBetween counts the probes sent in [from, to) that were never
// answered and the longest gap between replies from from-1s to to.
func (l *Lab) pingsBetween(from, to time.Time) (lost int, maxGap time.Duration) {
	var last time.Time
	for _, pr := range l.Prober.Since(from.Add(-time.Second)) {
		if !pr.Sent.Before(to) {
			break
		}
		if !pr.Answered() {
			if !pr.Sent.Before(from) {
				lost++
			}
			continue
		}
		if !last.IsZero() && pr.Recv.Sub(last) > maxGap {
			maxGap = pr.Recv.Sub(last)
		}
		last = pr.Recv
	}
	return lost, maxGap
}

// apiFault is one way of breaking the control plane (down) and of
// mending it (up).
type apiFault struct {
	name string
	down func(e *ec2emu.Emulator)
	up   func(e *ec2emu.Emulator)
}

// api503 answers every EC2 request 503 Unavailable until mended.
func api503() apiFault {
	return apiFault{"every EC2 request answered 503 Unavailable",
		func(e *ec2emu.Emulator) { e.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable}) },
		func(e *ec2emu.Emulator) { e.ClearFaults() }}
}

// iamDeny makes IAM deny ec2:DescribeRouteTables to everyone until mended.
func iamDeny() apiFault {
	return apiFault{"IAM denies ec2:DescribeRouteTables",
		func(e *ec2emu.Emulator) { e.Deny(ec2emu.Deny{Principal: "*", Action: "DescribeRouteTables"}) },
		func(e *ec2emu.Emulator) { e.ClearDenies() }}
}

// outage keeps the API broken for dur on a healthy cluster, while the
// client pings, and checks that nothing moved. During it, every second,
// crm_mon is read; before it returns, act (scenario 9's refresh) runs
// once, just after the fault.
func (l *Lab) outage(ctx context.Context, n, name string, f apiFault, dur time.Duration, act func(from *Node) error) ([]*Result, error) {
	from, err := l.active(ctx)
	if err != nil {
		return nil, err
	}
	r := &Result{N: n, Name: name, From: from.Name, To: from.Name}
	o := &Outage{Fault: f.name, Node: from.Name, Down: dur}
	r.Outage = o
	logN := len(l.Emu.Log())
	pm := l.markLogs("pacemaker.log")
	// routeha's own log lines: pacemakerd points HA_LOGFILE at its
	// pacemaker.log for the agents, whatever the environment said.
	rl := markLog(from)
	l.beforeFault(r)
	failed := map[string]bool{}
	watch := func() {
		st, err := l.Status(ctx)
		if err != nil {
			return
		}
		res := st.Resource(Resource)
		if !res.Started(from.Name) || len(res.On) != 1 {
			o.Moved = true
		}
		for _, fl := range st.Failures {
			if strings.HasPrefix(fl.OpKey, Resource+"_") {
				k := fmt.Sprintf("%s on %s: %s (%s)", fl.OpKey, fl.Node, fl.ExitStatus, fl.ExitReason)
				if !failed[k] {
					failed[k] = true
					o.Failed = append(o.Failed, k)
				}
			}
		}
		if fc, err := l.FailCount(ctx, from); err == nil && fc > o.FailMax {
			o.FailMax = fc
		}
	}
	r.Fault = time.Now()
	f.down(l.Emu)
	l.progress("%s for %s", f.name, dur)
	if act != nil {
		if err := act(from); err != nil {
			f.up(l.Emu)
			return []*Result{r}, err
		}
	}
	for time.Since(r.Fault) < dur && ctx.Err() == nil {
		watch()
		if o.CrmMon == "" && time.Since(r.Fault) > dur/2 {
			o.CrmMon = l.CrmMon(ctx)
		}
		time.Sleep(time.Second)
	}
	back := time.Now()
	f.up(l.Emu)
	l.progress("the API answers again")
	// The next monitor reads the tables again.
	ip := from.IP
	deadline := time.Now().Add(30 * time.Second)
	for o.Recovered == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		for _, e := range l.Emu.Log()[logN:] {
			if e.Remote == ip && e.Action == "DescribeRouteTables" && e.Code == "" && e.Time.After(back) {
				o.Recovered = e.Time.Add(e.Latency).Sub(back)
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Two more monitors, then the last look.
	time.Sleep(5 * time.Second)
	watch()
	end := time.Now()
	o.Lost, o.MaxGap = l.pingsBetween(r.Fault, end.Add(-time.Second))
	r.Lost, r.MaxGap = o.Lost, o.MaxGap
	var during []ec2emu.LogEntry
	for _, e := range l.Emu.Log()[logN:] {
		if e.Remote == ip && e.Time.Before(back) {
			during = append(during, e)
		}
	}
	o.Requests = len(during)
	o.Monitors, o.PerMon = bursts(during)
	o.Stops, _ = countLines(pm, "Initiating stop operation "+Resource+"_stop_0")
	o.Starts, _ = countLines(pm, "Initiating start operation "+Resource+"_start_0")
	if k, _ := countLines(pm, "active on 2 nodes"); k > 0 {
		o.TwoActive = true
	}
	var warns []string
	for _, line := range linesFrom(rl.path, rl.off) {
		if strings.HasPrefix(line, "routeha(") && strings.Contains(line, "WARNING: ") {
			warns = append(warns, line)
		}
	}
	o.Warnings = len(warns)
	if len(warns) > 0 {
		o.Warning = warns[0]
		if i := strings.Index(o.Warning, "WARNING: "); i >= 0 {
			o.Warning = o.Warning[i+len("WARNING: "):]
		}
	}
	o.VIPKept = l.HasVIP(from)
	r.CrmMon = l.CrmMon(ctx)
	// The claims.
	bad := func(format string, args ...any) { o.Problems = append(o.Problems, fmt.Sprintf(format, args...)) }
	if o.Lost > 0 {
		bad("%d pings lost", o.Lost)
	}
	if o.Stops > 0 || o.Starts > 0 {
		bad("Pacemaker initiated %d stop(s) and %d start(s)", o.Stops, o.Starts)
	}
	if o.Moved {
		bad("%s did not stay started on %s alone", Resource, from.Name)
	}
	if o.FailMax > 0 {
		bad("fail-count %d on %s", o.FailMax, from.Name)
	}
	if o.TwoActive {
		bad("Pacemaker logged \"active on 2 nodes\"")
	}
	if !o.VIPKept {
		bad("the VIP is gone from %s's lo", from.Name)
	}
	if o.Warnings == 0 && !strings.Contains(strings.ToLower(o.CrmMon), "degraded") {
		bad("no warning from routeha in %s's log nor in crm_mon", from.Name)
	}
	if o.Recovered == 0 {
		bad("no successful DescribeRouteTables from %s within 30 s of the API's return", from.Name)
	}
	if o.Monitors < int(dur/(4*time.Second)) {
		bad("only %d monitors reached EC2 during the outage", o.Monitors)
	}
	// With a start among them the bursts are not all monitors; that
	// start already failed the claims above.
	if o.PerMon > 3 && o.Starts == 0 {
		bad("a monitor made %d EC2 requests (at most 3)", o.PerMon)
	}
	if l.hooks.After != nil {
		l.hooks.After(r)
	}
	if len(o.Problems) > 0 {
		return []*Result{r}, fmt.Errorf("scenario %s: %s", n, strings.Join(o.Problems, "; "))
	}
	return []*Result{r}, l.Cleanup(ctx)
}

// ScenarioAPIDown answers every EC2 request 503 for Options.OutageFor.
func (l *Lab) ScenarioAPIDown(ctx context.Context) ([]*Result, error) {
	return l.outage(ctx, "7", "EC2 API down (503)", api503(), l.opts.OutageFor, nil)
}

// ScenarioIAMDenied denies ec2:DescribeRouteTables for Options.OutageFor.
func (l *Lab) ScenarioIAMDenied(ctx context.Context) ([]*Result, error) {
	return l.outage(ctx, "8", "IAM denies DescribeRouteTables", iamDeny(), l.opts.OutageFor, nil)
}

// ScenarioStaticRefresh is the post's layout: the VIP statically on lo:0
// of both nodes. The standby is re-probed (crm_resource --refresh) once
// with the API up, so that it has read the tables as a standby in that
// layout always has, then again with the API down: its probe must not
// make Pacemaker believe the VIP active on two nodes.
func (l *Lab) ScenarioStaticRefresh(ctx context.Context) ([]*Result, error) {
	from, err := l.active(ctx)
	if err != nil {
		return nil, err
	}
	sb := l.Other(from)
	if err := lab.IP("-n", sb.NS, "addr", "add", VIPCIDR, "dev", "lo", "label", "lo:0"); err != nil {
		return nil, err
	}
	defer func() {
		if l.HasVIP(sb) {
			_ = lab.IP("-n", sb.NS, "addr", "del", VIPCIDR, "dev", "lo")
		}
	}()
	probe := func(what string) (string, error) {
		m := markLog(sb)
		if _, err := l.Running().Run(ctx, "crm_resource", "--refresh", "-r", Resource, "-N", sb.Name); err != nil {
			return "", err
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			for _, line := range linesFrom(m.path, m.off) {
				if i := strings.Index(line, "Result of probe operation for "+Resource+" on "+sb.Name); i >= 0 {
					l.progress("%s: %s", what, line[i:])
					return line[i:], nil
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		return "", fmt.Errorf("no probe result on %s after crm_resource --refresh (%s)", sb.Name, what)
	}
	if _, err := probe("API up"); err != nil {
		return nil, err
	}
	var probed string
	rs, err := l.outage(ctx, "9", "static lo:0 on both, API down, refresh of the standby", api503(), 20*time.Second, func(*Node) error {
		var err error
		probed, err = probe("API down")
		return err
	})
	if len(rs) > 0 {
		rs[0].Outage.Probe = probed
	}
	return rs, err
}

// ScenarioAPIDownKill breaks the API, then the active instance dies (its
// cluster stack killed and its link down, as in scenario 6), and the API
// comes back after apiBack: the survivor's start cannot move the route
// until then. It measures how long the VIP stays unserved with no
// operator action: with the API back inside the start's timeout the start
// pushes through; after it, the start has failed and only failure-timeout
// brings the resource back.
func (l *Lab) apiDownKill(ctx context.Context, n, name string, apiBack time.Duration) ([]*Result, error) {
	from, err := l.active(ctx)
	if err != nil {
		return nil, err
	}
	to := l.Other(from)
	r := &Result{N: n, Name: name, From: from.Name, To: to.Name}
	rc := &Recovery{APIBack: apiBack}
	r.Recovery = rc
	logN := len(l.Emu.Log())
	toLog := markLog(to)
	l.beforeFault(r)
	api := api503()
	api.down(l.Emu)
	r.Fault = time.Now()
	if err := loseInstance(from); err != nil {
		api.up(l.Emu)
		return []*Result{r}, err
	}
	l.progress("API down, %s killed and its link down; the API returns in %s", from.Name, apiBack)
	timer := time.AfterFunc(apiBack, func() { api.up(l.Emu); l.progress("the API answers again") })
	defer timer.Stop()
	// With no operator action: wait for the route, as long as a start
	// timeout and a failure-timeout take, and then some.
	deadline := r.Fault.Add(apiBack + 3*time.Minute)
	for !(l.RouteTarget() == to.ENI && l.KernelNextHop() == to.IP) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			api.up(l.Emu)
			return []*Result{r}, fmt.Errorf("scenario %s: the VIP was not served again within %s of the API's return: route %q, kernel %q",
				n, deadline.Sub(r.Fault.Add(apiBack)).Round(time.Second), l.RouteTarget(), l.KernelNextHop())
		}
		time.Sleep(20 * time.Millisecond)
	}
	kernelAt := l.kernelMoved(r.Fault, to)
	r.Kernel = kernelAt.Sub(r.Fault)
	p, ok := l.Prober.WaitAnswered(ctx, kernelAt, 20*time.Second)
	if !ok {
		return []*Result{r}, fmt.Errorf("scenario %s: no ping answered through %s", n, to.Name)
	}
	rc.Ping = p.Recv.Sub(r.Fault)
	r.Ping = rc.Ping
	rc.FromAPIBack = p.Recv.Sub(r.Fault.Add(apiBack))
	rc.Lost, _ = l.pingsBetween(r.Fault, p.Sent)
	r.Lost = rc.Lost
	for _, e := range l.Emu.Log()[logN:] {
		if e.Action == "ReplaceRoute" && !e.DryRun && e.Code == "" && rc.RouteAPI == 0 {
			rc.RouteAPI = e.Time.Add(e.Latency).Sub(r.Fault)
			r.RouteAPI = rc.RouteAPI
		}
	}
	// The start reports after its read-back, which may be after the
	// route moved and the first ping: wait for it before counting.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := to.WaitStarted(wctx, Resource, to.Name); err != nil {
		return []*Result{r}, err
	}
	for _, line := range linesFrom(toLog.path, toLog.off) {
		if !strings.Contains(line, "Result of start operation for "+Resource) {
			continue
		}
		if strings.Contains(line, ": ok") {
			rc.StartsOK++
		} else {
			rc.StartsFailed++
		}
		if rc.FirstStartEnd == 0 {
			if t, ok := logTime(line, r.Fault); ok {
				rc.FirstStartEnd = t.Sub(r.Fault)
			}
		}
	}
	r.CrmMon = l.CrmMon(ctx)
	if l.hooks.After != nil {
		l.hooks.After(r)
	}
	return []*Result{r}, l.bringBack(ctx, from, true)
}

// ScenarioAPIDownKillShort: the API returns 10 s after the kill, inside
// the survivor's start timeout.
func (l *Lab) ScenarioAPIDownKillShort(ctx context.Context) ([]*Result, error) {
	return l.apiDownKill(ctx, "10a", "API down, active killed, API back after 10 s", 10*time.Second)
}

// DefaultLongAPIBack is when scenario 10b's API returns after the kill.
const DefaultLongAPIBack = 60 * time.Second

// ScenarioAPIDownKillLong: the API returns Options.LongAPIBack (60 s) after
// the kill, after the survivor's start has failed.
func (l *Lab) ScenarioAPIDownKillLong(ctx context.Context) ([]*Result, error) {
	back := l.opts.LongAPIBack
	return l.apiDownKill(ctx, "10b", fmt.Sprintf("API down, active killed, API back after %d s", int(back.Seconds())), back)
}

// FormatOutageTable formats the outage results as a Markdown table.
func FormatOutageTable(results []*Result) string {
	return markdownTable(results, "# | scenario | API down | pings lost | longest reply gap | stops / starts | fail-count | request bursts from the node (requests, most in one burst) | back to a good read | routeha's warnings | result", func(r *Result) []any {
		o := r.Outage
		if o == nil {
			return nil
		}
		res := "held"
		if len(o.Problems) > 0 {
			res = "FAILED: " + strings.Join(o.Problems, "; ")
		}
		if o.Probe != "" {
			res += "; standby probe: " + o.Probe
		}
		w := o.Warning
		if len(w) > 90 {
			w = w[:90] + "…"
		}
		if o.Warnings > 0 {
			w = fmt.Sprintf("%d× \"%s\"", o.Warnings, strings.ReplaceAll(w, "|", "\\|"))
		} else {
			w = "none"
		}
		return []any{r.N, r.Name, o.Down, o.Lost, fmt.Sprintf("%d ms", o.MaxGap.Milliseconds()), fmt.Sprintf("%d / %d", o.Stops, o.Starts), o.FailMax,
			fmt.Sprintf("%d (%d, %d)", o.Monitors, o.Requests, o.PerMon), msOr(o.Recovered), w, strings.ReplaceAll(res, "|", "\\|")}
	})
}

// FormatRecoveryTable formats scenario 10's results as a Markdown table.
func FormatRecoveryTable(results []*Result) string {
	return markdownTable(results, "# | scenario | from → to | API back | survivor's starts (failed) | first start ended | route written | first reply | first reply after the API's return | pings lost", func(r *Result) []any {
		c := r.Recovery
		if c == nil {
			return nil
		}
		return []any{r.N, r.Name, r.From + " → " + r.To, msOr(c.APIBack), fmt.Sprintf("%d (%d)", c.StartsOK+c.StartsFailed, c.StartsFailed),
			msOr(c.FirstStartEnd), msOr(c.RouteAPI), msOr(c.Ping), msOr(c.FromAPIBack), c.Lost}
	})
}

// markdownTable is a Markdown table with the header's columns (separated
// by " | ") and a row of cells for each result that row gives cells for.
func markdownTable(results []*Result, header string, row func(*Result) []any) string {
	var b strings.Builder
	b.WriteString("| " + header + " |\n|" + strings.Repeat("---|", strings.Count(header, " | ")+1) + "\n")
	for _, r := range results {
		if r == nil {
			continue
		}
		if cells := row(r); cells != nil {
			for _, c := range cells {
				fmt.Fprintf(&b, "| %v ", c)
			}
			b.WriteString("|\n")
		}
	}
	return b.String()
}

func msOr(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}
