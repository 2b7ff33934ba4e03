package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/test/lab"
)

// A profile that does not exist in the node's shared files is a
// configuration error (6) of validate-all and start whose reason names it,
// with or without the identity cached (then the EC2 client meets it).
func TestMissingProfileIsNotConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Params["profile"] = "cluster"
	for _, action := range []string{"validate-all", "start"} {
		res := e.Expect("a", action, lab.OCFConfigured)
		assert.Contains(t, res.Reason, `profile "cluster"`, action)
	}
	delete(e.Params, "profile")
	e.Expect("a", "start", lab.OCFSuccess)
	e.Params["profile"] = "cluster"
	res := e.Expect("a", "validate-all", lab.OCFConfigured)
	assert.Contains(t, res.Reason, `profile "cluster"`)
	delete(e.Params, "profile")
	e.Expect("a", "stop", lab.OCFSuccess)
}
