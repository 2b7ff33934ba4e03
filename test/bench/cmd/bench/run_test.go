package main

import (
	"testing"
	"time"

	"github.com/suzlab/routeha/test/ec2emu"
)

func TestRoutesWritten(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	log := []ec2emu.LogEntry{
		{Time: at(5), Action: "DescribeRouteTables", Status: 200, Latency: time.Millisecond},
		{Time: at(8), Action: "ReplaceRoute", Status: 200, Latency: 2 * time.Millisecond},
		{Time: at(9), Action: "CreateRoute", Status: 200, Latency: 3 * time.Millisecond},
		// Neither a dry run, nor a refused write, nor a read moves the data plane.
		{Time: at(20), Action: "ReplaceRoute", DryRun: true, Code: "DryRunOperation", Status: 412},
		{Time: at(21), Action: "ReplaceRoute", Code: "RequestLimitExceeded", Status: 503},
		{Time: at(30), Action: "DescribeRouteTables", Status: 200},
	}
	if got, want := routesWritten(log, t0), 12*time.Millisecond; got != want {
		t.Errorf("routesWritten = %v, want %v (the CreateRoute answered at +12 ms)", got, want)
	}
	if got := routesWritten(log[:1], t0); got != 0 {
		t.Errorf("no write: routesWritten = %v, want 0", got)
	}
	if got := routesWritten(log, time.Time{}); got != 0 {
		t.Errorf("fork time unknown: routesWritten = %v, want 0", got)
	}
}
