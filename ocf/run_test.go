package ocf_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

// recorder is a handler that remembers what it was given.
type recorder struct {
	mu       sync.Mutex
	calls    int
	req      *ocf.Request
	deadline time.Time
	hasDL    bool
	result   error
}

func (r *recorder) handle(ctx context.Context, req *ocf.Request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.req = req
	r.deadline, r.hasDL = ctx.Deadline()
	return r.result
}

type testAgent struct {
	agent                   *ocf.Agent
	start, stop, mon, valid *recorder
	cmdArgs                 []string
	cmdEnv                  *ocf.Env
	cmdCalls                int
}

func newTestAgent() *testAgent {
	ta := &testAgent{start: &recorder{}, stop: &recorder{}, mon: &recorder{}, valid: &recorder{}}
	ta.agent = &ocf.Agent{
		Name: "testra",
		Actions: []ocf.Action{
			{Name: "start", Timeout: 60 * time.Second, Handler: ta.start.handle},
			{Name: "stop", Timeout: 30 * time.Second, Handler: ta.stop.handle},
			{Name: "monitor", Timeout: 20 * time.Second, Handler: ta.mon.handle},
			{Name: "validate-all", Timeout: 10 * time.Second, Handler: ta.valid.handle},
		},
		Commands: map[string]ocf.Command{
			"status": func(ctx context.Context, args []string, env *ocf.Env, stdout, stderr io.Writer) ocf.ExitCode {
				ta.cmdCalls++
				ta.cmdArgs = args
				ta.cmdEnv = env
				_, _ = io.WriteString(stdout, "status output\n")
				return ocf.ErrInstalled
			},
		},
	}
	return ta
}

func run(t *testing.T, a *ocf.Agent, args []string, environ []string) (ocf.ExitCode, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := ocf.Run(context.Background(), a, args, environ, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func exitReasons(stderr string) []string {
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "ocf-exit-reason:") {
			out = append(out, strings.TrimPrefix(line, "ocf-exit-reason:"))
		}
	}
	return out
}

func TestRunMetaData(t *testing.T) {
	ta := newTestAgent()
	code, stdout, stderr := run(t, ta.agent, []string{"testra", "meta-data"}, nil)
	assert.Equal(t, ocf.Success, code)
	assert.Equal(t, string(ta.agent.XML()), stdout, "meta-data is rendered from the declaration")
	assert.Contains(t, stdout, `<action name="start" timeout="60s" />`)
	assert.Empty(t, stderr)
	assert.Zero(t, ta.start.calls+ta.stop.calls+ta.mon.calls+ta.valid.calls)
}

func TestRunUsageAndHelp(t *testing.T) {
	for _, action := range []string{"usage", "help"} {
		ta := newTestAgent()
		code, stdout, stderr := run(t, ta.agent, []string{"testra", action}, nil)
		assert.Equal(t, ocf.Success, code, action)
		assert.Contains(t, stdout, "usage: testra {", action)
		for _, name := range []string{"start", "stop", "monitor", "validate-all", "meta-data", "usage"} {
			assert.Contains(t, stdout, name, action)
		}
		assert.Contains(t, stdout, "testra status", "commands are listed")
		assert.Empty(t, stderr, action)
	}
}

func TestRunNoAction(t *testing.T) {
	ta := newTestAgent()
	code, stdout, stderr := run(t, ta.agent, []string{"testra"}, nil)
	assert.Equal(t, ocf.ErrArgs, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "usage: testra")

	code, _, _ = run(t, ta.agent, nil, nil)
	assert.Equal(t, ocf.ErrArgs, code)
}

func TestRunUnknownAction(t *testing.T) {
	for _, action := range []string{"reload-agent", "frobnicate", "", "START", "validate-all-x"} {
		ta := newTestAgent()
		code, stdout, stderr := run(t, ta.agent, []string{"testra", action}, nil)
		assert.Equal(t, ocf.ErrUnimplemented, code, action)
		assert.Empty(t, stdout, action)
		assert.Contains(t, stderr, "usage: testra", action)
		reasons := exitReasons(stderr)
		require.Len(t, reasons, 1, action)
		assert.Contains(t, reasons[0], "unknown action", action)
		assert.Contains(t, reasons[0], `"`+action+`"`, action)
		assert.Zero(t, ta.start.calls+ta.stop.calls+ta.mon.calls+ta.valid.calls)
	}
}

