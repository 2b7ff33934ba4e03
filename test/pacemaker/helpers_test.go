// Package pacemaker_test checks routeha against the real Pacemaker tool chain:
// make install, ocf-tester, xmllint and the ra-api-1 DTD, crmsh, pcs,
// crm_resource, a one-node cluster in namespaces, the man page and the .deb.
//
// The tests need root and the Debian packages test/setup/deps.sh installs;
// they skip (saying why) only when not root or when a tool is missing. With
// ROUTEHA_TRANSCRIPTS=<dir> they write what each tool printed to <dir>, the
// source of the transcripts in doc/pacemaker.md.
package pacemaker_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/cluster"
	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

const (
	agentName = "ocf:suzlab:routeha"
	vip       = "192.0.2.10"
	vipCIDR   = vip + "/32"
	dtd       = "/usr/share/resource-agents/ra-api-1.dtd"
)

var tables = ec2emu.FixtureRouteTable1 + "," + ec2emu.FixtureRouteTable2

// install runs `make install DESTDIR=<dir>` once per test process, into a
// world-readable directory (ocf-tester runs meta-data as nobody), removed by
// TestMain.
var install struct {
	once sync.Once
	dir  string
	out  string
	err  error
}

func installed(t *testing.T) (destdir, agent, manpage string) {
	t.Helper()
	labtest.NeedTools(t, "make", "install")
	install.once.Do(func() {
		root, err := lab.ModuleRoot()
		if err != nil {
			install.err = err
			return
		}
		dir, err := os.MkdirTemp("", "routeha-pacemaker-")
		if err != nil {
			install.err = err
			return
		}
		install.dir = dir
		if err := os.Chmod(dir, 0o755); err != nil {
			install.err = err
			return
		}
		cmd := exec.Command("make", "-s", "-C", root, "install", "DESTDIR="+dir)
		out, err := cmd.CombinedOutput()
		install.out = string(out)
		install.err = err
	})
	require.NoError(t, install.err, "make install DESTDIR=%s:\n%s", install.dir, install.out)
	return install.dir,
		filepath.Join(install.dir, "usr/lib/ocf/resource.d/suzlab/routeha"),
		filepath.Join(install.dir, "usr/share/man/man7/ocf_suzlab_routeha.7")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if install.dir != "" {
		_ = os.RemoveAll(install.dir)
	}
	if distBuild.dir != "" {
		_ = os.RemoveAll(distBuild.dir)
	}
	os.Exit(code)
}

// agentBin is the binary under test: $ROUTEHA_BIN (make test sets it), else
// one the lab builds.
func agentBin(t *testing.T) string { return labtest.AgentBinary(t) }

// stagedAgents returns a directory holding suzlab/routeha, to overlay on
// /usr/lib/ocf/resource.d with cluster.AgentCommand.
func stagedAgents(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ocf")
	require.NoError(t, cluster.StageAgents(dir, []cluster.Agent{{Provider: "suzlab", Type: "routeha", Path: agentBin(t)}}))
	return dir
}

// runTool runs cmd, returns its combined output and exit code (-1 when it
// could not run).
func runTool(cmd *exec.Cmd) (string, int) {
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), cluster.ExitCode(err)
}

// Metadata is the part of the agent's meta-data the tests compare with.
type Metadata struct {
	Name       string `xml:"name,attr"`
	Parameters []struct {
		Name      string `xml:"name,attr"`
		Required  string `xml:"required,attr"`
		Unique    string `xml:"unique,attr"`
		LongDesc  string `xml:"longdesc"`
		ShortDesc string `xml:"shortdesc"`
		Content   struct {
			Type    string  `xml:"type,attr"`
			Default *string `xml:"default,attr"`
		} `xml:"content"`
	} `xml:"parameters>parameter"`
	Actions []struct {
		Name     string `xml:"name,attr"`
		Timeout  string `xml:"timeout,attr"`
		Interval string `xml:"interval,attr"`
		Depth    string `xml:"depth,attr"`
	} `xml:"actions>action"`
}

