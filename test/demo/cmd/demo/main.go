// Command demo runs routeha's two-node failover demo (make demo): a
// Pacemaker cluster in namespaces on this machine, a VPC router following
// the EC2 emulator's route table, and a client pinging the VIP while the
// scenarios inject faults. It prints crm_mon and the ping lines as they
// happen and a table of the measured failovers, and tears everything down,
// on Ctrl-C too. Needs root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/suzlab/routeha/test/demo"
)

func main() {
	os.Exit(run())
}

func run() int {
	agent := flag.String("agent", "bin/routeha", "the routeha binary")
	dir := flag.String("dir", "", "working directory for the nodes (default: a temporary one, removed)")
	state := flag.String("state", "", "file listing the namespaces created (for a wrapper's cleanup)")
	only := flag.String("scenarios", demo.Default, "scenarios to run, comma separated, or a group: outage (7-10b: the EC2 API down or IAM denying, about 6 min), all")
	token := flag.Duration("token", time.Second, "corosync's totem token timeout (the vendor guides for AWS: 30s)")
	consensus := flag.Duration("consensus", 0, "corosync's totem consensus timeout (default corosync's, 1.2 × token; the guides: 36s)")
	interval := flag.Duration("i", 100*time.Millisecond, "ping interval")
	quiet := flag.Bool("q", false, "no ping lines")
	keep := flag.String("logs", "", "copy the nodes' logs here at the end")
	flag.Parse()

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (network, mount, UTS and PID namespaces)")
		return 2
	}
	ag, err := filepath.Abs(*agent)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "routeha-demo-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			return 1
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	say("building the world: VPC router + EC2 emulator, two nodes (corosync, pacemakerd, IMDS), a client")
	l, err := demo.New(ctx, demo.Options{Agent: ag, Dir: *dir, PingInterval: *interval, StateFile: *state, Token: *token, Consensus: *consensus,
		Logf: func(f string, a ...any) { say(f, a...) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		if l != nil {
			l.Close()
		}
		return 1
	}
	defer func() {
		if *keep != "" && l.Cluster != nil {
			if err := l.Cluster.CollectLogs(*keep); err != nil {
				fmt.Fprintln(os.Stderr, "demo: logs:", err)
			}
			for _, n := range l.Nodes {
				if b, err := os.ReadFile(filepath.Join(n.Dir, "var/log/pacemaker/routeha.log")); err == nil {
					_ = os.WriteFile(filepath.Join(*keep, n.Name, "routeha.log"), b, 0o644)
				}
			}
		}
		say("tearing down: nodes killed by PID, namespaces and veths deleted")
		l.Close()
	}()
	say("both nodes online, %s configured with crm:", demo.Resource)
	for _, c := range l.CrmConfig() {
		fmt.Printf("    crm %s\n", strings.Join(c, " "))
	}
	fmt.Println(indent(l.CrmMon(ctx)))

	pr := &printer{l: l, quiet: *quiet}
	go pr.loop(ctx)
	l.SetHooks(demo.Hooks{
		Pause: time.Second,
		Logf:  func(f string, a ...any) { say(f, a...) },
		Before: func(r *demo.Result) {
			say("scenario %s: %s (%s active)", r.N, r.Name, r.From)
			pr.on(true)
		},
		After: func(r *demo.Result) {
			time.Sleep(800 * time.Millisecond) // let the printer catch up
			pr.on(false)
			fmt.Println(indent(r.CrmMon))
			if o := r.Outage; o != nil {
				if o.CrmMon != "" {
					say("crm_mon -1 -r halfway through the outage:")
					fmt.Println(indent(o.CrmMon))
				}
				for _, f := range o.Failed {
					say("crm_mon listed a failed action during or after the outage: %s", f)
				}
				if o.Warning != "" {
					say("routeha's warning (%d lines): %s", o.Warnings, o.Warning)
				}
				verdict := "every claim held"
				if len(o.Problems) > 0 {
					verdict = "FAILED: " + strings.Join(o.Problems, "; ")
				}
				say("scenario %s: %s for %s on %s: %d pings lost, %d stops, %d starts, fail-count %d, %d monitors reached EC2 (at most %d requests each), %d warnings; %s",
					r.N, o.Fault, o.Down, o.Node, o.Lost, o.Stops, o.Starts, o.FailMax, o.Monitors, o.PerMon, o.Warnings, verdict)
				return
			}
			say("scenario %s: %s -> %s: route written %s, first reply %s after the fault, %d pings lost%s",
				r.N, r.From, r.To, ms(r.RouteAPI), ms(r.Ping), r.Lost, reason(r))
		},
	})

	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		s = strings.TrimSpace(s)
		if g, ok := demo.Groups[s]; ok {
			for _, x := range strings.Split(g, ",") {
				want[x] = true
			}
			continue
		}
		want[s] = true
		if s == "10" {
			want["10a"], want["10b"] = true, true
		}
	}
	var results []*demo.Result
	failed := false
	for _, sc := range demo.Scenarios {
		if !want[sc.N] || ctx.Err() != nil {
			continue
		}
		rs, err := sc.Run(l, ctx)
		if err != nil && ctx.Err() != nil && len(rs) > 0 {
			rs = rs[:len(rs)-1] // interrupted: nothing measured
		}
		results = append(results, rs...)
		if err != nil {
			pr.on(false)
			say("scenario %s FAILED: %v", sc.N, err)
			if ctx.Err() == nil {
				fmt.Println(l.Cluster.Logs(30))
			}
			failed = true
			break
		}
	}
	cons := "consensus corosync's default (1.2 × token)"
	if *consensus > 0 {
		cons = fmt.Sprintf("consensus %d ms", consensus.Milliseconds())
	}
	fmt.Printf("\nrouteha failover on %s, %d cores, %s, ping every %s, monitor interval 2s, token %d ms, %s\n\n",
		hostKernel(), numCPU(), time.Now().Format("2006-01-02 15:04 MST"), *interval, token.Milliseconds(), cons)
	fmt.Print(demo.FormatTable(results))
	for _, r := range results {
		if r.Outage != nil {
			fmt.Printf("\nControl-plane outages (API down for the time given, monitor every 2s):\n\n%s", demo.FormatOutageTable(results))
			break
		}
	}
	for _, r := range results {
		if r.Recovery != nil {
			fmt.Printf("\nAPI down while the active instance dies (start timeout %s, failure-timeout %s; times from the kill):\n\n%s",
				demo.StartTimeout, l.FailureTimeout(), demo.FormatRecoveryTable(results))
			break
		}
	}
	if failed {
		return 1
	}
	return 0
}

