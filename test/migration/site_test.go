// Package migration_test is issue 9's test: a Pacemaker configuration
// written for ocf:heartbeat:aws-vpc-move-ip switches to ocf:suzlab:routeha by
// changing the agent's name only, and keeps its outcome.
//
// A "site" is the lab's two-node world seen from node a the way
// aws-vpc-move-ip expects a node to look: a dummy eth0 carrying the fixture
// ENI's MAC, the instance metadata service at 169.254.169.254 (inside the
// node's namespace only), a shared AWS config with [profile cluster], and the
// emulator in role mode, so that route writes must carry credentials that
// STS issued for routing_table_role.
//
// The tests need root and the Debian packages test/setup/deps.sh installs
// (pacemaker, crmsh, pcs, resource-agents, awscli); they skip, saying why,
// only when not root or when one is missing. With ROUTEHA_TRANSCRIPTS=<dir>
// they write what each tool printed to <dir>/migration-*.txt, the source of
// the transcripts in doc/migration.md.
package migration_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/suzlab/routeha/test/cluster"
	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

const (
	vip      = "192.0.2.10"
	vipCIDR  = vip + "/32"
	roleArn  = "arn:aws:iam::123456789012:role/routeha"
	imdsAddr = "169.254.169.254"
	// The static key of [profile cluster] in the node's shared config.
	profileKey = "AKIAMIGRATIONCLUSTER"
	// Where Debian's awscli puts the aws command (aws-vpc-move-ip's default).
	debianAWS = "/usr/bin/aws"
	oldAgent  = "ocf:heartbeat:aws-vpc-move-ip"
	newAgent  = "ocf:suzlab:routeha"
	oldScript = "/usr/lib/ocf/resource.d/heartbeat/aws-vpc-move-ip"
)

var tables = ec2emu.FixtureRouteTable1 + "," + ec2emu.FixtureRouteTable2

// configured is the resource's configuration as an aws-vpc-move-ip user
// wrote it; the crm snippet and the pcs command are built from it, and the
// CIBs both tools write must hold exactly these instance attributes.
var configured = map[string]string{
	"ip":                 vip,
	"routing_table":      tables,
	"interface":          "eth0",
	"profile":            "cluster",
	"region":             ec2emu.DefaultRegion,
	"lookup_type":        "NetworkInterfaceId",
	"monapi":             "true",
	"routing_table_role": roleArn,
}

// paramOrder is the order in which the snippet lists the parameters.
var paramOrder = []string{"ip", "routing_table", "interface", "profile", "region", "lookup_type", "monapi", "routing_table_role"}

// site is node a of a fresh lab world, prepared as described in the
// package comment.
type site struct {
	w      *labtest.World
	n      *lab.Node
	awscli string // a wrapper of Debian's aws that adds --endpoint-url
	env    []string
}

func newSite(t *testing.T) *site {
	t.Helper()
	// The Routing-Based HA pattern needs the Source/Dest. check off on both
	// instances (aws-vpc-move-ip never looks; routeha verifies by default).
	w := labtest.NewWorld(t, lab.WithState(ec2emu.StandardFixture().SourceDestCheckOff()))
	// Before the switch node b held the VIP: both tables route it there.
	// (aws-vpc-move-ip can only replace an existing route.)
	for _, tb := range strings.Split(tables, ",") {
		require.NoError(t, w.Emu.SetRoute(tb, vipCIDR, ec2emu.FixtureENIB))
	}
	w.Emu.SetRoleMode(roleArn)
	return siteOn(t, w, "a", nil)
}

// siteOn prepares node name of w as the package comment says: eth0 with
// the node's MAC, IMDS at its well-known address (imds, or the node's own
// when nil), [profile cluster].
func siteOn(t *testing.T, w *labtest.World, name string, imds http.Handler) *site {
	t.Helper()
	n := w.Node(name)
	if imds == nil {
		imds = n.IMDS
	}
	ns := n.NS.Name
	addNIC(t, ns, "eth0", n.MAC)
	out, err := exec.Command("ip", "-n", ns, "addr", "add", imdsAddr+"/32", "dev", "lo").CombinedOutput()
	require.NoError(t, err, "ip -n %s addr add %s/32 dev lo: %s", ns, imdsAddr, out)
	// The node's IMDS at the well-known address, inside the namespace only.
	ln, err := n.NS.Listen("tcp", imdsAddr+":80")
	require.NoError(t, err)
	srv := &http.Server{Handler: imds, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	// [profile cluster] with static keys and the region.
	aws := filepath.Join(n.Home, ".aws")
	require.NoError(t, os.MkdirAll(aws, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(aws, "config"), []byte(
		"[profile cluster]\nregion = "+ec2emu.DefaultRegion+"\naws_access_key_id = "+profileKey+
			"\naws_secret_access_key = migration-test-secret\n"), 0o600))

	wrapper := filepath.Join(t.TempDir(), "aws")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+debianAWS+" --endpoint-url "+n.EC2URL+" \"$@\"\n"), 0o755))

	return &site{w: w, n: n, awscli: wrapper, env: []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"OCF_ROOT=/usr/lib/ocf",
		"HOME=" + n.Home,
		"HA_RSCTMP=" + n.RscTmp,
		"LC_ALL=C.UTF-8",
		"AWS_PAGER=",
		// routeha reaches the emulator through the SDK's per-service
		// endpoint variables; Debian's aws CLI (2.9) ignores them, hence
		// the wrapper.
		"AWS_ENDPOINT_URL_EC2=" + n.EC2URL,
		"AWS_ENDPOINT_URL_STS=" + n.EC2URL,
	}}
}

