package ocf_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

// A CRM_meta_timeout whose milliseconds do not fit a time.Duration used to
// wrap around (18446744073710 ms became 0.45 ms). It is refused: the
// action's default applies, and the log says so.
func TestRunRefusesOverflowingTimeout(t *testing.T) {
	for _, v := range []string{"18446744073710", "9223372036855", "9223372036854775807"} {
		ta := newTestAgent()
		code, _, stderr := run(t, ta.agent, []string{"testra", "start"}, []string{"OCF_RESKEY_CRM_meta_timeout=" + v})
		assert.Equal(t, ocf.Success, code, v)
		require.True(t, ta.start.hasDL, v)
		left := time.Until(ta.start.deadline)
		assert.Greater(t, left, 50*time.Second, "%s: the start action's default (60 s) less the margin", v)
		assert.LessOrEqual(t, left, 60*time.Second, v)
		assert.Contains(t, stderr, "WARNING", v)
		assert.Contains(t, stderr, "CRM_meta_timeout="+v, v)
		assert.Contains(t, stderr, "refused", v)
	}
	// The largest value that fits is taken as it is.
	d, ok := ocf.NewEnv([]string{"OCF_RESKEY_CRM_meta_timeout=9223372036854"}).Timeout()
	assert.True(t, ok)
	assert.Equal(t, 9223372036854*time.Millisecond, d)
}

// An interval that overflows is still a recurring monitor, never a probe.
func TestEnvIntervalOverflowIsNotAProbe(t *testing.T) {
	env := ocf.NewEnv([]string{"OCF_RESKEY_CRM_meta_interval=18446744073710"})
	assert.False(t, env.IsProbe("monitor"))
	assert.Greater(t, env.Interval(), time.Duration(0))
}

// The agent's redaction hook applies to every line that leaves: stderr,
// HA_LOGFILE, the exit reason, and the output of commands.
func TestRunRedactsEverything(t *testing.T) {
	ta := newTestAgent()
	ta.agent.Redact = func(s string) string { return strings.ReplaceAll(s, "hunter2", "[redacted]") }
	ta.start.result = ocf.Fail(ocf.ErrGeneric, "bad password hunter2", errors.New("the whole story: hunter2"))
	logFile := filepath.Join(t.TempDir(), "log")
	code, _, stderr := run(t, ta.agent, []string{"testra", "start"}, []string{"HA_LOGFILE=" + logFile, "HA_DEBUG=1"})
	assert.Equal(t, ocf.ErrGeneric, code)
	assert.NotContains(t, stderr, "hunter2")
	assert.Contains(t, stderr, "ocf-exit-reason:bad password [redacted]")
	logged, err := os.ReadFile(logFile)
	require.NoError(t, err)
	assert.NotContains(t, string(logged), "hunter2")
	assert.Contains(t, string(logged), "the whole story: [redacted]")

	ta.agent.Commands["leak"] = func(_ context.Context, _ []string, _ *ocf.Env, stdout, stderr io.Writer) ocf.ExitCode {
		_, _ = io.WriteString(stdout, "out hunter2\n")
		_, _ = io.WriteString(stderr, "err hunter2\n")
		return ocf.Success
	}
	_, stdout, stderr := run(t, ta.agent, []string{"testra", "leak"}, nil)
	assert.Equal(t, "out [redacted]\n", stdout)
	assert.Equal(t, "err [redacted]\n", stderr)
}
