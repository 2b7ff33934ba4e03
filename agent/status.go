package agent

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/suzlab/routeha/ocf"
)

// Status is what `routeha status` reports: the whole picture an operator
// needs before (or during) a failover. It changes nothing.
type Status struct {
	Instance        *Self         `json:"instance,omitempty"`
	VIP             VIPStatus     `json:"vip"`
	Tables          []TableStatus `json:"route_tables"`
	SourceDestCheck *bool         `json:"source_dest_check,omitempty"`
	Checks          []CheckResult `json:"checks"`
	Warnings        []string      `json:"warnings,omitempty"`
	// ControlPlane is "reachable" when the tables could be read, else
	// why not: the VIP may still be served (monitor 190).
	ControlPlane string `json:"control_plane,omitempty"`
	// LastRead is this node's last successful read of the tables.
	LastRead *LastRead `json:"last_read,omitempty"`
	// Monitor is what the monitor action would answer now.
	Monitor Result `json:"monitor"`
}

// LastRead is an observation as status shows it.
type LastRead struct {
	Time       time.Time `json:"time"`
	AgeSeconds int       `json:"age_seconds"`
	Here       Coverage  `json:"here"`
	Elsewhere  string    `json:"elsewhere,omitempty"`
}

// VIPStatus says whether the VIP is on its interface.
type VIPStatus struct {
	Address   string `json:"address"`
	Interface string `json:"interface"`
	Label     string `json:"label,omitempty"`
	Present   bool   `json:"present"`
}

// TableStatus is one configured table's route for the VIP.
type TableStatus struct {
	ID          string `json:"id"`
	VPCID       string `json:"vpc_id,omitempty"`
	Destination string `json:"destination"`
	Found       bool   `json:"found"`
	ENI         string `json:"network_interface_id,omitempty"`
	InstanceID  string `json:"instance_id,omitempty"`
	AZ          string `json:"availability_zone,omitempty"`
	Gateway     string `json:"gateway,omitempty"`
	State       string `json:"state,omitempty"`
	Here        bool   `json:"here"`
}

// CheckResult is one configuration check.
type CheckResult struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Code    int    `json:"exit_code"`
	Message string `json:"message,omitempty"`
}

// Result is an exit code with its name and reason.
type Result struct {
	Code   int    `json:"exit_code"`
	Name   string `json:"name"`
	Reason string `json:"reason,omitempty"`
}

func resultOf(err error) Result {
	c := ocf.CodeOf(err)
	r := Result{Code: int(c), Name: c.String()}
	if err != nil {
		r.Reason = err.Error()
	}
	return r
}

// StatusCommand is `routeha status [--json] [--ip ...] [--routing-table ...]`:
// the same parameters as the resource (flags override OCF_RESKEY_*), a
// report on stdout, and monitor's exit code.
func (a *Agent) StatusCommand(ctx context.Context, args []string, env *ocf.Env, stdout, stderr io.Writer) ocf.ExitCode {
	fs := flag.NewFlagSet("routeha status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	values := map[string]*string{}
	for _, p := range params() {
		if p.NoEffect {
			continue
		}
		values[p.Name] = fs.String(strings.ReplaceAll(p.Name, "_", "-"), "", p.Shortdesc+" (OCF_RESKEY_"+p.Name+")")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: routeha status [flags]\n\nShows this instance, each route table's route for the VIP, the VIP on its\ninterface, and every configuration check. Changes nothing. Exit code: monitor's.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ocf.Success
		}
		return ocf.ErrArgs
	}
	var set []string
	for name, v := range values {
		if *v != "" {
			set = append(set, "OCF_RESKEY_"+name+"="+*v)
		}
	}
	env = env.With(set...)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	log := ocf.NewLogger("routeha(status)", env, io.Discard)
	st := a.Status(ctx, &ocf.Request{Env: env, Log: log, Probe: true})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	} else {
		st.WriteText(stdout)
	}
	return ocf.ExitCode(st.Monitor.Code)
}

