package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/suzlab/routeha/test/bench/spawner"
	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
)

// Agent names as they appear in the report.
const (
	agentRH   = "routeha"
	agentMove = "aws-vpc-move-ip"
)

// step is one action of a cycle, as Pacemaker would run it.
type step struct {
	Name     string // report name
	Action   string // argv[1]
	Interval int    // CRM_meta_interval in ms; -1: not set
	Timeout  int    // CRM_meta_timeout in ms
	Want     int    // expected exit code
	Extra    map[string]string
	Only     string // only for this agent ("" = both)
}

// The cycle: routes point at node B and the VIP is absent; start moves every
// route here, a recurring monitor checks it, stop removes the VIP, and a probe
// (monitor with interval 0) finds the resource stopped, as Pacemaker's probe
// on a node that does not run it.
var cycle = []step{
	{Name: "start", Action: "start", Interval: -1, Timeout: 60000, Want: 0},
	{Name: "monitor", Action: "monitor", Interval: 10000, Timeout: 30000, Want: 0},
	{Name: "monitor (monapi=false)", Action: "monitor", Interval: 10000, Timeout: 30000, Want: 0, Extra: map[string]string{"monapi": "false"}, Only: agentMove},
	{Name: "stop", Action: "stop", Interval: -1, Timeout: 30000, Want: 0},
	{Name: "probe", Action: "monitor", Interval: 0, Timeout: 30000, Want: 7},
}

// sample is one measured action.
type sample struct {
	Agent    string         `json:"agent"`
	Tables   int            `json:"tables"`
	Step     string         `json:"step"`
	Code     int            `json:"code"`
	Wall     time.Duration  `json:"wall_ns"`
	CPU      time.Duration  `json:"cpu_ns"` // user + system, the process and its waited-for children
	MaxRSSKB int64          `json:"maxrss_kb"`
	EC2      map[string]int `json:"ec2"`  // requests per EC2 action
	IMDS     map[string]int `json:"imds"` // requests per IMDS path, token included
	Log      []string       `json:"log"`  // the emulator's log of the action: action, error code, status, latency
	// Written is, for a start, the time from the fork to the emulator's
	// answer to the last successful route write (ReplaceRoute or
	// CreateRoute) of the action: when the data plane has moved. Zero when
	// the action wrote no route.
	Written time.Duration `json:"written_ns,omitempty"`
}

func (s sample) ec2Total() int  { return sum(s.EC2) }
func (s sample) imdsTotal() int { return sum(s.IMDS) }

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

type runner struct {
	c       config
	w       *world
	sp      *spawner.Client // starts every measured process
	samples []sample
}

func (r *runner) env(agent string, tables []string, st step, rsctmp string) []string {
	env := []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + r.w.home,
		"LANG=C",
		"OCF_ROOT=/usr/lib/ocf",
		"OCF_RA_VERSION_MAJOR=1",
		"OCF_RA_VERSION_MINOR=1",
		"OCF_RESOURCE_INSTANCE=vip",
		"OCF_RESKEY_CRM_meta_timeout=" + strconv.Itoa(st.Timeout),
		"HA_RSCTMP=" + rsctmp,
		"HA_LOGFACILITY=none",
		"HA_debug=0",
	}
	if st.Interval >= 0 {
		env = append(env, "OCF_RESKEY_CRM_meta_interval="+strconv.Itoa(st.Interval))
	}
	// One configuration for both agents: aws-vpc-move-ip's own defaults made
	// explicit (interface eth0, lookup_type InstanceId, profile default), a
	// region, and monapi=true so that its monitor checks the routes as
	// routeha's always does. routeha accepts awscli and monapi and ignores
	// them.
	params := map[string]string{
		"ip":            vip,
		"routing_table": strings.Join(tables, ","),
		"interface":     "eth0",
		"lookup_type":   "InstanceId",
		"region":        ec2emu.DefaultRegion,
		"profile":       "default",
		"monapi":        "true",
		"awscli":        r.w.wrapper,
	}
	for k, v := range st.Extra {
		params[k] = v
	}
	env = append(env, lab.ParamEnv(params)...)
	if agent == agentRH {
		env = append(env,
			"OCF_RESOURCE_TYPE=routeha", "OCF_RESOURCE_PROVIDER=suzlab",
			"AWS_ENDPOINT_URL_EC2="+r.w.ec2URL,
			"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://"+imdsAddr,
		)
	} else {
		env = append(env, "OCF_RESOURCE_TYPE=aws-vpc-move-ip", "OCF_RESOURCE_PROVIDER=heartbeat")
	}
	return env
}

