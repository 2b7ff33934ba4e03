package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Agent names of the A/B comparison (-ab).
const (
	agentA = "A (-routeha)"
	agentB = "B (-ab)"
)

// compare times the recurring monitor of two routeha binaries, A
// (c.routeha) and B (c.abBin), alternating them (ABBA...) in the same
// namespace and against the same emulator state, so that the load of the
// moment weighs on both alike: a change is judged by the two medians of
// one run, not by two runs taken at different times.
func (r *runner) compare() error {
	start := step{Name: "start", Action: "start", Interval: -1, Timeout: 60000, Want: 0}
	mon := step{Name: "monitor", Action: "monitor", Interval: 10000, Timeout: 30000, Want: 0}
	for _, n := range r.c.tables {
		if err := r.w.emu.SetState(benchState(n)); err != nil {
			return err
		}
		if err := removeVIP(); err != nil {
			return err
		}
		rsctmp := filepath.Join(r.w.dir, "rsctmp-ab")
		_ = os.RemoveAll(rsctmp)
		if err := os.MkdirAll(rsctmp, 0o755); err != nil {
			return err
		}
		if _, out, err := r.runStep(agentRH, r.c.routeha, n, start, rsctmp); err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		bins := map[string]string{agentA: r.c.routeha, agentB: r.c.abBin}
		var walls = map[string][]time.Duration{}
		for i := 0; i < r.c.abReps; i++ {
			order := []string{agentA, agentB}
			if i%2 == 1 {
				order = []string{agentB, agentA}
			}
			for _, a := range order {
				var extra []string
				if a == agentB {
					extra = r.c.abEnv
				}
				s, out, err := r.runStep(agentRH, bins[a], n, mon, rsctmp, extra...)
				if err != nil {
					return fmt.Errorf("%s: %v\n%s", a, err, out)
				}
				if s.ec2Total() != 1 || s.imdsTotal() != 0 {
					logf("A/B %s, %d tables: %d EC2 and %d IMDS requests: %v", a, n, s.ec2Total(), s.imdsTotal(), s.Log)
				}
				s.Agent, s.Step = a, "monitor (A/B)"
				r.samples = append(r.samples, s)
				walls[a] = append(walls[a], s.Wall)
			}
		}
		for _, a := range []string{agentA, agentB} {
			slices.Sort(walls[a])
		}
		q1 := func(d []time.Duration) time.Duration { return d[len(d)/4].Round(10 * time.Microsecond) }
		logf("A/B monitor, %d tables, n=%d each: A median %v (first quartile %v), B median %v (%v) (load %s)", n, r.c.abReps,
			median(walls[agentA]).Round(10*time.Microsecond), q1(walls[agentA]),
			median(walls[agentB]).Round(10*time.Microsecond), q1(walls[agentB]), loadAvg())
	}
	return removeVIP()
}
