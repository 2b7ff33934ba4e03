package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

// The faults under which the tables cannot be read, as the adapters
// report them.
func unreadableFaults() map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"503": func(context.Context) error {
			return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Code: "Unavailable", Err: errors.New("The server is overloaded")}
		},
		"throttling": func(context.Context) error {
			return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Code: "RequestLimitExceeded", Err: errors.New("Request limit exceeded.")}
		},
		"connection refused": func(context.Context) error {
			return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Err: &net.OpError{Op: "dial", Net: "tcp",
				Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
		},
		"DNS": func(context.Context) error {
			return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Err: &net.OpError{Op: "dial", Net: "tcp",
				Err: &net.DNSError{Err: "no such host", Name: "ec2.eu-west-1.amazonaws.com", IsNotFound: true}}}
		},
		"hang past the timeout": func(ctx context.Context) error {
			<-ctx.Done()
			return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Err: ctx.Err()}
		},
		"IAM denies DescribeRouteTables": func(context.Context) error {
			return &APIError{Kind: KindDenied, Op: "DescribeRouteTables", Code: "UnauthorizedOperation", Err: errors.New("You are not authorized to perform this operation.")}
		},
		"credentials unavailable": func(context.Context) error {
			return &APIError{Kind: KindOther, Op: "DescribeRouteTables", Code: "no credentials from credential_process", Err: errors.New("exit status 1")}
		},
		"not an EC2 answer": func(context.Context) error {
			return &APIError{Kind: KindOther, Op: "DescribeRouteTables", Code: "HTTP 200, not an EC2 response", Err: errors.New("EOF")}
		},
	}
}

const (
	recurringEnv = "10000"
	probeEnv     = "0"
)

func monitorEnv(interval string) map[string]string {
	return map[string]string{"OCF_RESKEY_CRM_meta_interval": interval, "OCF_RESKEY_CRM_meta_timeout": "2000"}
}