func TestRunUnknownActionReasonIsSanitised(t *testing.T) {
	ta := newTestAgent()
	name := "evil\nocf-exit-reason:forged" + strings.Repeat("x", 200)
	code, _, stderr := run(t, ta.agent, []string{"testra", name}, nil)
	assert.Equal(t, ocf.ErrUnimplemented, code)
	reasons := exitReasons(stderr)
	require.Len(t, reasons, 1, "an action name must not forge a second exit reason: %q", stderr)
	assert.Less(t, len(reasons[0]), 120, "the echoed name is shortened")
}

func TestRunValidateAlias(t *testing.T) {
	ta := newTestAgent()
	code, _, _ := run(t, ta.agent, []string{"testra", "validate"}, nil)
	assert.Equal(t, ocf.Success, code)
	require.Equal(t, 1, ta.valid.calls)
	// The default timeout is validate-all's (10 s, less the margin of 1 s).
	require.True(t, ta.valid.hasDL)
	left := time.Until(ta.valid.deadline)
	assert.Greater(t, left, 8*time.Second)
	assert.LessOrEqual(t, left, 9*time.Second)
}

func TestRunHandlerResultMapping(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		code   ocf.ExitCode
		reason string
	}{
		{"success", nil, ocf.Success, ""},
		{"not running", ocf.Errorf(ocf.NotRunning, "VIP 192.0.2.10 is not on lo"), ocf.NotRunning, "VIP 192.0.2.10 is not on lo"},
		{"configured", ocf.Errorf(ocf.ErrConfigured, "parameter ip: is required but not set"), ocf.ErrConfigured, "parameter ip: is required but not set"},
		{"perm wrapped", errors.Join(errors.New("ctx"), ocf.Errorf(ocf.ErrPerm, "denied")), ocf.ErrPerm, "ctx denied"},
		{"plain", errors.New("boom"), ocf.ErrGeneric, "boom"},
		{"installed", &ocf.Error{Code: ocf.ErrInstalled, Reason: "no netlink"}, ocf.ErrInstalled, "no netlink"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ta := newTestAgent()
			ta.start.result = c.err
			code, stdout, stderr := run(t, ta.agent, []string{"testra", "start"}, []string{"OCF_RESOURCE_INSTANCE=vip"})
			assert.Equal(t, c.code, code)
			assert.Empty(t, stdout)
			reasons := exitReasons(stderr)
			if c.err == nil {
				assert.Empty(t, reasons)
				return
			}
			require.Len(t, reasons, 1, stderr)
			assert.Equal(t, c.reason, reasons[0])
		})
	}
}

func TestRunExitReasonIsOneLine(t *testing.T) {
	ta := newTestAgent()
	ta.monitor().result = ocf.Errorf(ocf.ErrGeneric, "  first line\nsecond line\nthird\n")
	code, _, stderr := run(t, ta.agent, []string{"testra", "monitor"}, []string{"OCF_RESKEY_CRM_meta_interval=10000"})
	assert.Equal(t, ocf.ErrGeneric, code)
	reasons := exitReasons(stderr)
	require.Len(t, reasons, 1, stderr)
	assert.Equal(t, "first line second line third", reasons[0])
	assert.Contains(t, stderr, "ocf-exit-reason:first line second line third\n")
}

// A carriage return (EC2 messages and Windows-edited values carry CRLF)
// must not survive into the exit reason either: terminals and crm_mon
// would show the text after it over the start of the line.
func TestRunExitReasonHasNoCarriageReturn(t *testing.T) {
	ta := newTestAgent()
	ta.start.result = ocf.Errorf(ocf.ErrGeneric, "ReplaceRoute: InternalError: first\r\nsecond\rthird")
	_, _, stderr := run(t, ta.agent, []string{"testra", "start"}, nil)
	reasons := exitReasons(stderr)
	require.Len(t, reasons, 1, stderr)
	assert.NotContains(t, reasons[0], "\r")
	assert.Contains(t, reasons[0], "first")
	assert.Contains(t, reasons[0], "third")
}

func (ta *testAgent) monitor() *recorder { return ta.mon }

