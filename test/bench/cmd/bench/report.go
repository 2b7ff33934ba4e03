package main

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// meta describes the machine and the run.
type meta struct {
	Date      string
	Nproc     int
	MemTotal  string
	CPU       string
	Kernel    string
	LoadStart string
	LoadEnd   string
	Elapsed   time.Duration
	Versions  []string
	Commit    string
	Notes     string
}

func collectMeta(c config) meta {
	m := meta{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Nproc:     runtime.NumCPU(),
		LoadStart: loadAvg(),
		Commit:    os.Getenv("ROUTEHA_BENCH_COMMIT"),
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Package} ${Version}\n", "resource-agents", "awscli").Output(); err == nil {
		m.Versions = append(m.Versions, strings.Split(strings.TrimSpace(string(out)), "\n")...)
	}
	if out, err := exec.Command(c.awsCLI, "--version").CombinedOutput(); err == nil {
		m.Versions = append(m.Versions, strings.TrimSpace(string(out)))
	}
	m.Versions = append(m.Versions, runtime.Version()+" (benchmark driver)")
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ---- statistics ----

type cell struct{ s []sample }

func (c cell) n() int { return len(c.s) }

func (c cell) durs(f func(sample) time.Duration) []time.Duration {
	d := make([]time.Duration, len(c.s))
	for i, s := range c.s {
		d[i] = f(s)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

func (c cell) wall() []time.Duration { return c.durs(func(s sample) time.Duration { return s.Wall }) }
func (c cell) cpu() []time.Duration  { return c.durs(func(s sample) time.Duration { return s.CPU }) }

// written is the samples' times until the last route was written, of the
// samples that wrote one.
func (c cell) written() cell {
	var out cell
	for _, s := range c.s {
		if s.Written > 0 {
			s.Wall = s.Written
			out.s = append(out.s, s)
		}
	}
	return out
}

func (c cell) rss() (med, mx int64) {
	v := make([]int64, len(c.s))
	for i, s := range c.s {
		v[i] = s.MaxRSSKB
	}
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	if len(v) == 0 {
		return 0, 0
	}
	if len(v)%2 == 1 {
		med = v[len(v)/2]
	} else {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return med, v[len(v)-1]
}

type key struct {
	agent, step string
	tables      int
}

func group(samples []sample) map[key]cell {
	m := map[key]cell{}
	for _, s := range samples {
		k := key{s.Agent, s.Step, s.Tables}
		c := m[k]
		c.s = append(c.s, s)
		m[k] = c
	}
	return m
}

// ---- formatting ----

func fdur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}

func fmb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

func latencyCell(c cell) string {
	if c.n() == 0 {
		return "not run"
	}
	w := c.wall()
	if c.n() == 1 {
		return fmt.Sprintf("%s (n=1)", fdur(w[0]))
	}
	return fmt.Sprintf("**%s** (%s – %s, n=%d)", fdur(median(w)), fdur(w[0]), fdur(w[len(w)-1]), c.n())
}

func ratio(a, b cell) (float64, bool) {
	if a.n() == 0 || b.n() == 0 {
		return 0, false
	}
	ma, mb := median(a.wall()), median(b.wall())
	if ma <= 0 {
		return 0, false
	}
	return float64(mb) / float64(ma), true
}

// countCell shows the requests of a cell: the total and its breakdown when
// every sample agrees, else the range of totals.
func countCell(c cell, get func(sample) map[string]int, short func(string) string) string {
	if c.n() == 0 {
		return "not run"
	}
	lo, hi := 1<<30, -1
	for _, s := range c.s {
		t := sum(get(s))
		lo, hi = min(lo, t), max(hi, t)
	}
	if lo != hi {
		return fmt.Sprintf("%d – %d", lo, hi)
	}
	m := get(c.s[0])
	if lo == 0 {
		return "0"
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", short(k), m[k]))
		}
	}
	return fmt.Sprintf("%d (%s)", lo, strings.Join(parts, ", "))
}

func imdsShort(p string) string {
	if p == "/latest/api/token" {
		return "token"
	}
	p = strings.TrimPrefix(p, "/latest/")
	if i := strings.Index(p, "macs/"); i >= 0 {
		j := strings.LastIndex(p, "/")
		p = p[:i] + "macs/…" + p[j:]
	}
	return p
}

func steps() []string {
	var s []string
	for _, st := range cycle {
		s = append(s, st.Name)
	}
	return s
}

func pct(part, whole time.Duration) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return fi.Size()
}