// Status gathers the report. Every step that fails is recorded, and the
// steps that depend on it are marked skipped.
func (a *Agent) Status(ctx context.Context, r *ocf.Request) *Status {
	st := &Status{}
	cfg, err := ParseConfig(r.Env)
	st.Checks = append(st.Checks, check("parameters", err))
	if err != nil {
		st.Monitor = resultOf(err)
		return st
	}
	st.VIP = VIPStatus{Address: cfg.IP.String(), Interface: cfg.Address.Interface, Label: cfg.Address.Label}
	vip := a.adapters.VIP()
	exists, err := vip.InterfaceExists(ctx, cfg.Address.Interface)
	if err == nil && !exists {
		err = ocf.Errorf(ocf.ErrInstalled, "interface %s does not exist on this node", cfg.Address.Interface)
	}
	st.Checks = append(st.Checks, check("interface "+cfg.Address.Interface+" exists", err))
	st.VIP.Present, _ = vip.Has(ctx, cfg.Address)

	self, err := a.adapters.Identity(cfg).Self(ctx)
	if err != nil {
		err = identityFailure(ctx, err)
		st.Checks = append(st.Checks, check("instance identity", err))
		st.Monitor = resultOf(err)
		return st
	}
	if self, err = a.resolveVIPENI(ctx, r.Log, cfg, self); err != nil {
		st.Checks = append(st.Checks, check("interface "+cfg.Address.Interface+" is an ENI of this instance", err))
	}
	st.Warnings = append(st.Warnings, netconfigWarnings(a.adapters.Host(), cfg)...)
	st.Instance = &self
	// The tables are read as a monitor reads them (at most 3 requests), so
	// that an outage shows at once. The calls after it (interfaces, DryRun
	// probes, the VPC's other tables) are more than 3: --timeout bounds
	// them, not the monitor's budget.
	var tables []Table
	routes, err := a.adapters.Routes(ctx, cfg, self, monitorBudget())
	if err == nil {
		tables, err = a.recording(routes, r.Log, cfg, self).Tables(ctx, cfg.Tables)
	}
	if err == nil {
		routes, err = a.adapters.Routes(ctx, cfg, self, Budget{MaxBackoff: monitorBackoff})
		if err == nil {
			a.describeTables(ctx, st, cfg, self, routes, tables)
			for _, f := range inspectTables(cfg, self, tables) {
				st.Checks = append(st.Checks, check(f.Check, f.Err))
			}
			a.statusSourceDest(ctx, st, cfg, self, routes)
			st.Checks = append(st.Checks, check(checkIAM, a.checkPermissions(ctx, r, cfg, self, routes, tables)))
			if w, err := otherTables(ctx, cfg, self, routes); err == nil {
				st.Warnings = append(st.Warnings, w...)
				st.Checks = append(st.Checks, CheckResult{Name: checkOthers, OK: len(w) == 0, Message: strings.Join(w, "; ")})
			}
		}
	}
	st.ControlPlane = "reachable"
	if err != nil {
		err = apiFailure(ctx, "cannot read route tables", err)
		st.Checks = append(st.Checks, check(checkExist, err))
		if KindOf(err) != KindTableNotFound {
			st.ControlPlane = "unreachable: " + outageWords(ctx, err)
		}
	}
	// The verdict is the monitor's own, so that the exit code means the same.
	st.Monitor = resultOf(a.Monitor(ctx, r, cfg))
	if o, ok := a.lastObservation(ctx, r.Log, cfg, self); ok {
		st.LastRead = &LastRead{Time: o.Time, AgeSeconds: int(age(o).Seconds()), Here: o.Here, Elsewhere: o.Elsewhere}
	}
	return st
}

func (a *Agent) describeTables(ctx context.Context, st *Status, cfg *Config, self Self, routes Routes, tables []Table) {
	var enis []string
	for _, s := range evaluate(cfg.Destination, self, tables) {
		ts := TableStatus{ID: s.Table, Destination: cfg.Destination.String(), Here: s.Here}
		for _, t := range tables {
			if t.ID == s.Table {
				ts.VPCID = t.VPCID
			}
		}
		if rt := s.Route; rt != nil {
			ts.Found, ts.ENI, ts.InstanceID, ts.Gateway = true, rt.ENI, rt.InstanceID, rt.Gateway
			ts.State = "active"
			if rt.Blackhole {
				ts.State = "blackhole"
			}
			if rt.ENI != "" {
				enis = append(enis, rt.ENI)
			}
		}
		st.Tables = append(st.Tables, ts)
	}
	if len(enis) == 0 {
		return
	}
	// Which instance and AZ each target is; a deleted ENI is simply unknown.
	ifs, err := routes.Interfaces(ctx, enis)
	if err != nil {
		return
	}
	for i := range st.Tables {
		for _, n := range ifs {
			if n.ID == st.Tables[i].ENI {
				st.Tables[i].AZ = n.AZ
				if st.Tables[i].InstanceID == "" {
					st.Tables[i].InstanceID = n.InstanceID
				}
			}
		}
	}
}

