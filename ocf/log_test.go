package ocf_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

// lockedBuffer is a stderr that the race detector can vouch for only if
// the logger serialises its writes: it does not lock itself, but records
// any overlapping Write.
type lockedBuffer struct {
	buf     bytes.Buffer
	inWrite int32
	overlap bool
	mu      sync.Mutex // guards overlap/inWrite bookkeeping only
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.inWrite > 0 {
		b.overlap = true
	}
	b.inWrite++
	b.mu.Unlock()
	n, err := b.buf.Write(p) // unguarded: a data race unless the logger serialises
	b.mu.Lock()
	b.inWrite--
	b.mu.Unlock()
	return n, err
}

func TestLoggerLevelsOnStderr(t *testing.T) {
	var stderr bytes.Buffer
	l := ocf.NewLogger("routeha(vip)", ocf.NewEnv(nil), &stderr)
	defer l.Close()
	l.Infof("info %d", 1)
	l.Warnf("warn %s", "two")
	l.Errorf("error\n") // trailing newlines are trimmed, not doubled
	l.Debugf("debug hidden")
	assert.Equal(t, "INFO: info 1\nWARNING: warn two\nERROR: error\n", stderr.String())
}

func TestLoggerDebugOnlyWithHADebug(t *testing.T) {
	for _, env := range [][]string{{"HA_DEBUG=1"}, {"HA_debug=1"}, {"HA_DEBUG=true"}} {
		var stderr bytes.Buffer
		l := ocf.NewLogger("t", ocf.NewEnv(env), &stderr)
		l.Debugf("detail %d", 7)
		assert.Equal(t, "DEBUG: detail 7\n", stderr.String(), env)
		l.Close()
	}
	for _, env := range [][]string{nil, {"HA_DEBUG=0"}, {"HA_DEBUG=no"}, {"HA_debug=false"}} {
		var stderr bytes.Buffer
		l := ocf.NewLogger("t", ocf.NewEnv(env), &stderr)
		l.Debugf("detail")
		assert.Empty(t, stderr.String(), env)
		l.Close()
	}
}

func TestLoggerNilIsSafe(t *testing.T) {
	var l *ocf.Logger
	assert.NotPanics(t, func() {
		l.Infof("x")
		l.Debugf("x")
		l.Errorf("x")
		l.Close()
	})
}

func TestLoggerWritesTaggedLinesToHALogfile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ha.log")
	var stderr bytes.Buffer
	env := ocf.NewEnv([]string{"HA_LOGFILE=" + file})
	l := ocf.NewLogger("routeha(vip)", env, &stderr)
	l.Infof("started on %s", "lo:0")
	l.Debugf("not written without HA_DEBUG")
	l.Errorf("failed")
	l.Close()

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 2, string(data))
	prefix := fmt.Sprintf("routeha(vip)[%d]:\t", os.Getpid())
	assert.True(t, strings.HasPrefix(lines[0], prefix), lines[0])
	assert.True(t, strings.HasSuffix(lines[0], " INFO: started on lo:0"), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], prefix), lines[1])
	assert.True(t, strings.HasSuffix(lines[1], " ERROR: failed"), lines[1])
	assert.NotContains(t, string(data), "not written")
	// stderr gets the lines too.
	assert.Equal(t, "INFO: started on lo:0\nERROR: failed\n", stderr.String())

	// The file is appended to, not truncated, by the next run.
	l2 := ocf.NewLogger("routeha(vip)", env, &bytes.Buffer{})
	l2.Warnf("again")
	l2.Close()
	data, err = os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(string(data), "\n"))
}

func TestLoggerUnwritableLogfileStillLogsToStderr(t *testing.T) {
	var stderr bytes.Buffer
	env := ocf.NewEnv([]string{"HA_LOGFILE=" + filepath.Join(t.TempDir(), "no", "such", "dir", "ha.log")})
	l := ocf.NewLogger("t", env, &stderr)
	l.Errorf("still here")
	l.Close()
	assert.Equal(t, "ERROR: still here\n", stderr.String())
}

func TestLoggerSyslogFacilityWithoutDaemon(t *testing.T) {
	// No syslog daemon (or one) must not change what reaches stderr.
	for _, fac := range []string{"daemon", "LOCAL7", "none", "bogus"} {
		var stderr bytes.Buffer
		l := ocf.NewLogger("t", ocf.NewEnv([]string{"HA_LOGFACILITY=" + fac}), &stderr)
		l.Infof("hello")
		l.Close()
		assert.Equal(t, "INFO: hello\n", stderr.String(), fac)
	}
}

func TestLoggerConcurrentUse(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ha.log")
	var stderr lockedBuffer
	l := ocf.NewLogger("routeha(vip)", ocf.NewEnv([]string{"HA_LOGFILE=" + file, "HA_DEBUG=1"}), &stderr)
	defer l.Close()

	const goroutines, perG = 16, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				switch i % 4 {
				case 0:
					l.Debugf("g%d i%d", g, i)
				case 1:
					l.Infof("g%d i%d", g, i)
				case 2:
					l.Warnf("g%d i%d", g, i)
				default:
					l.Errorf("g%d i%d", g, i)
				}
			}
		}()
	}
	wg.Wait()

	assert.False(t, stderr.overlap, "the logger wrote to stderr from two goroutines at once")
	check := func(name, text string) {
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		require.Len(t, lines, goroutines*perG, name)
		seen := map[string]bool{}
		for _, line := range lines {
			i := strings.LastIndex(line, ": g")
			require.GreaterOrEqual(t, i, 0, "torn %s line %q", name, line)
			msg := line[i+2:]
			assert.False(t, seen[msg], "%s line %q twice", name, msg)
			seen[msg] = true
		}
		for g := range goroutines {
			for i := range perG {
				assert.True(t, seen[fmt.Sprintf("g%d i%d", g, i)], "%s lost g%d i%d", name, g, i)
			}
		}
	}
	check("stderr", stderr.buf.String())
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	check("HA_LOGFILE", string(data))
}
