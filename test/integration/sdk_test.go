package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/test/harness"
)

// A profile that does not exist in the node's shared files is a
// configuration error (6) of validate-all and start whose reason names it,
// with or without the identity cached (then the EC2 client meets it).
func TestMissingProfileIsNotConfigured(t *testing.T) {
	e := newEnv(t)
	e.params["profile"] = "cluster"
	for _, action := range []string{"validate-all", "start"} {
		res := e.expect("a", action, harness.OCFConfigured)
		assert.Contains(t, res.Reason, `profile "cluster"`, action)
	}
	delete(e.params, "profile")
	e.expect("a", "start", harness.OCFSuccess)
	e.params["profile"] = "cluster"
	res := e.expect("a", "validate-all", harness.OCFConfigured)
	assert.Contains(t, res.Reason, `profile "cluster"`)
	delete(e.params, "profile")
	e.expect("a", "stop", harness.OCFSuccess)
}