// runStep runs one action as a new process and measures it.
func (r *runner) runStep(agent, bin string, n int, st step, rsctmp string, extraEnv ...string) (sample, string, error) {
	limit := time.Duration(st.Timeout) * time.Millisecond
	if agent == agentMove {
		limit = 30 * time.Minute // it ignores CRM_meta_timeout; Pacemaker would kill it
	}
	env := append(r.env(agent, tableIDs(n), st, rsctmp), extraEnv...)
	return r.measure(spawner.Request{Argv: []string{bin, st.Action}, Env: env, Timeout: limit}, agent, n, st)
}

// runCmd runs an arbitrary command with an agent's environment.
func (r *runner) runCmd(agent string, n int, st step, rsctmp string, argv ...string) (sample, string, error) {
	return r.measure(spawner.Request{Argv: argv, Env: r.env(agent, tableIDs(n), st, rsctmp), Timeout: 10 * time.Minute}, agent, n, st)
}

// measure has the spawner run the process, with the emulator's and the IMDS
// fake's counts reset before it.
func (r *runner) measure(req spawner.Request, agent string, n int, st step) (sample, string, error) {
	r.w.emu.ResetLog()
	r.w.imds.Reset()
	req.Output = filepath.Join(r.w.dir, "output")
	t0 := time.Now()
	resp, err := r.sp.Run(req)
	if err != nil {
		return sample{}, "", err
	}
	output, _ := os.ReadFile(req.Output)
	s := sample{Agent: agent, Tables: n, Step: st.Name, Wall: resp.Wall, Code: resp.Code, CPU: resp.CPU, MaxRSSKB: resp.MaxRSSKB,
		EC2: r.w.emu.Counts(), IMDS: r.w.imds.Counts()}
	log := r.w.emu.Log()
	for _, e := range log {
		s.Log = append(s.Log, fmt.Sprintf("+%v %s %s %d %v", e.Time.Sub(t0).Round(time.Microsecond), e.Action, e.Code, e.Status, e.Latency.Round(time.Microsecond)))
	}
	s.Written = routesWritten(log, resp.Started)
	if !resp.Ran {
		return s, string(output), fmt.Errorf("%s %s: %s", agent, st.Action, resp.Err)
	}
	if st.Want >= 0 && s.Code != st.Want {
		return s, string(output), fmt.Errorf("%s %s (%d tables): exit %d, want %d (%s)", agent, st.Name, n, s.Code, st.Want, resp.Err)
	}
	return s, string(output), nil
}

// routesWritten is the time from started (the fork) to the emulator's
// answer to the last successful route write in log (ReplaceRoute or
// CreateRoute, not a dry run): when the data plane has moved. Zero when
// log has none, or started is unknown.
func routesWritten(log []ec2emu.LogEntry, started time.Time) time.Duration {
	var last time.Duration
	if started.IsZero() {
		return 0
	}
	for _, e := range log {
		if (e.Action == "ReplaceRoute" || e.Action == "CreateRoute") && !e.DryRun && e.Status == 200 {
			last = max(last, e.Time.Add(e.Latency).Sub(started))
		}
	}
	return last
}