// Issue 17's table, row by row, for the recurring monitor and the probe,
// with every fault under which the tables cannot be read.
func TestMonitorDecisionTable(t *testing.T) {
	here := []Table{table(rtb1, &nodeA), table(rtb2, &nodeA)}
	away := []Table{table(rtb1, &nodeB), table(rtb2, &nodeB)}
	split := []Table{table(rtb1, &nodeA), table(rtb2, &nodeB)}
	readable := []struct {
		name   string
		vip    bool
		tables []Table
		want   ocf.ExitCode
		reason string
		reads  int
	}{
		{"VIP absent", false, here, ocf.NotRunning, "is not on lo", 0},
		{"VIP present, all route here", true, here, ocf.Success, "", 1},
		{"VIP present, none route here", true, away, ocf.NotRunning, "routes it to " + nodeB.InstanceID, 2},
		{"VIP present, route missing", true, []Table{table(rtb1, nil), table(rtb2, nil)}, ocf.NotRunning, "no route", 2},
		{"VIP present, some route here", true, split, ocf.ErrGeneric, "disagree", 2},
	}
	for _, interval := range []string{recurringEnv, probeEnv} {
		for _, c := range readable {
			t.Run(fmt.Sprintf("interval %s/%s", interval, c.name), func(t *testing.T) {
				routes := newFakeRoutes(c.tables...)
				w := newWorld(t, nodeA, routes)
				w.params["routing_table"] = rtb1 + "," + rtb2
				if c.vip {
					w.putVIP()
				}
				r := w.run("monitor", monitorEnv(interval))
				requireCode(t, c.want, r)
				assert.Contains(t, r.reason, c.reason)
				assert.Equal(t, c.reads, routes.reads, "DescribeRouteTables requests (a failing answer is read twice)")
				assert.Empty(t, routes.writes, "monitor must not write")
				assert.Equal(t, c.vip, w.hasVIP(), "monitor must not touch the VIP")
			})
		}
	}

	// Tables unreadable, VIP present.
	obsHere := &Observation{Here: CoverAll, Tables: []string{rtb1, rtb2}, Dest: vip + "/32", Instance: nodeA.InstanceID}
	obsAway := &Observation{Here: CoverNone, Tables: []string{rtb1, rtb2}, Dest: vip + "/32", Instance: nodeA.InstanceID,
		Elsewhere: rtb1 + ": " + nodeB.InstanceID}
	obsSplit := &Observation{Here: CoverSome, Tables: []string{rtb1, rtb2}, Dest: vip + "/32", Instance: nodeA.InstanceID}
	unreadable := []struct {
		name     string
		interval string
		obs      *Observation
		want     ocf.ExitCode
		reason   string
	}{
		{"recurring, no observation", recurringEnv, nil, servingUnconfirmed, "VIP still served"},
		{"recurring, observed elsewhere", recurringEnv, obsAway, servingUnconfirmed, "VIP still served"},
		{"probe, observed here", probeEnv, obsHere, servingUnconfirmed, `all tables routed here 4[2-5]s ago`},
		{"probe, observed elsewhere", probeEnv, obsAway, ocf.NotRunning, `4[2-5]s ago no table routed ` + vip + ` here`},
		{"probe, observed disagreeing", probeEnv, obsSplit, ocf.ErrGeneric, `4[2-5]s ago the tables disagreed`},
		{"probe, no observation", probeEnv, nil, unobserved, "never read the tables"},
	}
	for fault, fail := range unreadableFaults() {
		for _, c := range unreadable {
			t.Run(fault+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				routes := newFakeRoutes(here...)
				routes.failRead = func(ctx context.Context, _ int) error { return fail(ctx) }
				w := newWorld(t, nodeA, routes)
				w.params["routing_table"] = rtb1 + "," + rtb2
				w.putVIP()
				if c.obs != nil {
					o := *c.obs
					o.Time = time.Now().Add(-42 * time.Second)
					w.adapters.obs.last = &o
				}
				began := time.Now()
				r := w.run("monitor", monitorEnv(c.interval))
				requireCode(t, c.want, r)
				assert.Less(t, time.Since(began), 2*time.Second, "inside CRM_meta_timeout")
				assert.Contains(t, r.reason, outage, "the reason says the control plane is unreachable")
				assert.Regexp(t, c.reason, r.reason)
				assert.Equal(t, 1, routes.reads, "an unreadable answer is not read again")
				assert.Empty(t, routes.writes)
				assert.True(t, w.hasVIP(), "the VIP stays")
				if c.interval == probeEnv && c.obs != nil {
					assert.Regexp(t, "observation 4[2-5] s old", r.stderr, "the log says how old the answer is")
				}
				assert.Zero(t, w.adapters.obs.records, "a failed read is no observation")
			})
		}
	}
}

// The reason of a recurring monitor names the fault, so that the
// operator knows which of the control plane's parts failed.
func TestMonitorOutageReasonNamesTheFault(t *testing.T) {
	for fault, want := range map[string]string{
		"503":                            "DescribeRouteTables Unavailable",
		"throttling":                     "RequestLimitExceeded",
		"IAM denies DescribeRouteTables": "denied by IAM (DescribeRouteTables UnauthorizedOperation)",
		"credentials unavailable":        "no credentials from credential_process",
		"hang past the timeout":          "DescribeRouteTables: no answer within the action timeout",
		"connection refused":             "DescribeRouteTables: connection refused",
		"DNS":                            "DescribeRouteTables: lookup ec2.eu-west-1.amazonaws.com: no such host",
	} {
		routes := newFakeRoutes(table(rtb1, &nodeA))
		fail := unreadableFaults()[fault]
		routes.failRead = func(ctx context.Context, _ int) error { return fail(ctx) }
		w := newWorld(t, nodeA, routes)
		w.putVIP()
		r := w.run("monitor", monitorEnv(recurringEnv))
		requireCode(t, servingUnconfirmed, r)
		assert.Contains(t, r.reason, want, fault)
		assert.Contains(t, r.stderr, "WARNING", "%s: a warning, not an error", fault)
	}
}

