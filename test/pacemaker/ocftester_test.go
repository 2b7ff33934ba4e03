package pacemaker_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/suzlab/routeha/test/lab/labtest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runOCFTester runs ocf-tester on agent inside node a's network namespace of
// a fresh world, and checks that it passed every test and that the agent
// really worked against the emulator. It returns the output.
func runOCFTester(t *testing.T, agent string) string {
	t.Helper()
	w := world(t)
	a := w.Node("a")
	ctx := labtest.Context(t, 2*time.Minute)
	args := []string{"-n", "vip", "-o", "ip=" + vip, "-o", "routing_table=" + tables, agent}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", a.NS.Name, "ocf-tester"}, args...)...)
	cmd.Env = append(os.Environ(), awsEnv(a)...)
	start := time.Now()
	out, code := runTool(cmd)
	t.Logf("ocf-tester took %s", time.Since(start).Round(time.Millisecond))
	require.Equal(t, 0, code, "ocf-tester:\n%s", out)
	assert.Contains(t, out, agent+" passed all tests")
	assert.NotRegexp(t, regexp.MustCompile(`(?m)^\* rc=`), out, "ocf-tester reported a failed check")

	// ocf-tester's starts pointed both tables at node a (creating the
	// routes), and its last stop removed the VIP.
	assertRoutedToA(t, w)
	assert.False(t, vipOn(t, a), "VIP left on lo after ocf-tester's final stop")
	assert.Positive(t, requestsBy(w, a), "the emulator saw no request from node a")
	return out
}

// ocf-tester passes every test it runs on the agent that make install
// installed, against the emulator and node a's IMDS, in a network namespace.
func TestOCFTester(t *testing.T) {
	labtest.NeedTools(t, "ocf-tester", "ip", "su", "xmllint")
	t.Parallel()
	_, agent, _ := installed(t)
	out := runOCFTester(t, agent)
	transcript(t, "ocf-tester", "ocf-tester -n vip -o ip="+vip+" -o routing_table="+tables+" /usr/lib/ocf/resource.d/suzlab/routeha",
		strings.ReplaceAll(out, agent, "/usr/lib/ocf/resource.d/suzlab/routeha"))
}