func metadata(t *testing.T, bin string) (*Metadata, []byte) {
	t.Helper()
	out, err := exec.Command(bin, "meta-data").Output()
	require.NoError(t, err, "%s meta-data", bin)
	var md Metadata
	require.NoError(t, xml.Unmarshal(out, &md))
	require.NotEmpty(t, md.Parameters, "meta-data lists no parameter")
	return &md, out
}

var spaces = regexp.MustCompile(`\s+`)

// squash collapses white space, so that text wrapped by a tool compares
// equal to the meta-data's.
func squash(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// transcript appends "$ cmdline" and output to $ROUTEHA_TRANSCRIPTS/name.txt
// when that variable is set.
func transcript(t *testing.T, name, cmdline, output string) {
	t.Helper()
	labtest.Transcript(t, name, cmdline, output)
}

// world is the lab's fixture with Source/Dest. Check off on both
// instances, as the Routing-Based HA pattern requires.
func world(t *testing.T) *labtest.World {
	t.Helper()
	return labtest.NewWorld(t, lab.WithState(ec2emu.StandardFixture().SourceDestCheckOff()))
}

// newCluster is a one-node cluster ("node1") in node a's namespaces,
// running routeha against w; it is closed when the test ends, with its
// logs when the test failed.
func newCluster(t *testing.T, w *labtest.World) *cluster.Cluster {
	t.Helper()
	a := w.Node("a")
	c, err := cluster.New(cluster.Config{Hide: lab.HiddenHostFiles(),
		Name:   "routeha",
		Dir:    t.TempDir(),
		Logf:   t.Logf,
		Nodes:  []cluster.NodeSpec{{Name: "node1", Netns: a.NS.Name, Addr: "127.0.0.1", Env: awsEnv(a)}},
		Agents: []cluster.Agent{{Provider: "suzlab", Type: "routeha", Path: agentBin(t)}},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.Logs(120))
		}
		assert.NoError(t, c.Close())
	})
	return c
}

// awsEnv is the environment that makes the agent on node n talk to the
// emulator and to n's IMDS fake.
func awsEnv(n *lab.Node) []string {
	return []string{
		"AWS_ENDPOINT_URL_EC2=" + n.EC2URL,
		"AWS_ENDPOINT_URL_STS=" + n.EC2URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + n.IMDSURL,
		"AWS_ACCESS_KEY_ID=" + n.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=routeha-test-secret",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"HA_RSCTMP=" + n.RscTmp,
		"HOME=" + n.Home,
	}
}

// routeTarget returns "eni/instance" (the emulator's Route.Target) of the
// VIP's route in table, or "" when the table has none.
func routeTarget(t *testing.T, w *labtest.World, table string) string {
	t.Helper()
	rt := w.Emu.Snapshot().RouteTable(table)
	require.NotNil(t, rt, "no table %s", table)
	r := rt.Route(vipCIDR)
	if r == nil {
		return ""
	}
	return r.Target()
}

// assertRoutedToA checks that both fixture tables route the VIP to node
// a's ENI and instance, as a start on node a writes them.
func assertRoutedToA(t *testing.T, w *labtest.World) {
	t.Helper()
	want := ec2emu.FixtureENIA + "/" + ec2emu.FixtureInstanceA
	assert.Equal(t, want, routeTarget(t, w, ec2emu.FixtureRouteTable1))
	assert.Equal(t, want, routeTarget(t, w, ec2emu.FixtureRouteTable2))
}

// vipOn tells whether the VIP is on node n's lo.
func vipOn(t *testing.T, n *lab.Node) bool {
	t.Helper()
	has, err := n.NS.HasAddr("lo", vip)
	require.NoError(t, err)
	return has
}

// requestsBy counts the emulator's requests signed with node n's key.
func requestsBy(w *labtest.World, n *lab.Node) int {
	var c int
	for _, e := range w.Emu.Log() {
		if e.Principal == n.AccessKeyID {
			c++
		}
	}
	return c
}
