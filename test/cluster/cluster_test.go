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

// Two nodes in namespaces the cluster creates, joined by a veth pair: both
// come online; killing the node that runs a resource (one SIGKILL, by PID)
// leaves no process of it and the survivor takes the resource over.
func TestTwoNodeFailover(t *testing.T) {
	needRoot(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := cluster.New(cluster.Config{
		Dir:        t.TempDir(),
		Logf:       t.Logf,
		Nodes:      []cluster.NodeSpec{{}, {}},
		Properties: map[string]string{"stonith-enabled": "false"},
	})
	require.NoError(t, err)
	defer func() {
		if t.Failed() {
			t.Log(c.Logs(60))
		}
		assert.NoError(t, c.Close())
	}()
	require.Len(t, c.Nodes, 2)
	assert.Equal(t, "10.99.0.1", c.Nodes[0].Addr)
	assert.NotEqual(t, c.Nodes[0].Netns, c.Nodes[1].Netns)
	start := time.Now()
	require.NoError(t, c.Start(ctx))
	require.NoError(t, c.WaitOnline(ctx))
	t.Logf("both online after %s", time.Since(start).Round(time.Millisecond))

	n1 := c.Node("node1")
	_, err = n1.Run(ctx, "cibadmin", "--create", "--scope", "resources", "--xml-text",
		`<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>`)
	require.NoError(t, err)
	r, err := n1.WaitStarted(ctx, "d", "")
	require.NoError(t, err)
	require.Len(t, r.On, 1)
	active, standby := c.Node(r.On[0]), c.Node(otherName(r.On[0]))
	require.NotNil(t, active)
	require.NotNil(t, standby)

	ps, err := active.Processes()
	require.NoError(t, err)
	killed := time.Now()
	require.NoError(t, active.Kill())
	for _, p := range ps {
		assert.ErrorIs(t, syscall.Kill(p.PID, 0), syscall.ESRCH, "process %d (%s) survived the kill", p.PID, p.Comm)
	}
	_, err = standby.WaitStarted(ctx, "d", standby.Name)
	require.NoError(t, err)
	t.Logf("%s runs d %s after %s was killed", standby.Name, time.Since(killed).Round(time.Millisecond), active.Name)
	st, err := standby.Status(ctx)
	require.NoError(t, err)
	assert.False(t, st.Node(active.Name).Online)
}

func otherName(name string) string {
	if name == "node1" {
		return "node2"
	}
	return "node1"
}