func renderReport(c config, m meta, samples []sample) string {
	g := group(samples)
	if b, err := os.ReadFile("test/bench/NOTES.md"); err == nil {
		m.Notes = string(b) // read at the end, so it can be edited during a run
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Benchmarks: routeha against ocf:heartbeat:aws-vpc-move-ip\n\n")
	p("<!-- Generated by `%s` (test/bench/bench.sh, test/bench/cmd/bench). Do not edit: re-run it. -->\n\n", c.command)
	p("| | |\n|---|---|\n")
	p("| command | `%s` |\n", c.command)
	p("| date | %s |\n", m.Date)
	p("| machine | %d cores (`nproc`), %s memory, %s, Linux %s |\n", m.Nproc, m.MemTotal, m.CPU, m.Kernel)
	p("| load average (1, 5, 15 min) | at start **%s**, at end %s |\n", m.LoadStart, m.LoadEnd)
	p("| run time | %s |\n", m.Elapsed.Round(time.Second))
	if m.Commit != "" {
		p("| routeha | commit %s; bin/routeha from `make build` (copied before the run, sha256 %s) |\n", m.Commit, os.Getenv("ROUTEHA_BENCH_SHA256"))
	}
	p("| other software | %s |\n", strings.Join(m.Versions, "; "))
	p("| repetitions | routeha: %d cycles per table count; aws-vpc-move-ip: %s cycles (it sleeps 1 s per table per step); a cycle is start, monitor, stop, probe; the agents alternate |\n\n",
		c.repsRH, repsString(c))
	p("A load average near or above the core count means other work shared the machine: the latencies are then pessimistic for both agents.\n\n")

	p("## Latency: whole process, as Pacemaker runs an action\n\n")
	p("Wall clock from fork to exit of the action's process (aws-vpc-move-ip: the shell and every `aws`, `curl`, `ip` and `sleep` it waits for). Median in bold, (min – max, number of runs). Ratio: aws-vpc-move-ip median / routeha median.\n\n")
	p("| action | tables | routeha | aws-vpc-move-ip | ratio |\n|---|---:|---|---|---:|\n")
	for _, st := range steps() {
		for _, n := range c.tables {
			a, bb := g[key{agentRH, st, n}], g[key{agentMove, st, n}]
			if a.n() == 0 && bb.n() == 0 {
				continue
			}
			r := "–"
			if x, ok := ratio(a, bb); ok {
				r = fmt.Sprintf("**%.0f×**", x)
			}
			p("| %s | %d | %s | %s | %s |\n", st, n, latencyCell(a), latencyCell(bb), r)
		}
	}
	p("\n")

	p("## Start: until the routes are written\n\n")
	p("The data plane moves when EC2 has the new route, not when the start action exits: routeha's start then waits at least 1 s to see that the routes stay (issue 18) before it exits 0, and aws-vpc-move-ip sleeps after each step. This is the time from the fork of the start process to the emulator's answer to its last route write (ReplaceRoute or CreateRoute, dry runs excluded), on the same starts as the whole-process start above, which it does not replace. Median in bold, (min – max, number of runs). Ratio: aws-vpc-move-ip median / routeha median.\n\n")
	p("| tables | routeha | aws-vpc-move-ip | ratio | routeha whole start (above) |\n|---:|---|---|---:|---|\n")
	for _, n := range c.tables {
		whole := g[key{agentRH, "start", n}]
		a, bb := whole.written(), g[key{agentMove, "start", n}].written()
		if a.n() == 0 && bb.n() == 0 {
			continue
		}
		r := "–"
		if x, ok := ratio(a, bb); ok {
			r = fmt.Sprintf("**%.0f×**", x)
		}
		p("| %d | %s | %s | %s | %s |\n", n, latencyCell(a), latencyCell(bb), r, fdur(median(whole.wall())))
	}
	p("\n")

	p("## API requests per action\n\n")
	p("From the emulator's request log (EC2) and the IMDS fake's counters, reset before each action. IMDS counts include the IMDSv2 token request.\n\n")
	p("| action | tables | routeha EC2 | routeha IMDS | aws-vpc-move-ip EC2 | aws-vpc-move-ip IMDS |\n|---|---:|---|---|---|---|\n")
	ec2 := func(s sample) map[string]int { return s.EC2 }
	imds := func(s sample) map[string]int { return s.IMDS }
	id := func(s string) string { return s }
	for _, st := range steps() {
		for _, n := range c.tables {
			a, bb := g[key{agentRH, st, n}], g[key{agentMove, st, n}]
			if a.n() == 0 && bb.n() == 0 {
				continue
			}
			p("| %s | %d | %s | %s | %s | %s |\n", st, n,
				countCell(a, ec2, id), countCell(a, imds, imdsShort), countCell(bb, ec2, id), countCell(bb, imds, imdsShort))
		}
	}
	p("\n")

	// Monitors that did not make exactly one request, with the emulator's
	// log, so that a retry is visible and explained.
	var odd []string
	for _, s := range samples {
		if s.Agent == agentRH && s.Step == "monitor" && s.ec2Total() != 1 {
			odd = append(odd, fmt.Sprintf("- %d tables, %s: `%s`", s.Tables, fdur(s.Wall), strings.Join(s.Log, "`; `")))
		}
	}
	if len(odd) > 0 {
		p("routeha monitors that made other than one EC2 request (emulator log: offset from fork, action, error code, HTTP status, time in the emulator):\n\n%s\n\n", strings.Join(odd, "\n"))
	}

	p("## Peak RSS and CPU time per action\n\n")
	p("From wait4's rusage of the action's process: peak RSS is the largest of the process and the children it waited for (for aws-vpc-move-ip, in practice one `aws` CLI process); CPU is user + system time of the process and all its waited-for children. Median (max for RSS).\n\n")
	if cl := g[key{agentFloor, floorEmpty, 1}]; cl.n() > 0 {
		_, mx := cl.rss()
		p("Every process here is started by a small Go process of its own (test/bench/cmd/spawn), not by the benchmark driver: Linux records, at exec, the peak RSS of the address space the new program leaves, and Go's os/exec starts a child in its parent's address space (CLONE_VM), so a child of the driver, which holds the EC2 emulator, would carry the driver's peak. A figure here is therefore the action's own peak RSS, or the spawner's, whichever is larger: the empty Go program (in \"Where a monitor's time goes\" below) shows the spawner's, %s.\n\n", fmb(mx))
	}
	p("| action | tables | routeha peak RSS | routeha CPU | aws-vpc-move-ip peak RSS | aws-vpc-move-ip CPU |\n|---|---:|---|---|---|---|\n")
	for _, st := range steps() {
		for _, n := range c.tables {
			a, bb := g[key{agentRH, st, n}], g[key{agentMove, st, n}]
			if a.n() == 0 && bb.n() == 0 {
				continue
			}
			p("| %s | %d | %s | %s | %s | %s |\n", st, n, rssCell(a), cpuCell(a), rssCell(bb), cpuCell(bb))
		}
	}
	p("\n")

	if g[key{agentFloor, floorEmpty, 1}].n() > 0 {
		p("## Where a monitor's time goes: process start and action\n\n")
		p("Timed alternately, in the same namespace and the same way as above, after the cycles: an empty static Go program (`test/bench/cmd/empty`), `routeha meta-data` (the Go runtime's start and every package's initialisation, no action) and a recurring monitor with 1 table. Median, (min – max, number of runs).\n\n")
		p("| process | wall clock | CPU | peak RSS |\n|---|---|---|---|\n")
		for _, name := range []string{floorEmpty, floorMeta, floorMonitor} {
			cl := g[key{agentFloor, name, 1}]
			p("| %s | %s | %s | %s |\n", name, latencyCell(cl), cpuCell(cl), rssCell(cl))
		}
		e, m, mon := median(g[key{agentFloor, floorEmpty, 1}].wall()), median(g[key{agentFloor, floorMeta, 1}].wall()), median(g[key{agentFloor, floorMonitor, 1}].wall())
		p("\nOf the monitor's median, %s (%.0f %%) is the start of any static Go process on this machine, %s (%.0f %%) the rest of routeha's start (runtime set-up of a larger binary, package initialisation), and %s (%.0f %%) the action itself (reading the VIP, the identity cache and the AWS settings, one signed DescribeRouteTables, the answer's decoding).\n\n",
			fdur(e), pct(e, mon), fdur(m-e), pct(m-e, mon), fdur(mon-m), pct(mon-m, mon))
	}

	p("## Size on disk\n\n")
	p("| | bytes |\n|---|---:|\n")
	p("| routeha (`make build`: static, `-trimpath -ldflags \"-s -w\"`) | %d |\n", fileSize(c.routeha))
	p("| aws-vpc-move-ip script | %d |\n", fileSize(c.moveIP))
	p("| + ocf-shellfuncs, ocf-binaries, ocf-returncodes, ocf-directories it sources | %d |\n",
		fileSize("/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs")+fileSize("/usr/lib/ocf/lib/heartbeat/ocf-binaries")+fileSize("/usr/lib/ocf/lib/heartbeat/ocf-returncodes")+fileSize("/usr/lib/ocf/lib/heartbeat/ocf-directories"))
	if kb := dpkgSize("awscli"); kb > 0 {
		p("| + the aws CLI it needs (Debian package awscli, Installed-Size, without its Python dependencies) | %d |\n", kb*1024)
	}
	p("\n")

	p("## routeha's targets\n\n")
	p("| target | measured | |\n|---|---|---|\n")
	for _, t := range targets(c, g) {
		mark := "met"
		if !t.ok {
			mark = "**missed**"
		}
		p("| %s | %s | %s |\n", t.name, t.measured, mark)
	}
	p("\n")

	p("## How it is measured\n\n")
	p(`- One network namespace and one private mount namespace, made by the driver: lo up, 169.254.169.254/32 on lo with the IMDS fake (test/imdsfake) on port 80, `+"`eth0`"+` (a veth whose both ends are inside) with node A's MAC and private IP, a fresh sysfs on /sys, and the EC2 emulator (test/ec2emu) on 127.0.0.1. Both servers run inside the driver process. Nothing outside the namespace is touched.
- The emulator holds the standard fixture with N route tables in the VPC, each routing the VIP %s/32 to node B before every cycle, so every start moves every route; Source/Dest. check is off on both instances.
- Both agents get the same OCF environment and parameters: `+"`ip=%s routing_table=<N tables> interface=eth0 lookup_type=InstanceId region=%s profile=default monapi=true awscli=<wrapper>`"+`, `+"`OCF_RESKEY_CRM_meta_timeout`"+` (start 60 s, monitor and stop 30 s), `+"`OCF_RESKEY_CRM_meta_interval`"+` 10000 for the recurring monitor and 0 for the probe, a fresh `+"`HA_RSCTMP`"+` per cycle (so start runs with routeha's identity cache empty), `+"`HA_LOGFACILITY=none`"+`, credentials in `+"`~/.aws`"+` of a temporary HOME. routeha ignores awscli and monapi.
- aws-vpc-move-ip runs as shipped (`+"`%s`"+`); its `+"`awscli`"+` parameter is a two-line wrapper that execs `+"`%s --endpoint-url <emulator>`"+` with `+"`AWS_EC2_METADATA_DISABLED=true`"+` (so that the IMDS counts are the agent's own `+"`curl`"+` requests). routeha reaches the emulator through `+"`AWS_ENDPOINT_URL_EC2`"+` and the IMDS at its default address.
- A cycle: start (routes on node B, VIP absent), monitor (recurring), for aws-vpc-move-ip also a monitor with monapi=false, stop, probe (the resource is stopped: what Pacemaker's probe finds on every node but the active one). Every exit code and, after start, every route and the VIP are checked; a wrong answer aborts the run.
- aws-vpc-move-ip's monitor with monapi=false only looks for the address (`+"`ip addr show to IP up`"+`) after reading the instance id from the IMDS; it does not check the route tables. Its start, its probe and (with monapi=true) its monitor and stop call `+"`aws ec2 describe-route-tables`"+` once per table and sleep 1 s after each; start then calls `+"`aws ec2 replace-route`"+` and sleeps 1 s per table, and checks every table again.
`, vip, vip, "eu-west-1", c.moveIP, c.awsCLI)
	p("\n")
	if m.Notes != "" {
		p("%s", m.Notes)
		if !strings.HasSuffix(m.Notes, "\n") {
			p("\n")
		}
	}
	return b.String()
}

func repsString(c config) string {
	var parts []string
	for _, n := range c.tables {
		parts = append(parts, fmt.Sprintf("%d for %d table(s)", c.repsMove[n], n))
	}
	return strings.Join(parts, ", ")
}

func rssCell(c cell) string {
	if c.n() == 0 {
		return "not run"
	}
	med, mx := c.rss()
	return fmt.Sprintf("%s (%s)", fmb(med), fmb(mx))
}

func cpuCell(c cell) string {
	if c.n() == 0 {
		return "not run"
	}
	return fdur(median(c.cpu()))
}

func dpkgSize(pkg string) int64 {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Installed-Size}", pkg).Output()
	if err != nil {
		return 0
	}
	var kb int64
	fmt.Sscan(strings.TrimSpace(string(out)), &kb)
	return kb
}

