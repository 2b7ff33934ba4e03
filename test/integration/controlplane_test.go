package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/harness"
)

// Issue 17: with the VIP here and the EC2 API down, the recurring monitor
// must report the VIP as served (degraded), not fail: a failure makes
// Pacemaker stop the resource, which takes the VIP down.
func TestMonitorDuringAPIOutageIsNotAFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.expect("a", "start", harness.OCFSuccess)
	e.w.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	res := e.run("a", "monitor", recurring, timeout(5*time.Second))
	assert.NotEqual(t, harness.OCFGeneric, res.Code, "reason %q", res.Reason)
	assert.NotEqual(t, harness.OCFNotRunning, res.Code, "reason %q", res.Reason)
}