// runCycle resets the world and runs the whole cycle with one agent.
func (r *runner) runCycle(agent string, n int) error {
	if err := r.w.emu.SetState(benchState(n)); err != nil {
		return err
	}
	if err := removeVIP(); err != nil {
		return err
	}
	// A fresh HA_RSCTMP per cycle: start is the first action after boot
	// (routeha's identity cache is empty), the worst case for routeha.
	rsctmp := filepath.Join(r.w.dir, "rsctmp-"+agent)
	_ = os.RemoveAll(rsctmp)
	if err := os.MkdirAll(rsctmp, 0o755); err != nil {
		return err
	}
	bin := r.c.routeha
	if agent == agentMove {
		bin = r.c.moveIP
	}
	for _, st := range cycle {
		if st.Only != "" && st.Only != agent {
			continue
		}
		s, out, err := r.runStep(agent, bin, n, st, rsctmp)
		if err != nil {
			return fmt.Errorf("%v\n--- output ---\n%s", err, out)
		}
		r.samples = append(r.samples, s)
		if agent == agentMove && n >= 10 {
			logf("  %s %s (%d tables): %v", agent, st.Name, n, s.Wall.Round(10*time.Millisecond))
		}
		if st.Name == "start" {
			if err := r.checkRoutes(n); err != nil {
				return fmt.Errorf("%s start (%d tables): %v", agent, n, err)
			}
		}
	}
	return nil
}

// checkRoutes verifies that start really moved every route here.
func (r *runner) checkRoutes(n int) error {
	st := r.w.emu.Snapshot()
	for _, id := range tableIDs(n) {
		rt := st.RouteTable(id)
		if rt == nil {
			return fmt.Errorf("table %s missing", id)
		}
		rr := rt.Route(vip + "/32")
		if rr == nil || (rr.InstanceID != ec2emu.FixtureInstanceA && rr.NetworkInterfaceID != ec2emu.FixtureENIA) {
			return fmt.Errorf("table %s does not route %s here: %+v", id, vip, rr)
		}
	}
	ok, err := vipPresent()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("VIP not on eth0 after start")
	}
	return nil
}

// schedule says, for round i of rounds, whether an agent with reps cycles runs:
// its cycles are spread evenly over the rounds.
func scheduled(i, rounds, reps int) bool {
	if reps <= 0 {
		return false
	}
	return (i*reps)/rounds != ((i+1)*reps)/rounds
}