func TestRunDeadlineFromCRMMetaTimeout(t *testing.T) {
	cases := []struct {
		name     string
		environ  []string
		action   string
		deadline time.Duration // from now
	}{
		{"pacemaker 20s", []string{"OCF_RESKEY_CRM_meta_timeout=20000"}, "start", 18 * time.Second},
		{"pacemaker 5s: margin at least a second", []string{"OCF_RESKEY_CRM_meta_timeout=5000"}, "start", 4 * time.Second},
		{"pacemaker 120s: margin capped at 2s", []string{"OCF_RESKEY_CRM_meta_timeout=120000"}, "stop", 118 * time.Second},
		{"unset: start default", nil, "start", 58 * time.Second},
		{"unset: stop default", nil, "stop", 28 * time.Second},
		{"zero: default", []string{"OCF_RESKEY_CRM_meta_timeout=0"}, "monitor", 18 * time.Second},
		{"garbage: default", []string{"OCF_RESKEY_CRM_meta_timeout=soon"}, "monitor", 18 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ta := newTestAgent()
			rec := map[string]*recorder{"start": ta.start, "stop": ta.stop, "monitor": ta.mon}[c.action]
			before := time.Now()
			code, _, _ := run(t, ta.agent, []string{"testra", c.action}, c.environ)
			after := time.Now()
			require.Equal(t, ocf.Success, code)
			require.Equal(t, 1, rec.calls)
			require.True(t, rec.hasDL, "the handler's context has a deadline")
			// The deadline was set between before and after.
			assert.False(t, rec.deadline.Before(before.Add(c.deadline)), "deadline %s too early", rec.deadline.Sub(before))
			assert.False(t, rec.deadline.After(after.Add(c.deadline)), "deadline %s too late", rec.deadline.Sub(after))
		})
	}
}

func TestMargin(t *testing.T) {
	assert.Equal(t, 250*time.Millisecond, ocf.Margin(time.Second), "a quarter of a short timeout")
	assert.Equal(t, time.Second, ocf.Margin(5*time.Second), "at least a second")
	assert.Equal(t, 1500*time.Millisecond, ocf.Margin(15*time.Second), "a tenth")
	assert.Equal(t, 2*time.Second, ocf.Margin(20*time.Second))
	assert.Equal(t, 2*time.Second, ocf.Margin(time.Hour))
	assert.Equal(t, time.Duration(0), ocf.Margin(0))
}

func TestRunRequestFields(t *testing.T) {
	ta := newTestAgent()
	environ := []string{"OCF_RESKEY_ip=192.0.2.10", "OCF_RESOURCE_INSTANCE=vip"}
	code, _, _ := run(t, ta.agent, []string{"testra", "monitor"}, environ)
	require.Equal(t, ocf.Success, code)
	req := ta.mon.req
	require.NotNil(t, req)
	assert.True(t, req.Probe, "monitor without interval is a probe")
	assert.NotNil(t, req.Log)
	v, ok := req.Env.Param("ip")
	assert.True(t, ok)
	assert.Equal(t, "192.0.2.10", v)

	ta = newTestAgent()
	_, _, _ = run(t, ta.agent, []string{"testra", "monitor"}, []string{"OCF_RESKEY_CRM_meta_interval=10000"})
	assert.False(t, ta.mon.req.Probe, "a recurring monitor is not a probe")

	ta = newTestAgent()
	_, _, _ = run(t, ta.agent, []string{"testra", "start"}, nil)
	assert.False(t, ta.start.req.Probe)
}

func TestRunCommandsDispatch(t *testing.T) {
	ta := newTestAgent()
	code, stdout, stderr := run(t, ta.agent, []string{"testra", "status", "--json", "x"}, []string{"OCF_RESKEY_ip=192.0.2.10"})
	assert.Equal(t, ocf.ErrInstalled, code, "the command's own exit code is returned")
	assert.Equal(t, "status output\n", stdout)
	assert.Empty(t, exitReasons(stderr))
	require.Equal(t, 1, ta.cmdCalls)
	assert.Equal(t, []string{"--json", "x"}, ta.cmdArgs)
	v, _ := ta.cmdEnv.Param("ip")
	assert.Equal(t, "192.0.2.10", v)
	assert.Zero(t, ta.start.calls+ta.stop.calls+ta.mon.calls+ta.valid.calls)

	ta = newTestAgent()
	code, _, _ = run(t, ta.agent, []string{"testra", "status"}, nil)
	assert.Equal(t, ocf.ErrInstalled, code)
	assert.Empty(t, ta.cmdArgs)
}

func TestRunDebugLogOnlyWithHADebug(t *testing.T) {
	ta := newTestAgent()
	_, _, stderr := run(t, ta.agent, []string{"testra", "start"}, nil)
	assert.NotContains(t, stderr, "DEBUG")

	ta = newTestAgent()
	_, _, stderr = run(t, ta.agent, []string{"testra", "start"}, []string{"HA_DEBUG=1"})
	assert.Contains(t, stderr, "DEBUG: start finished")
}
