package integration

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/harness"
)

// statusCount is an http.Handler in front of another that counts the
// requests it answered and the ones it answered with a 2xx.
type statusCount struct {
	next http.Handler
	mu   sync.Mutex
	all  int
	ok   int
}

func (s *statusCount) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &harness.StatusWriter{ResponseWriter: w}
	s.next.ServeHTTP(sw, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all++
	if sw.Status >= 200 && sw.Status < 300 {
		s.ok++
	}
}

func (s *statusCount) counts() (all, ok int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all, s.ok
}

func (s *statusCount) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all, s.ok = 0, 0
}

// nitro makes node's actions run on a "Nitro instance": its DMI asset tag
// (bind-mounted in a private mount namespace per action) names it.
func nitro(node *harness.Node) func(*harness.Runner) {
	return func(r *harness.Runner) { r.AssetTag = node.InstanceID }
}

// withoutIMDS puts node a's IMDS down behind a counter of its answers and
// returns the counter.
func (e *env) withoutIMDS() *statusCount {
	a := e.w.Node("a")
	a.IMDS.SetFault(imdsDown())
	c := &statusCount{next: a.IMDS}
	a.IMDSURL = harness.Serve(e.t, a.NS, c)
	return c
}

// With IMDS down on a Nitro instance and region set, start learns who it
// is from one DescribeInstances, made with the node's own credentials
// even though routing_table_role is set (the role is for the route
// tables), and the next monitor asks neither service anything.
func TestNoIMDSOnNitroWithRegion(t *testing.T) {
	e := newEnv(t)
	a := e.w.Node("a")
	imds := e.withoutIMDS()
	const role = "arn:aws:iam::123456789012:role/routeha"
	e.w.Emu.SetRoleMode(role) // route writes need the role
	e.params["routing_table_role"] = role
	e.params["region"] = ec2emu.DefaultRegion

	res := e.expect("a", "start", harness.OCFSuccess, nitro(a))
	t.Logf("start without IMDS: %v", res.Elapsed)
	assert.Less(t, res.Elapsed, 20*time.Second)
	assert.Equal(t, ec2emu.FixtureENIA, e.target(rtb1))
	assert.Equal(t, ec2emu.FixtureENIA, e.target(rtb2))
	assert.True(t, e.hasVIP("a"))
	all, ok := imds.counts()
	assert.NotZero(t, all, "IMDS is asked first")
	assert.Zero(t, ok, "no IMDS request succeeded")
	assert.Equal(t, 1, e.w.Emu.Count("DescribeInstances"))
	for _, l := range e.w.Emu.Log() {
		switch l.Action {
		case "DescribeInstances":
			assert.Equal(t, a.AccessKeyID, l.Principal, "DescribeInstances with the node's own credentials")
			assert.Equal(t, a.InstanceID, l.Params["InstanceId.1"])
		case "ReplaceRoute", "CreateRoute":
			assert.NotEqual(t, a.AccessKeyID, l.Principal, "route writes through the role")
		}
	}

	e.w.Emu.ResetLog()
	imds.reset()
	e.expect("a", "monitor", harness.OCFSuccess, recurring, nitro(a))
	assert.Zero(t, e.w.Emu.Count("DescribeInstances"), "the identity is cached")
	assert.Equal(t, 1, e.w.Emu.Count("DescribeRouteTables"), "the monitor's one read")
	all, _ = imds.counts()
	assert.Zero(t, all, "the cache matches the asset tag: IMDS is not asked")

	e.expect("a", "stop", harness.OCFSuccess, nitro(a))
	assert.False(t, e.hasVIP("a"))
	e.expect("a", "monitor", harness.OCFNotRunning, nitro(a))
}

// Without region the fallback cannot run; the exit reason says what to set.
func TestNoIMDSOnNitroWithoutRegion(t *testing.T) {
	e := newEnv(t)
	a := e.w.Node("a")
	e.withoutIMDS()
	res := e.expect("a", "start", harness.OCFGeneric, nitro(a), timeout(5*time.Second))
	assert.Less(t, res.Elapsed, 5*time.Second)
	assert.Contains(t, res.Reason, "instance metadata service failed")
	assert.Contains(t, res.Reason, "setting region")
	assert.Zero(t, e.w.Emu.Count("DescribeInstances"))
	assert.False(t, e.hasVIP("a"))
	require.Empty(t, e.target(rtb1))
}