func run(c config) error {
	meta := collectMeta(c)
	if err := setupNamespace(); err != nil {
		return err
	}
	w, err := newWorld(c)
	if err != nil {
		return err
	}
	defer w.close()
	sp, err := spawner.Start(c.spawnBin)
	if err != nil {
		return err
	}
	defer sp.Close()
	r := &runner{c: c, w: w, sp: sp}
	t0 := time.Now()
	logf("EC2 emulator %s, IMDS http://%s inside the benchmark's namespace; load average %s", w.ec2URL, imdsAddr, meta.LoadStart)
	for _, n := range c.tables {
		rm := c.repsMove[n]
		rounds := max(c.repsRH, rm)
		logf("%d route tables: %d routeha cycles, %d aws-vpc-move-ip cycles, alternating", n, c.repsRH, rm)
		for i := 0; i < rounds; i++ {
			order := []string{agentRH, agentMove}
			if i%2 == 1 {
				order = []string{agentMove, agentRH}
			}
			for _, a := range order {
				reps := c.repsRH
				if a == agentMove {
					reps = rm
				}
				if !scheduled(i, rounds, reps) {
					continue
				}
				if err := r.runCycle(a, n); err != nil {
					return err
				}
			}
		}
	}
	if c.emptyBin != "" {
		if err := r.floor(); err != nil {
			return err
		}
	}
	if c.abBin != "" {
		if err := r.compare(); err != nil {
			return err
		}
	}
	if c.perfBin != "" {
		if err := r.profile(); err != nil {
			return err
		}
	}
	meta.Elapsed = time.Since(t0)
	meta.LoadEnd = loadAvg()
	report := renderReport(c, meta, r.samples)
	fmt.Print(report)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(report), 0o644); err != nil {
			return err
		}
		logf("wrote %s", c.out)
	}
	if c.rawOut != "" {
		b, _ := json.MarshalIndent(r.samples, "", " ")
		if err := os.WriteFile(c.rawOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// profile records, with perf, every process of repeated actions of a
// routeha binary with symbols (c.perfBin): after one real start, 30
// recurring monitors, 30 stops (the first one removes the VIP) and 30
// probes, each series in one perf.data under c.profDir.
func (r *runner) profile() error {
	if err := os.MkdirAll(r.c.profDir, 0o755); err != nil {
		return err
	}
	for _, n := range r.c.tables {
		if err := r.w.emu.SetState(benchState(n)); err != nil {
			return err
		}
		if err := removeVIP(); err != nil {
			return err
		}
		rsctmp := filepath.Join(r.w.dir, "rsctmp-prof")
		_ = os.RemoveAll(rsctmp)
		if err := os.MkdirAll(rsctmp, 0o755); err != nil {
			return err
		}
		for _, st := range cycle {
			if st.Only != "" {
				continue
			}
			if st.Name == "start" {
				if _, out, err := r.runStep(agentRH, r.c.perfBin, n, st, rsctmp); err != nil {
					return fmt.Errorf("%v\n%s", err, out)
				}
				continue
			}
			data := filepath.Join(r.c.profDir, fmt.Sprintf("%s-%d.perf.data", st.Name, n))
			loop := fmt.Sprintf("i=0; while [ $i -lt 30 ]; do %s %s; i=$((i+1)); done; exit 0", r.c.perfBin, st.Action)
			ps := st
			ps.Want = -1
			s, out, err := r.runCmd(agentRH, n, ps, rsctmp, "perf", "record", "-q", "-F", "20000", "-g", "-o", data, "--", "/bin/sh", "-c", loop)
			if err != nil || s.Code != 0 {
				return fmt.Errorf("perf %s: %v %d\n%s", st.Name, err, s.Code, out)
			}
			logf("profile %s: 30 runs in %v, %v CPU", data, s.Wall.Round(time.Millisecond), s.CPU)
		}
	}
	return nil
}

// Process-start floor: what a process costs before any action runs.
const (
	agentFloor   = "floor"
	floorEmpty   = "empty static Go program"
	floorMeta    = "routeha meta-data"
	floorMonitor = "routeha monitor (1 table)"
)

// floor times, alternating, an empty static Go program, routeha
// meta-data (the runtime's start and every package's initialisation, no
// action) and a recurring monitor with one table, the same number of
// times as the routeha cycles, so that the report can say how much of a
// monitor is the action and how much the process.
func (r *runner) floor() error {
	if err := r.w.emu.SetState(benchState(1)); err != nil {
		return err
	}
	rsctmp := filepath.Join(r.w.dir, "rsctmp-floor")
	_ = os.RemoveAll(rsctmp)
	if err := os.MkdirAll(rsctmp, 0o755); err != nil {
		return err
	}
	start := step{Name: "start", Action: "start", Interval: -1, Timeout: 60000, Want: 0}
	if _, out, err := r.runStep(agentRH, r.c.routeha, 1, start, rsctmp); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	runs := []struct {
		name string
		st   step
		argv []string
	}{
		{floorEmpty, step{Name: floorEmpty, Interval: -1, Timeout: 30000, Want: 0}, []string{r.c.emptyBin}},
		{floorMeta, step{Name: floorMeta, Interval: -1, Timeout: 30000, Want: 0}, []string{r.c.routeha, "meta-data"}},
		{floorMonitor, step{Name: floorMonitor, Interval: 10000, Timeout: 30000, Want: 0}, []string{r.c.routeha, "monitor"}},
	}
	for i := 0; i < max(r.c.repsRH, 10); i++ {
		for _, x := range runs {
			s, out, err := r.runCmd(agentRH, 1, x.st, rsctmp, x.argv...)
			if err != nil {
				return fmt.Errorf("%s: %v\n%s", x.name, err, out)
			}
			s.Agent, s.Step = agentFloor, x.name
			r.samples = append(r.samples, s)
		}
	}
	return removeVIP()
}