func reason(r *demo.Result) string {
	if r.ExitReason == "" {
		return ""
	}
	return fmt.Sprintf(", exit reason %q", r.ExitReason)
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func hostKernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "Linux"
	}
	return "Linux " + strings.TrimSpace(string(b))
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\nprocessor") + 1
}

// printer prints the client's probes like ping, a little behind real time
// (a probe is printed once it is answered or 700 ms old), with the node the
// router sent it to, collapsing runs of unanswered probes.
type printer struct {
	l     *demo.Lab
	quiet bool
	mu    sync.Mutex
	show  bool
	next  int
	lost  []demo.Probe
}

func (p *printer) on(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !v {
		p.flushLost()
	}
	p.show = v
}

func (p *printer) loop(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		probes := p.l.Prober.Probes()
		p.mu.Lock()
		for p.next < len(probes) {
			pr := probes[p.next]
			if !pr.Answered() && time.Since(pr.Sent) < 700*time.Millisecond {
				break
			}
			p.next++
			if !p.show || p.quiet {
				continue
			}
			if !pr.Answered() {
				p.lost = append(p.lost, pr)
				continue
			}
			p.flushLost()
			fmt.Printf("    [%s] 64 bytes from %s: icmp_seq=%d ttl=%d time=%.3f ms   (router -> %s)\n",
				pr.Sent.Format("15:04:05.000"), demo.VIP, pr.Seq, pr.TTL, float64(pr.RTT().Microseconds())/1000, p.via(pr.Sent))
		}
		p.mu.Unlock()
	}
}

func (p *printer) flushLost() {
	if len(p.lost) == 0 {
		return
	}
	a, b := p.lost[0], p.lost[len(p.lost)-1]
	fmt.Printf("    [%s] icmp_seq=%d..%d: no answer (%d probes, router -> %s)\n",
		a.Sent.Format("15:04:05.000"), a.Seq, b.Seq, len(p.lost), p.via(a.Sent))
	p.lost = nil
}

// via names the node the router's kernel route pointed at when t was sent.
func (p *printer) via(t time.Time) string {
	nh := ""
	for _, e := range p.l.Events() {
		if e.Time.After(t) {
			break
		}
		nh = e.NextHop
	}
	for _, n := range p.l.Nodes {
		if n.IP == nh {
			return n.Name
		}
	}
	if nh == demo.OtherIP {
		return nh + " (" + demo.OtherInstance + ", not in the cluster)"
	}
	if nh == "" {
		return "nowhere"
	}
	return nh
}
