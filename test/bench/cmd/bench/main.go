// Command bench measures routeha against ocf:heartbeat:aws-vpc-move-ip, both
// run as Pacemaker runs them (a new process per action, OCF_RESKEY_*
// environment), against the same in-process EC2 emulator and IMDS fake, in
// one run, alternating the two agents. It writes doc/BENCHMARKS.md and prints
// the same Markdown on stdout.
//
// It needs root. It re-executes itself in a new network namespace and a new
// (private) mount namespace; everything it changes lives there:
//
//   - lo up, 169.254.169.254/32 on lo (the IMDS fake listens on :80, because
//     aws-vpc-move-ip hard-wires that address);
//   - eth0, one end of a veth pair whose both ends are in the namespace, with
//     the fixture ENI's MAC (aws-vpc-move-ip finds its ENI through the MAC of
//     its interface) and the node's private IP;
//   - a fresh sysfs on /sys, so /sys/class/net shows the namespace's
//     interfaces (what `ip netns exec` does);
//   - the EC2 emulator on 127.0.0.1:<port>.
//
// When the process ends, the namespaces go with it: nothing on the host is
// touched.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	routeha  string // routeha binary
	moveIP   string // aws-vpc-move-ip script
	awsCLI   string // the real aws CLI the wrapper execs
	out      string // BENCHMARKS.md path ("" = stdout only)
	rawOut   string // JSON of every sample ("" = none)
	command  string // the command line shown in the report
	tables   []int
	repsRH   int         // routeha cycles per table count
	repsMove map[int]int // aws-vpc-move-ip cycles per table count
	perfBin  string      // routeha with symbols, to profile with perf ("" = none)
	emptyBin string      // an empty static Go program, timed as the process floor ("" = not)
	spawnBin string      // test/bench/cmd/spawn, which starts every measured process
	profDir  string
	abBin    string   // a second routeha binary whose monitors alternate with -routeha's ("" = none)
	abReps   int      // monitors of each binary per table count in the A/B comparison
	abEnv    []string // extra environment of B's monitors (KEY=VALUE)
}

func main() {
	var c config
	var tables, repsMove string
	flag.StringVar(&c.routeha, "routeha", "bin/routeha", "routeha binary (as built by make build)")
	flag.StringVar(&c.moveIP, "move-ip", "/usr/lib/ocf/resource.d/heartbeat/aws-vpc-move-ip", "aws-vpc-move-ip as shipped")
	flag.StringVar(&c.awsCLI, "aws", "/usr/bin/aws", "the aws CLI the awscli wrapper executes")
	flag.StringVar(&c.out, "out", "doc/BENCHMARKS.md", "Markdown report to write (empty: stdout only)")
	flag.StringVar(&c.rawOut, "raw", "", "also write every sample as JSON to this file")
	flag.StringVar(&c.command, "command", "sudo make bench", "the command shown in the report")
	flag.StringVar(&tables, "tables", "1,10,50", "route table counts")
	flag.IntVar(&c.repsRH, "reps", 20, "routeha cycles (start, monitor, stop, probe) per table count")
	flag.StringVar(&repsMove, "reps-move-ip", "1:5,10:2,50:1", "aws-vpc-move-ip cycles per table count (tables:reps,...; it sleeps 1 s per table per step)")
	flag.StringVar(&c.perfBin, "perf-bin", "", "after the benchmark, profile this routeha binary (build it with symbols) with perf record, 30 runs per action")
	flag.StringVar(&c.profDir, "profile-dir", "bench-profiles", "where -perf-bin writes its perf.data files")
	flag.StringVar(&c.spawnBin, "spawn", "", "test/bench/cmd/spawn, built: it starts every measured process (required)")
	flag.StringVar(&c.emptyBin, "empty", "", "an empty static Go program (test/bench/cmd/empty), timed beside routeha meta-data as the process-start floor")
	flag.StringVar(&c.abBin, "ab", "", "after the benchmark, compare this routeha binary's recurring monitor with -routeha's, alternating them (see -ab-reps)")
	flag.IntVar(&c.abReps, "ab-reps", 100, "monitors of each binary per table count with -ab")
	abEnv := flag.String("ab-env", "", "with -ab: extra environment of B's monitors, KEY=VALUE,... (B may be the same binary as A)")
	flag.Parse()

	if *abEnv != "" {
		c.abEnv = strings.Split(*abEnv, ",")
	}
	var err error
	if c.tables, err = intList(tables); err != nil {
		fatalf("-tables: %v", err)
	}
	c.repsMove = map[int]int{}
	for _, kv := range strings.Split(repsMove, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), ":")
		a, err1 := strconv.Atoi(k)
		b, err2 := strconv.Atoi(v)
		if !ok || err1 != nil || err2 != nil || b < 0 {
			fatalf("-reps-move-ip: bad entry %q", kv)
		}
		c.repsMove[a] = b
	}
	for _, p := range []*string{&c.routeha, &c.moveIP, &c.awsCLI, &c.out, &c.rawOut, &c.perfBin, &c.profDir, &c.emptyBin, &c.spawnBin, &c.abBin} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				fatalf("%v", err)
			}
		}
	}

	if c.spawnBin == "" {
		fatalf("-spawn: required (build test/bench/cmd/spawn; make bench does)")
	}
	if os.Getenv("ROUTEHA_BENCH_INNER") != "1" {
		os.Exit(reexec())
	}
	if err := run(c); err != nil {
		fatalf("%v", err)
	}
}

// reexec runs this program again in a new network and mount namespace (the
// Go runtime makes the new mount namespace's mounts private before exec) and
// returns its exit code.
func reexec() int {
	if os.Geteuid() != 0 {
		fatalf("needs root (network namespaces); run it as root: sudo make bench")
	}
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "ROUTEHA_BENCH_INNER=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS,
		Pdeathsig:    syscall.SIGKILL,
	}
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fatalf("%v", err)
	}
	return 0
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
