package moto_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
	"github.com/suzlab/routeha/test/moto"
)

// One moto_server for the package (it takes seconds to start), reset
// before every test.
var (
	motoSrv  *moto.Server
	motoSkip string // why moto tests skip (moto_server absent, not root)
	motoErr  error  // moto_server present but unusable: moto tests fail
)

// motoRegion is the region of the moto fixture (the emulator's own).
const motoRegion = ec2emu.DefaultRegion

func TestMain(m *testing.M) {
	os.Exit(func() int {
		path, err := moto.Find()
		switch {
		case err != nil:
			motoSkip = err.Error()
			return m.Run()
		case os.Geteuid() != 0:
			motoSkip = "moto_server runs in a network namespace of its own, which needs root"
			return m.Run()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		srv, err := moto.Start(ctx, path)
		cancel()
		if err != nil {
			motoErr = fmt.Errorf("%s is installed but did not start: %w", path, err)
			return m.Run()
		}
		motoSrv = srv
		defer func() {
			if err := srv.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "moto:", err)
			}
		}()
		return m.Run()
	}())
}

func requireMoto(t *testing.T) {
	t.Helper()
	if motoSkip != "" {
		t.Skip("moto: " + motoSkip)
	}
	require.NoError(t, motoErr)
	require.NotNil(t, motoSrv)
}

// backend builds a World over one EC2 implementation.
type backend struct {
	name  string
	world func(t *testing.T) *moto.World
}

var backends = []backend{{"moto", motoWorld}, {"ec2emu", emuWorld}}

// motoWorld resets moto and creates the fixture in it through the API.
func motoWorld(t *testing.T) *moto.World {
	t.Helper()
	requireMoto(t)
	labtest.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, motoSrv.Reset(ctx))
	client := motoSrv.EC2(motoRegion)
	fix, err := moto.SetupMoto(ctx, client, motoRegion)
	require.NoError(t, err, "creating the fixture in moto")
	return newWorld(t, "moto", moto.NewProxy(motoSrv.URL(), motoSrv.Transport()), client, fix)
}

// emuWorld is the same world in our emulator (its standard fixture).
func emuWorld(t *testing.T) *moto.World {
	t.Helper()
	labtest.RequireRoot(t)
	emu := ec2emu.New(nil)
	srv := httptest.NewServer(emu) // 127.0.0.1, for the test's own client
	t.Cleanup(srv.Close)
	client := moto.NewEC2(srv.URL, ec2emu.DefaultRegion, srv.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fix, err := moto.EmulatorFixture(ctx, client)
	require.NoError(t, err)
	return newWorld(t, "ec2emu", emu, client, fix)
}

func newWorld(t *testing.T, name string, backend http.Handler, client *ec2.Client, fix moto.Fixture) *moto.World {
	t.Helper()
	w, err := moto.NewWorld(name, backend, client, fix, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, w.Close()) })
	return w
}

func forEachBackend(t *testing.T, fn func(t *testing.T, w *moto.World)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.world(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// writes returns the route writes among calls.
func writes(calls []moto.Call) []moto.Call {
	var out []moto.Call
	for _, c := range calls {
		if c.Action == "CreateRoute" || c.Action == "ReplaceRoute" || c.Action == "DeleteRoute" ||
			strings.HasPrefix(c.Action, "Modify") {
			out = append(out, c)
		}
	}
	return out
}

func describeCalls(calls []moto.Call) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "\n  %s table=%s dst=%s target=%s dryrun=%v status=%d", c.Action, c.Params.Get("RouteTableId"),
			c.Params.Get("DestinationCidrBlock"), c.Target(), c.DryRun(), c.Status)
	}
	return b.String()
}

func show(r lab.Result) string {
	return fmt.Sprintf("code %d, reason %q, %s\nstderr:\n%s", r.Code, r.Reason, r.Elapsed, r.Stderr)
}