// addNIC makes a NIC with the given MAC inside namespace ns: a dummy link
// where the kernel has the dummy driver, else one end of a veth pair whose
// other end stays in the same namespace.
func addNIC(t *testing.T, ns, name, mac string) {
	t.Helper()
	if out, err := exec.Command("ip", "-n", ns, "link", "add", name, "type", "dummy").CombinedOutput(); err != nil {
		t.Logf("no dummy link (%s); %s is a veth inside the namespace", strings.TrimSpace(string(out)), name)
		out, err := exec.Command("ip", "-n", ns, "link", "add", name, "type", "veth", "peer", "name", name+"-peer").CombinedOutput()
		require.NoError(t, err, "ip link add %s type veth: %s", name, out)
		out, err = exec.Command("ip", "-n", ns, "link", "set", name+"-peer", "up").CombinedOutput()
		require.NoError(t, err, "ip link set %s-peer up: %s", name, out)
	}
	for _, args := range [][]string{
		{"link", "set", name, "address", mac},
		{"link", "set", name, "up"},
	} {
		out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
		require.NoError(t, err, "ip -n %s %s: %s", ns, strings.Join(args, " "), out)
	}
}

// result is one agent action's outcome.
type result struct {
	Code   int
	Stderr string
	Reason string
}

// run runs an agent action in the node's namespace as Pacemaker's executor
// would: OCF_RESKEY_* from params, the site's environment.
func (s *site) run(t *testing.T, bin, action string, params map[string]string, extra ...string) result {
	t.Helper()
	ctx := labtest.Context(t, 3*time.Minute)
	cmd := s.n.NS.Command(ctx, bin, action)
	cmd.Env = append(append(append([]string{}, s.env...),
		"OCF_RESOURCE_INSTANCE=vip", "OCF_RESKEY_CRM_meta_timeout=60000"), extra...)
	for _, k := range sortedKeys(params) {
		cmd.Env = append(cmd.Env, "OCF_RESKEY_"+k+"="+params[k])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	code := cluster.ExitCode(err)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %s: %v", bin, action, err)
	}
	return result{Code: code, Stderr: stderr.String(), Reason: lab.ExitReason(stderr.String())}
}

// vipLabel returns the label of the VIP's address on eth0, or "" when eth0
// does not hold it.
func (s *site) vipLabel(t *testing.T) string {
	t.Helper()
	h, err := s.n.NS.Netlink()
	require.NoError(t, err)
	defer h.Close()
	link, err := h.LinkByName("eth0")
	require.NoError(t, err)
	as, err := h.AddrList(link, netlink.FAMILY_V4)
	require.NoError(t, err)
	for _, a := range as {
		if a.IP.String() == vip {
			ones, _ := a.Mask.Size()
			require.Equal(t, 32, ones, "the VIP's prefix length on eth0")
			return a.Label
		}
	}
	return ""
}

// targets returns "eni/instance" of the VIP's route per table.
func (s *site) targets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	st := s.w.Emu.Snapshot()
	for _, tb := range strings.Split(tables, ",") {
		rt := st.RouteTable(tb)
		require.NotNil(t, rt, tb)
		if r := rt.Route(vipCIDR); r != nil {
			out[tb] = r.Target()
		} else {
			out[tb] = ""
		}
	}
	return out
}

// routeWrites returns the successful route writes (not DryRun) since the
// last ResetLog, and checks that each carried a key STS issued for the role.
func (s *site) routeWrites(t *testing.T) []ec2emu.LogEntry {
	t.Helper()
	var writes []ec2emu.LogEntry
	for _, e := range s.w.Emu.Log() {
		if (e.Action == "CreateRoute" || e.Action == "ReplaceRoute") && !e.DryRun && e.Code == "" {
			writes = append(writes, e)
		}
	}
	for _, e := range writes {
		require.True(t, strings.HasPrefix(e.Principal, "ASIA"), "%s %s by %q, not by an STS-issued key", e.Action, e.Params["RouteTableId"], e.Principal)
		role, ok := s.w.Emu.RoleOf(e.Principal)
		require.True(t, ok, "%s: key %s was not issued by AssumeRole", e.Action, e.Principal)
		require.Equal(t, roleArn, role, "%s: key %s belongs to another role", e.Action, e.Principal)
	}
	return writes
}

// assumeRoleCallers returns the keys that called AssumeRole successfully.
func (s *site) assumeRoleCallers() []string {
	seen := map[string]bool{}
	for _, e := range s.w.Emu.Log() {
		if e.Action == "AssumeRole" && e.Code == "" {
			seen[e.Principal] = true
		}
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// transcript appends "$ cmdline" and output to
// $ROUTEHA_TRANSCRIPTS/migration-<name>.txt when that variable is set.
func transcript(t *testing.T, name, cmdline, output string) {
	t.Helper()
	labtest.Transcript(t, "migration-"+name, cmdline, output)
}

func codeLine(r result) string {
	s := "rc=" + strconv.Itoa(r.Code)
	if r.Reason != "" {
		s += " reason=" + r.Reason
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }
