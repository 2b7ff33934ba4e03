package cluster_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/cluster"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network, mount and PID namespaces)")
	}
	for _, tool := range []string{"corosync", "pacemakerd", "crm_mon", "crm_resource", "cibadmin", "nsenter", "unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (bash test/setup/deps.sh installs it)", tool)
		}
	}
}

// A one-node cluster runs ocf:pacemaker:Dummy; a graceful stop and a kill
// both leave no process of the node behind.
func TestOneNodeDummy(t *testing.T) {
	needRoot(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := cluster.New(cluster.Config{Dir: t.TempDir(), Logf: t.Logf, Env: []string{"ROUTEHA_TEST_MARK=xyzzy"}})
	require.NoError(t, err)
	defer func() {
		if t.Failed() {
			t.Log(c.Logs(60))
		}
		assert.NoError(t, c.Close())
	}()
	n := c.Nodes[0]
	start := time.Now()
	require.NoError(t, c.Start(ctx))
	require.NoError(t, c.WaitOnline(ctx))
	t.Logf("online after %s", time.Since(start).Round(time.Millisecond))

	host, err := n.Run(ctx, "hostname")
	require.NoError(t, err)
	assert.Equal(t, n.Name, strings.TrimSpace(host))

	_, err = n.Run(ctx, "crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "false")
	require.NoError(t, err)
	_, err = n.Run(ctx, "cibadmin", "--create", "--scope", "resources", "--xml-text",
		`<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>`)
	require.NoError(t, err)
	r, err := n.WaitStarted(ctx, "d", n.Name)
	require.NoError(t, err)
	assert.Equal(t, "ocf:pacemaker:Dummy", r.Agent)

	// pacemakerd's environment reaches the daemons it starts.
	ps, err := n.Processes()
	require.NoError(t, err)
	var execd int
	for _, p := range ps {
		if p.Comm == "pacemaker-execd" {
			execd = p.PID
		}
	}
	require.NotZero(t, execd, "pacemaker-execd in %v", ps)
	env, err := os.ReadFile("/proc/" + itoa(execd) + "/environ")
	require.NoError(t, err)
	assert.Contains(t, string(env), "ROUTEHA_TEST_MARK=xyzzy")

	sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
	defer scancel()
	require.NoError(t, n.Stop(sctx))
	assert.False(t, n.Running())
	_, err = os.Stat("/proc/" + itoa(execd))
	assert.True(t, os.IsNotExist(err), "pacemaker-execd survived the stop")

	// Restart on the same directories, then kill.
	require.NoError(t, n.Start(ctx))
	require.NoError(t, n.WaitOnline(ctx))
	ps, err = n.Processes()
	require.NoError(t, err)
	require.NoError(t, n.Kill())
	for _, p := range ps {
		err := syscall.Kill(p.PID, 0)
		assert.ErrorIs(t, err, syscall.ESRCH, "process %d (%s) survived the kill", p.PID, p.Comm)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
