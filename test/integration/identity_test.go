package integration

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
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
	sw := &lab.StatusWriter{ResponseWriter: w}
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
func nitro(node *lab.Node) labtest.Opt {
	return func(r *lab.Runner) { r.AssetTag = node.InstanceID }
}

// withoutIMDS puts node a's IMDS down behind a counter of its answers and
// returns the counter.
func (e *env) withoutIMDS() *statusCount {
	a := e.W.Node("a")
	a.IMDS.SetFault(imdsDown())
	c := &statusCount{next: a.IMDS}
	a.IMDSURL = labtest.Serve(e.T, a.NS, c)
	return c
}

// With IMDS down on a Nitro instance and region set, start learns who it
// is from one DescribeInstances, made with the node's own credentials
// even though routing_table_role is set (the role is for the route
// tables), and the next monitor asks neither service anything.
func TestNoIMDSOnNitroWithRegion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.W.Node("a")
	imds := e.withoutIMDS()
	const role = "arn:aws:iam::123456789012:role/routeha"
	e.W.Emu.SetRoleMode(role) // route writes need the role
	e.Params["routing_table_role"] = role
	e.Params["region"] = ec2emu.DefaultRegion

	res := e.Expect("a", "start", lab.OCFSuccess, nitro(a))
	t.Logf("start without IMDS: %v", res.Elapsed)
	assert.Less(t, res.Elapsed, 20*time.Second)
	assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1))
	assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb2))
	assert.True(t, e.HasVIP("a"))
	all, ok := imds.counts()
	assert.NotZero(t, all, "IMDS is asked first")
	assert.Zero(t, ok, "no IMDS request succeeded")
	assert.Equal(t, 1, e.W.Emu.Count("DescribeInstances"))
	for _, l := range e.W.Emu.Log() {
		switch l.Action {
		case "DescribeInstances":
			assert.Equal(t, a.AccessKeyID, l.Principal, "DescribeInstances with the node's own credentials")
			assert.Equal(t, a.InstanceID, l.Params["InstanceId.1"])
		case "ReplaceRoute", "CreateRoute":
			assert.NotEqual(t, a.AccessKeyID, l.Principal, "route writes through the role")
		}
	}

	e.W.Emu.ResetLog()
	imds.reset()
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring, nitro(a))
	assert.Zero(t, e.W.Emu.Count("DescribeInstances"), "the identity is cached")
	assert.Equal(t, 1, e.W.Emu.Count("DescribeRouteTables"), "the monitor's one read")
	all, _ = imds.counts()
	assert.Zero(t, all, "the cache matches the asset tag: IMDS is not asked")

	e.Expect("a", "stop", lab.OCFSuccess, nitro(a))
	assert.False(t, e.HasVIP("a"))
	e.Expect("a", "monitor", lab.OCFNotRunning, nitro(a))
}

// Without region the fallback cannot run; the exit reason says what to set.
func TestNoIMDSOnNitroWithoutRegion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.W.Node("a")
	e.withoutIMDS()
	res := e.Expect("a", "start", lab.OCFGeneric, nitro(a), labtest.Timeout(5*time.Second))
	assert.Less(t, res.Elapsed, 5*time.Second)
	assert.Contains(t, res.Reason, "instance metadata service failed")
	assert.Contains(t, res.Reason, "setting region")
	assert.Zero(t, e.W.Emu.Count("DescribeInstances"))
	assert.False(t, e.HasVIP("a"))
	require.Empty(t, e.Target(rtb1))
}