// Identity unknown (IMDS down, no cache): the tables cannot be judged
// either, and the VIP is still served.
func TestMonitorIdentityFailureIsUnreadable(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA))
	w := newWorld(t, nodeA, routes)
	w.adapters.id.err = errors.New("IMDS: 503")
	w.putVIP()
	r := w.run("monitor", monitorEnv(recurringEnv))
	requireCode(t, servingUnconfirmed, r)
	assert.Contains(t, r.reason, "instance metadata service")
	assert.Zero(t, routes.reads)
}

// Every successful read is kept with what it found; after the API comes
// back the next monitor answers 0 by itself.
func TestMonitorRecordsAndRecovers(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA), table(rtb2, &nodeA))
	w := newWorld(t, nodeA, routes)
	w.params["routing_table"] = rtb1 + "," + rtb2
	w.putVIP()
	requireCode(t, ocf.Success, w.run("monitor", monitorEnv(recurringEnv)))
	o := w.adapters.obs.last
	require.NotNil(t, o)
	assert.Equal(t, CoverAll, o.Here)
	assert.Equal(t, []string{rtb1, rtb2}, o.Tables)
	assert.Equal(t, nodeA.InstanceID, o.Instance)
	assert.WithinDuration(t, time.Now(), o.Time, 5*time.Second)

	down := true
	routes.failRead = func(context.Context, int) error {
		if down {
			return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Code: "Unavailable", Err: errors.New("down")}
		}
		return nil
	}
	for range 3 {
		requireCode(t, servingUnconfirmed, w.run("monitor", monitorEnv(recurringEnv)))
	}
	r := w.run("monitor", monitorEnv(probeEnv))
	requireCode(t, servingUnconfirmed, r)
	assert.Contains(t, r.reason, "all tables routed here")
	down = false
	requireCode(t, ocf.Success, w.run("monitor", monitorEnv(recurringEnv)))

	// Someone moves one table: the next read keeps "some".
	routes.tables[rtb2].Routes[2] = Route{Destination: vipDst, InstanceID: nodeB.InstanceID, ENI: nodeB.PrimaryENI}
	requireCode(t, ocf.ErrGeneric, w.run("monitor", monitorEnv(recurringEnv)))
	assert.Equal(t, CoverSome, w.adapters.obs.last.Here)
	assert.Contains(t, w.adapters.obs.last.Elsewhere, rtb2)
}

// An observation of another configuration or another instance is not
// this resource's: it is ignored (and the probe answers as with none).
func TestProbeIgnoresForeignObservation(t *testing.T) {
	for name, o := range map[string]Observation{
		"other tables":      {Here: CoverAll, Tables: []string{rtb2}, Dest: vip + "/32", Instance: nodeA.InstanceID},
		"other destination": {Here: CoverAll, Tables: []string{rtb1}, Dest: "192.0.2.11/32", Instance: nodeA.InstanceID},
		"other instance":    {Here: CoverAll, Tables: []string{rtb1}, Dest: vip + "/32", Instance: nodeB.InstanceID},
	} {
		routes := newFakeRoutes(table(rtb1, &nodeA))
		routes.failRead = func(context.Context, int) error {
			return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Code: "Unavailable", Err: errors.New("down")}
		}
		w := newWorld(t, nodeA, routes)
		w.putVIP()
		o.Time = time.Now()
		w.adapters.obs.last = &o
		r := w.run("monitor", monitorEnv(probeEnv))
		requireCode(t, unobserved, r)
		assert.Contains(t, r.stderr, "ignoring the kept observation", name)
	}
	// A file the store does not trust is no observation, with a warning.
	routes := newFakeRoutes(table(rtb1, &nodeA))
	routes.failRead = func(context.Context, int) error {
		return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Code: "Unavailable", Err: errors.New("down")}
	}
	w := newWorld(t, nodeA, routes)
	w.putVIP()
	w.adapters.obs.err = errors.New("mode 0666, not 0600")
	r := w.run("monitor", monitorEnv(probeEnv))
	requireCode(t, unobserved, r)
	assert.Contains(t, r.stderr, "mode 0666")
}

