package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

func runStatus(t *testing.T, w *world, args ...string) (ocf.ExitCode, string) {
	t.Helper()
	var out, errOut lockedBuffer
	code := ocf.Run(context.Background(), w.agent.Definition(), append([]string{"routeha", "status"}, args...), w.env(nil), &out, &errOut)
	return code, out.String()
}

func TestStatusHealthy(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA), table(rtb2, &nodeA))
	w := newWorld(t, nodeA, routes)
	w.putVIP()
	code, out := runStatus(t, w, "--routing-table", rtb1+","+rtb2, "--json")
	require.Equal(t, ocf.Success, code, out)
	var st Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.NotNil(t, st.Instance)
	assert.Equal(t, nodeA.InstanceID, st.Instance.InstanceID)
	assert.True(t, st.VIP.Present)
	require.Len(t, st.Tables, 2)
	for _, tb := range st.Tables {
		assert.True(t, tb.Here)
		assert.Equal(t, nodeA.AZ, tb.AZ)
	}
	for _, c := range st.Checks {
		assert.True(t, c.OK, "%s: %s", c.Name, c.Message)
	}
	assert.Empty(t, routes.realWrites(), "status changes nothing")
}

func TestStatusBroken(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB))
	routes.srcDest[nodeA.PrimaryENI] = true
	// A table that is not configured routes the VIP elsewhere.
	other := table("rtb-0aaaaaaaaaaaaaaaa", &nodeB)
	routes.tables[other.ID] = &other
	w := newWorld(t, nodeA, routes)
	w.putVIP()
	code, out := runStatus(t, w)
	assert.Equal(t, ocf.NotRunning, code, out)
	assert.Contains(t, out, "[FAIL] source/destination check")
	assert.Contains(t, out, "rtb-0aaaaaaaaaaaaaaaa (not in routing_table)")
	assert.Contains(t, out, nodeB.AZ)
	assert.True(t, strings.Contains(out, "monitor: 7 OCF_NOT_RUNNING"), out)
	assert.Empty(t, routes.realWrites())
}

func TestStatusBadFlag(t *testing.T) {
	w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeA)))
	code, _ := runStatus(t, w, "--no-such-flag")
	assert.Equal(t, ocf.ErrArgs, code)
	code, out := runStatus(t, w, "--ip", "nonsense")
	assert.Equal(t, ocf.ErrConfigured, code)
	assert.Contains(t, out, `ip="nonsense"`)
}

// During an outage, status says the control plane is unreachable, that
// the monitor is degraded, and how old the last good read is.
func TestStatusDegraded(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA))
	w := newWorld(t, nodeA, routes)
	w.putVIP()
	code, out := runStatus(t, w)
	require.Equal(t, ocf.Success, code, out)
	assert.Regexp(t, `control plane\s+reachable`, out)
	assert.Regexp(t, `last good read\s+all tables routed here, 0s ago`, out)

	routes.failRead = func(context.Context, int) error {
		return &APIError{Kind: KindTransient, Op: "DescribeRouteTables", Code: "Unavailable", Err: errors.New("down")}
	}
	w.adapters.obs.last.Time = w.adapters.obs.last.Time.Add(-90 * time.Second)
	code, out = runStatus(t, w)
	assert.Equal(t, servingUnconfirmed, code, out)
	assert.Contains(t, out, "unreachable: DescribeRouteTables Unavailable")
	assert.Regexp(t, `last good read\s+all tables routed here, 1m30s ago`, out)
	assert.Contains(t, out, "monitor: 190 OCF_DEGRADED, degraded")

	code, out = runStatus(t, w, "--json")
	assert.Equal(t, servingUnconfirmed, code)
	var st Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.NotNil(t, st.LastRead)
	assert.Equal(t, 90, st.LastRead.AgeSeconds)
	assert.Equal(t, CoverAll, st.LastRead.Here)
	assert.Equal(t, "OCF_DEGRADED", st.Monitor.Name)
}