type target struct {
	name, measured string
	ok             bool
}

func targets(c config, g map[key]cell) []target {
	var ts []target
	// Monitor median at most 10 ms for 1 to 50 tables (issue 16).
	{
		ok, parts := true, []string{}
		for _, n := range c.tables {
			cl := g[key{agentRH, "monitor", n}]
			if cl.n() == 0 {
				continue
			}
			md := median(cl.wall())
			ok = ok && md <= 10*time.Millisecond
			parts = append(parts, fmt.Sprintf("%s (%d)", fdur(md), n))
		}
		ts = append(ts, target{"monitor median ≤ 10 ms, 1 to 50 tables", strings.Join(parts, ", "), ok})
	}
	// Exactly 1 EC2 and 0 IMDS requests per steady-state monitor.
	{
		ok, total, bad := true, 0, 0
		for _, n := range c.tables {
			for _, s := range g[key{agentRH, "monitor", n}].s {
				total++
				if s.ec2Total() != 1 || s.EC2["DescribeRouteTables"] != 1 || s.imdsTotal() != 0 {
					ok = false
					bad++
				}
			}
		}
		ts = append(ts, target{"monitor: exactly 1 EC2 request, 0 IMDS requests", fmt.Sprintf("%d of %d monitors", total-bad, total), ok})
	}
	// Start under 100 ms for 1 table, under 200 ms for 50.
	for _, lim := range []struct {
		n   int
		max time.Duration
	}{{1, 100 * time.Millisecond}, {50, 200 * time.Millisecond}} {
		cl := g[key{agentRH, "start", lim.n}]
		if cl.n() == 0 {
			continue
		}
		md := median(cl.wall())
		ts = append(ts, target{fmt.Sprintf("start median < %s with %d table(s)", fdur(lim.max), lim.n), fdur(md), md < lim.max})
		if w := cl.written(); w.n() > 0 {
			mw := median(w.wall())
			ts = append(ts, target{fmt.Sprintf("start: routes written, median < %s with %d table(s) (not the whole start)", fdur(lim.max), lim.n), fdur(mw), mw < lim.max})
		}
	}
	// Peak RSS under 30 MB.
	{
		var mx int64
		for k, cl := range g {
			if k.agent == agentRH {
				_, m := cl.rss()
				mx = max(mx, m)
			}
		}
		ts = append(ts, target{"peak RSS < 30 MB, every action", fmb(mx) + " (largest)", mx < 30*1024})
	}
	// At least 50x faster on start and monitor.
	for _, st := range []string{"start", "monitor"} {
		ok, parts := true, []string{}
		for _, n := range c.tables {
			x, has := ratio(g[key{agentRH, st, n}], g[key{agentMove, st, n}])
			if !has {
				continue
			}
			ok = ok && x >= 50
			parts = append(parts, fmt.Sprintf("%.0f× (%d)", x, n))
		}
		if len(parts) > 0 {
			ts = append(ts, target{fmt.Sprintf("%s at least 50× faster than aws-vpc-move-ip (median)", st), strings.Join(parts, ", "), ok})
		}
	}
	return ts
}