// Issue 18 item 6: a failing answer is read again after a pause; a stale
// first read does not fail the monitor, a steady monitor reads once.
func TestMonitorConfirmsAFailingAnswer(t *testing.T) {
	t.Run("stale read, then fresh", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeA))
		// The first read shows the table before this node's write.
		routes.snapshot = map[string]Table{rtb1: table(rtb1, &nodeB)}
		routes.staleLeft = 1
		w := newWorld(t, nodeA, routes)
		w.agent.timing.confirmPause = 50 * time.Millisecond
		w.putVIP()
		began := time.Now()
		r := w.run("monitor", monitorEnv(recurringEnv))
		requireCode(t, ocf.Success, r)
		assert.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond, "the second read waits")
		assert.Equal(t, 2, routes.reads)
		assert.Contains(t, r.stderr, "read again, every table routes")
		assert.Equal(t, CoverAll, w.adapters.obs.last.Here, "the last read is what is kept")
	})
	t.Run("steady", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeA))
		w := newWorld(t, nodeA, routes)
		w.putVIP()
		for range 5 {
			requireCode(t, ocf.Success, w.run("monitor", monitorEnv(recurringEnv)))
		}
		assert.Equal(t, 5, routes.reads, "exactly one request per steady monitor")
	})
	t.Run("confirmation unreadable", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		routes.failRead = func(_ context.Context, n int) error {
			if n == 2 {
				return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Code: "RequestLimitExceeded", Err: errors.New("slow down")}
			}
			return nil
		}
		w := newWorld(t, nodeA, routes)
		w.putVIP()
		r := w.run("monitor", monitorEnv(recurringEnv))
		requireCode(t, servingUnconfirmed, r)
		assert.Contains(t, r.stderr, "reading them again failed")
	})
	t.Run("pause within the deadline", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		w := newWorld(t, nodeA, routes)
		w.agent.timing.confirmPause = time.Hour
		w.putVIP()
		began := time.Now()
		r := w.run("monitor", map[string]string{"OCF_RESKEY_CRM_meta_interval": recurringEnv, "OCF_RESKEY_CRM_meta_timeout": "2000"})
		requireCode(t, ocf.NotRunning, r)
		assert.Less(t, time.Since(began), 2*time.Second)
		assert.Equal(t, 2, routes.reads)
	})
}

// The longest IPv6 address still leaves every outage reason whole (w.run
// fails on a reason over 127 bytes or cut).
func TestOutageReasonsFitWithIPv6(t *testing.T) {
	const long = "2001:0db8:1234:5678:9abc:def0:1234:5678"
	dst := netip.MustParsePrefix(long + "/128")
	for _, here := range []Coverage{CoverAll, CoverNone, CoverSome, ""} {
		for _, interval := range []string{recurringEnv, probeEnv} {
			tb := table(rtb1, nil)
			tb.Routes = append(tb.Routes, Route{Destination: dst, InstanceID: nodeA.InstanceID})
			routes := newFakeRoutes(tb)
			routes.failRead = func(context.Context, int) error {
				return &APIError{Kind: KindDenied, Op: "DescribeRouteTables", Code: "UnauthorizedOperation", Err: errors.New("no")}
			}
			w := newWorld(t, nodeA, routes)
			w.params["ip"] = long
			w.adapters.vip.addrs[Address{Prefix: dst, Interface: "lo"}] = true
			if here != "" {
				w.adapters.obs.last = &Observation{Time: time.Now().Add(-100 * time.Hour), Here: here, Tables: []string{rtb1},
					Dest: dst.String(), Instance: nodeA.InstanceID}
			}
			r := w.run("monitor", monitorEnv(interval))
			assert.Contains(t, r.reason, outage, "%s %s", here, interval)
		}
	}
}
