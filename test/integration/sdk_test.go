package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/test/harness"
)

// A profile that does not exist in the node's shared files is a
// configuration error (6) whose reason names it, for every action that
// reaches AWS, with or without the identity cached; the VIP is not added.
func TestMissingProfileIsNotConfigured(t *testing.T) {
	e := newEnv(t)
	e.params["profile"] = "cluster"
	for _, action := range []string{"validate-all", "start"} {
		res := e.expect("a", action, harness.OCFConfigured)
		assert.Contains(t, res.Reason, `profile "cluster"`, action)
	}
	// With the identity cached by a start that worked, monitor meets the
	// missing profile at the EC2 client.
	delete(e.params, "profile")
	e.expect("a", "start", harness.OCFSuccess)
	e.params["profile"] = "cluster"
	res := e.expect("a", "monitor", harness.OCFConfigured, recurring)
	assert.Contains(t, res.Reason, `profile "cluster"`)
	delete(e.params, "profile")
	e.expect("a", "stop", harness.OCFSuccess)
}
