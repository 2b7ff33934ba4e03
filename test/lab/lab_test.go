package lab_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/suzlab/routeha/internal/platform"
	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// TestMain doubles as a stand-in agent: with HARNESS_HELPER set, the test
// binary reports its environment and what it can reach, then exits 7.
func TestMain(m *testing.M) {
	if os.Getenv("HARNESS_HELPER") != "" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

func helper() int {
	names := append([]string(nil), os.Environ()...)
	sort.Strings(names)
	fmt.Println("ARGS", strings.Join(os.Args[1:], " "))
	for _, kv := range names {
		fmt.Println("ENV", kv)
	}
	get := func(u string) string {
		c := http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(u)
		if err != nil {
			return "ERR " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	fmt.Println("EC2", get(os.Getenv("AWS_ENDPOINT_URL_EC2")+"/_emu/counts"))
	fmt.Println("IMDS", get(os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")+"/_imds/counts"))
	fmt.Fprintln(os.Stderr, "ocf-exit-reason:first")
	fmt.Fprintln(os.Stderr, "some log line")
	fmt.Fprintln(os.Stderr, "ocf-exit-reason:helper done")
	return 7
}

func TestNetnsIsolation(t *testing.T) {
	ns := labtest.NewNetns(t)
	ctx := context.Background()

	ln, err := ns.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello from the netns\n"))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	// A process inside the namespace reaches the listener...
	out, err := ns.Command(ctx, "cat", "/proc/net/tcp").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, strings.ToUpper(string(out)), fmt.Sprintf(":%04X", port), "listener visible in the netns")
	var got string
	require.NoError(t, ns.Do(func() error {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		got = string(b)
		return err
	}))
	assert.Equal(t, "hello from the netns\n", got)

	// ...the host does not.
	hostTCP, err := os.ReadFile("/proc/self/net/tcp")
	require.NoError(t, err)
	assert.NotContains(t, strings.ToUpper(string(hostTCP)), fmt.Sprintf("0100007F:%04X 00000000:0000 0A", port))

	// Addresses added inside stay inside.
	vip := "192.0.2.55/32"
	require.NoError(t, ns.AddAddr("lo:0", vip))
	has, err := ns.HasAddr("lo", vip)
	require.NoError(t, err)
	assert.True(t, has)
	out, err = ns.Command(ctx, "ip", "-4", "addr", "show", "dev", "lo").CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), "192.0.2.55/32")
	assert.Contains(t, string(out), "lo:0")
	hostLo, err := netlink.LinkByName("lo")
	require.NoError(t, err)
	hostAddrs, err := netlink.AddrList(hostLo, netlink.FAMILY_ALL)
	require.NoError(t, err)
	for _, a := range hostAddrs {
		assert.NotEqual(t, "192.0.2.55", a.IP.String(), "the VIP leaked to the host")
	}
	require.NoError(t, ns.DelAddr("lo:0", vip))
	has, err = ns.HasAddr("lo", "192.0.2.55")
	require.NoError(t, err)
	assert.False(t, has)
	require.NoError(t, ns.AddAddr("lo", "2001:db8::55/128"))
	has, err = ns.HasAddr("lo", "2001:db8::55")
	require.NoError(t, err)
	assert.True(t, has)
}

func TestWorldRunner(t *testing.T) {
	w := labtest.NewWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := w.Node("a")
	r := &lab.Runner{Bin: os.Args[0], Node: a, Resource: "vip", Interval: 10 * time.Second}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "host-profile")
	res := r.Run(ctx, "monitor", map[string]string{"ip": "192.0.2.10", "routing_table": ec2emu.FixtureRouteTable1}, "HARNESS_HELPER=1")
	require.NoError(t, res.Err, res.Stderr)
	assert.Equal(t, 7, res.Code)
	assert.Equal(t, "helper done", res.Reason)
	assert.Contains(t, res.Stdout, "ARGS monitor\n")
	for _, want := range []string{
		"ENV OCF_ROOT=/usr/lib/ocf", "ENV OCF_RESOURCE_INSTANCE=vip", "ENV OCF_RESKEY_ip=192.0.2.10",
		"ENV OCF_RESKEY_routing_table=" + ec2emu.FixtureRouteTable1, "ENV OCF_RESKEY_CRM_meta_timeout=20000",
		"ENV OCF_RESKEY_CRM_meta_interval=10000", "ENV HA_RSCTMP=" + a.RscTmp, "ENV HOME=" + a.Home,
		"ENV AWS_ENDPOINT_URL_EC2=" + a.EC2URL, "ENV AWS_EC2_METADATA_SERVICE_ENDPOINT=" + a.IMDSURL,
		"ENV AWS_ACCESS_KEY_ID=" + a.AccessKeyID,
	} {
		assert.Contains(t, res.Stdout, want+"\n")
	}
	assert.NotContains(t, res.Stdout, "AWS_REGION")
	assert.NotContains(t, res.Stdout, "AWS_PROFILE")
	assert.Contains(t, res.Stdout, "EC2 200 {")
	assert.Contains(t, res.Stdout, "IMDS 200 {")

	// Each node has its own lo: a VIP on a is not on b.
	b := w.Node("b")
	require.NoError(t, a.NS.AddAddr("lo", "198.51.100.7/32"))
	hasA, err := a.NS.HasAddr("lo", "198.51.100.7")
	require.NoError(t, err)
	hasB, err := b.NS.HasAddr("lo", "198.51.100.7")
	require.NoError(t, err)
	assert.True(t, hasA)
	assert.False(t, hasB)

	// Both nodes see the same emulator state, each through its own listener.
	require.NoError(t, w.Emu.SetRoute(ec2emu.FixtureRouteTable1, "192.0.2.10/32", b.ENI))
	for _, n := range []*lab.Node{a, b} {
		var body string
		resp, err := n.NS.HTTPClient().Get(n.EC2URL + "/_emu/state")
		require.NoError(t, err)
		bb, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		body = string(bb)
		assert.Contains(t, body, "192.0.2.10/32", n.Name)
	}
	// The host cannot reach the node's services on the host's loopback (they live in the netns).
	c := http.Client{Timeout: time.Second}
	if resp, err := c.Get(a.IMDSURL + "/_imds/counts"); err == nil {
		resp.Body.Close()
		t.Logf("note: something on the host answers on %s", a.IMDSURL)
	}
	assert.Zero(t, a.IMDS.Total(), "admin paths are not counted")
}

func TestExitReason(t *testing.T) {
	assert.Equal(t, "b", lab.ExitReason("x\nocf-exit-reason:a\nocf-exit-reason: b \n"))
	assert.Equal(t, "", lab.ExitReason("nothing"))
}

// With AssetTag set, the action reads it where routeha does, and only
// the action: the host's file (or its absence) stays as it was.
func TestRunnerAssetTag(t *testing.T) {
	labtest.RequireRoot(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	ns := labtest.NewNetns(t)
	hostBefore, hostErr := os.ReadFile(platform.AssetTagPath)
	r := &lab.Runner{Bin: "cat", Node: &lab.Node{Name: "x", NS: ns}, AssetTag: ec2emu.FixtureInstanceA}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := r.Run(ctx, platform.AssetTagPath, nil)
	require.NoError(t, res.Err)
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, ec2emu.FixtureInstanceA+"\n", res.Stdout)

	hostAfter, err := os.ReadFile(platform.AssetTagPath)
	assert.Equal(t, hostErr == nil, err == nil, "the tag's existence on the host changed")
	assert.Equal(t, string(hostBefore), string(hostAfter))
}

func TestRunnerTimeoutKills(t *testing.T) {
	labtest.RequireRoot(t)
	ns := labtest.NewNetns(t)
	r := &lab.Runner{Bin: "sleep", Node: &lab.Node{Name: "x", NS: ns}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res := r.Run(ctx, "30", nil)
	assert.Less(t, res.Elapsed, 10*time.Second)
	assert.NotZero(t, res.Code)
}
