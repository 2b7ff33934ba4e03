package moto_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/moto"
)

// TestOCFTester runs Debian's ocf-tester on node a, inside a's namespace,
// against moto and against our emulator, with both tables routing the VIP
// to b at the outset.
func TestOCFTester(t *testing.T) {
	tester, err := exec.LookPath("ocf-tester")
	if err != nil {
		t.Fatalf("ocf-tester is missing (Debian's resource-agents; test/setup/deps.sh installs it): %v", err)
	}
	forEachBackend(t, func(t *testing.T, w *moto.World) {
		ctx := ctxT(t)
		for _, table := range w.Fix.Tables {
			require.NoError(t, w.SetRoute(ctx, table, vipCIDR, w.Fix.B.ENI))
		}
		a := w.Agent("a")
		cmd := w.Nodes["a"].NS.Command(ctx, tester, "-n", "vip", "-o", "ip="+vip,
			"-o", "routing_table="+strings.Join(w.Fix.Tables, ","), a.Bin)
		cmd.Env = a.Env(nil)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		require.NoError(t, err, "ocf-tester against %s:\n%s", w.Backend, out.String())
		assert.Contains(t, out.String(), "passed all tests")
		requireRoutesTo(t, w, w.Fix.A, "NetworkInterfaceId") // its starts moved the route to a
		assert.False(t, hasVIP(t, w.Nodes["a"]), "ocf-tester ends with stop")
	})
}