func (a *Agent) statusSourceDest(ctx context.Context, st *Status, cfg *Config, self Self, routes Routes) {
	on, err := sourceDestOn(ctx, self, routes)
	if err != nil {
		st.Checks = append(st.Checks, check(checkSrcDest, err))
		return
	}
	st.SourceDestCheck = &on
	// Judge it as start would, without changing it.
	st.Checks = append(st.Checks, check(checkSrcDest, checkSourceDest(ctx, cfg, self, routes, false)))
}

func check(name string, err error) CheckResult {
	if _, ok := skipsOf(err); ok { // IAM denies what the check needs (checks.go)
		return CheckResult{Name: name, OK: true, Skipped: true, Message: err.Error()}
	}
	c := CheckResult{Name: name, OK: err == nil, Code: int(ocf.CodeOf(err))}
	if err != nil {
		c.Message = err.Error()
	}
	return c
}

// WriteText prints the report for a human.
func (st *Status) WriteText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if s := st.Instance; s != nil {
		fmt.Fprintf(tw, "instance\t%s (%s, %s)\n", s.InstanceID, s.AZ, s.Region)
		fmt.Fprintf(tw, "network interface\t%s in %s\n", s.PrimaryENI, s.VPCID)
	}
	if st.SourceDestCheck != nil {
		fmt.Fprintf(tw, "source/dest check\t%s\n", onOff(*st.SourceDestCheck))
	}
	if st.VIP.Address != "" {
		fmt.Fprintf(tw, "vip\t%s on %s: %s\n", st.VIP.Address, st.VIP.Interface, presence(st.VIP.Present))
	}
	if st.ControlPlane != "" {
		fmt.Fprintf(tw, "control plane\t%s\n", st.ControlPlane)
	}
	if lr := st.LastRead; lr != nil {
		fmt.Fprintf(tw, "last good read\t%s tables routed here, %s ago (%s)%s\n", lr.Here,
			time.Duration(lr.AgeSeconds)*time.Second, lr.Time.UTC().Format(time.RFC3339), elsewhereText(lr.Elsewhere))
	} else if st.Instance != nil {
		fmt.Fprintf(tw, "last good read\tnone on this node\n")
	}
	tw.Flush()
	if len(st.Tables) > 0 {
		fmt.Fprintln(w, "\nroute tables:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  TABLE\tDESTINATION\tTARGET\tINSTANCE\tAZ\tSTATE\tHERE")
		for _, t := range st.Tables {
			target := t.ENI
			if target == "" {
				target = t.Gateway
			}
			if !t.Found {
				target, t.State = "-", "missing"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Destination, dash(target), dash(t.InstanceID), dash(t.AZ), t.State, yesNo(t.Here))
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nchecks:")
	for _, c := range st.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		} else if c.Skipped {
			mark = "skip"
		}
		fmt.Fprintf(w, "  [%s] %s", mark, c.Name)
		if c.Message != "" {
			fmt.Fprintf(w, ": %s", c.Message)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nmonitor: %d %s", st.Monitor.Code, st.Monitor.Name)
	if st.Monitor.Code == int(ocf.Degraded) {
		fmt.Fprint(w, ", degraded: the VIP is served but the route could not be confirmed")
	}
	if st.Monitor.Reason != "" {
		fmt.Fprintf(w, " (%s)", st.Monitor.Reason)
	}
	fmt.Fprintln(w)
}

func elsewhereText(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

func presence(b bool) string {
	if b {
		return "present"
	}
	return "absent"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
