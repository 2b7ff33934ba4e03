package migration_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suzlab/routeha/test/lab"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/cluster"
	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// crmBefore is the configuration an aws-vpc-move-ip user has, as crmsh
// takes it (crm configure load update).
func crmBefore() string {
	var b strings.Builder
	// No fence agent exists here; crm verifies the CIB it writes and
	// refuses one with STONITH on and no STONITH resource.
	b.WriteString("property cib-bootstrap-options: stonith-enabled=false\n")
	b.WriteString("primitive vip " + oldAgent + " \\\n\tparams")
	for _, k := range paramOrder {
		b.WriteString(" " + k + "=" + configured[k])
	}
	b.WriteString(" \\\n\top start interval=0s timeout=180s \\\n\top stop interval=0s timeout=180s \\\n\top monitor interval=60s timeout=30s\n")
	return b.String()
}

// pcsBefore is the same configuration as one pcs command line.
func pcsBefore() string {
	s := "resource create vip " + oldAgent
	for _, k := range paramOrder {
		s += " " + k + "=" + configured[k]
	}
	return s + " op start interval=0s timeout=180s op stop interval=0s timeout=180s op monitor interval=60s timeout=30s"
}

// switchAgent is the whole migration: the agent's name, nothing else.
func switchAgent(t *testing.T, config string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(config, oldAgent), "the configuration names %s once", oldAgent)
	after := strings.Replace(config, oldAgent, newAgent, 1)
	require.Equal(t, strings.Replace(config, oldAgent, "", 1), strings.Replace(after, newAgent, "", 1),
		"the switch changed more than the agent's name")
	return after
}

// cibPrimitive is the part of a CIB the migration looks at.
type cibPrimitive = cluster.Primitive

func readVIP(t *testing.T, path string) (cibPrimitive, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var c struct {
		Primitives []cibPrimitive `xml:"configuration>resources>primitive"`
	}
	require.NoError(t, xml.Unmarshal(raw, &c), "CIB %s", path)
	require.Len(t, c.Primitives, 1, "CIB %s", path)
	p := c.Primitives[0]
	require.Equal(t, "vip", p.ID)
	params := map[string]string{}
	for _, nv := range p.Params {
		params[nv.Name] = nv.Value
	}
	return p, params
}

func emptyCIB(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("cibadmin", "--empty").Output()
	require.NoError(t, err, "cibadmin --empty")
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// stagedAgents returns a directory with suzlab/routeha, to overlay on
// /usr/lib/ocf/resource.d (cluster.AgentCommand); heartbeat's agents stay
// visible below it.
func stagedAgents(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ocf")
	require.NoError(t, cluster.StageAgents(dir, []cluster.Agent{{Provider: "suzlab", Type: "routeha", Path: labtest.AgentBinary(t)}}))
	return dir
}

// tool runs a Pacemaker tool with the staged agents visible, in the host's
// network namespace (it only reads meta-data and writes the CIB file).
func tool(t *testing.T, ocf string, env []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := cluster.AgentCommand(labtest.Context(t, 2*time.Minute), ocf, lab.HiddenHostFiles(), name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), cluster.ExitCode(err)
}

// validate runs crm_resource --validate -r vip against a CIB file inside
// node a's namespace, where the agent reaches the emulator and the IMDS.
func (s *site) validate(t *testing.T, ocf, cib string) (string, int) {
	t.Helper()
	ctx := labtest.Context(t, 2*time.Minute)
	a := cluster.AgentCommand(ctx, ocf, lab.HiddenHostFiles(), "crm_resource", "--validate", "-r", "vip")
	cmd := s.n.NS.Command(ctx, a.Args[0], a.Args[1:]...)
	cmd.Env = append(append([]string{}, s.env...), "CIB_file="+cib)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), cluster.ExitCode(err)
}

// outcome is what Pacemaker and the network see of one agent's life cycle
// on node a: validate-all, start, monitor, stop.
type outcome struct {
	Validate, Start, Monitor, Stop      int
	TargetsAfterStart, TargetsAfterStop map[string]string
	VIPAfterStart, VIPAfterStop         bool
	TablesWritten                       []string // by keys STS issued for the role
	AssumeRoleBy                        []string // the keys that called AssumeRole
}

// lifecycle runs the actions as Pacemaker would and records the outcome, the
// results and the VIP's label after start. extended adds a probe before start
// and a monitor after stop (each costs aws-vpc-move-ip two aws CLI calls
// and a second per table, so only routeha runs them).
func (s *site) lifecycle(t *testing.T, name, bin string, params map[string]string, extended bool) (outcome, map[string]result, string) {
	t.Helper()
	s.w.Emu.ResetLog()
	var o outcome
	rs := map[string]result{}
	step := func(label, action string, extra ...string) int {
		start := time.Now()
		r := s.run(t, bin, action, params, extra...)
		rs[label] = r
		t.Logf("%s %s: %s (%.1f s)", name, label, codeLine(r), time.Since(start).Seconds())
		if r.Code != 0 && r.Code != 7 {
			t.Logf("%s %s stderr:\n%s", name, label, r.Stderr)
		}
		return r.Code
	}
	o.Validate = step("validate-all", "validate-all")
	if extended {
		step("probe", "monitor", "OCF_RESKEY_CRM_meta_interval=0")
	}
	o.Start = step("start", "start")
	o.TargetsAfterStart = s.targets(t)
	label := s.vipLabel(t)
	o.VIPAfterStart = label != ""
	o.Monitor = step("monitor", "monitor", "OCF_RESKEY_CRM_meta_interval=60000")
	o.Stop = step("stop", "stop")
	o.TargetsAfterStop = s.targets(t)
	o.VIPAfterStop = s.vipLabel(t) != ""
	if extended {
		step("monitor after stop", "monitor", "OCF_RESKEY_CRM_meta_interval=60000")
	}
	seen := map[string]bool{}
	for _, e := range s.routeWrites(t) {
		seen[e.Params["RouteTableId"]] = true
	}
	o.TablesWritten = sortedKeys(seen)
	o.AssumeRoleBy = s.assumeRoleCallers()
	return o, rs, label
}

// expected is aws-vpc-move-ip's outcome as its code gives it (see
// doc/migration.md); the real run must show it too.
func expected() outcome {
	here := ec2emu.FixtureENIA + "/" + ec2emu.FixtureInstanceA
	return outcome{
		Validate: 0, Start: 0, Monitor: 0, Stop: 0,
		TargetsAfterStart: map[string]string{ec2emu.FixtureRouteTable1: here, ec2emu.FixtureRouteTable2: here},
		// stop needs no API: the routes stay until the next node takes them.
		TargetsAfterStop: map[string]string{ec2emu.FixtureRouteTable1: here, ec2emu.FixtureRouteTable2: here},
		VIPAfterStart:    true, VIPAfterStop: false,
		TablesWritten: strings.Split(tables, ","),
		AssumeRoleBy:  []string{profileKey},
	}
}

// TestMigration: the aws-vpc-move-ip configuration runs as it is with
// aws-vpc-move-ip itself against the emulator; with crmsh and with pcs, the
// same configuration with only the agent's name changed is accepted,
// validates through crm_resource, and gives routeha the same outcome.
// The three run in parallel; the comparison comes after all have ended.
func TestMigration(t *testing.T) {
	t.Parallel()
	labtest.NeedTools(t, "crm", "pcs", "crm_resource", "cibadmin", "unshare", "ip", "curl", debianAWS, oldScript)

	var before, withCrm, withPcs *outcome
	t.Run("run", func(t *testing.T) {
		t.Run("aws-vpc-move-ip", func(t *testing.T) {
			t.Parallel()
			s := newSite(t)
			params := map[string]string{"awscli": s.awscli} // the test's only addition: the aws CLI reaching the emulator
			for k, v := range configured {
				params[k] = v
			}
			o, rs, label := s.lifecycle(t, "aws-vpc-move-ip", oldScript, params, false)
			for _, k := range []string{"validate-all", "start", "monitor", "stop"} {
				transcript(t, "aws-vpc-move-ip", "aws-vpc-move-ip "+k, codeLine(rs[k]))
			}
			// Without iflabel it adds the address unlabelled.
			assert.Equal(t, "eth0", label, "aws-vpc-move-ip's VIP label")
			assert.Equal(t, expected(), o, "aws-vpc-move-ip's outcome differs from what its code says")
			before = &o
		})
		t.Run("crm", func(t *testing.T) {
			t.Parallel()
			ocf := stagedAgents(t)
			s := newSite(t)
			snippet := crmBefore()
			oldCIB, newCIB := emptyCIB(t, "before.xml"), emptyCIB(t, "after.xml")
			dir := t.TempDir()
			for _, c := range []struct{ cib, text string }{{oldCIB, snippet}, {newCIB, switchAgent(t, snippet)}} {
				file := filepath.Join(dir, strings.TrimSuffix(filepath.Base(c.cib), ".xml")+".crm")
				require.NoError(t, os.WriteFile(file, []byte(c.text), 0o644))
				transcript(t, "crm", "cat "+filepath.Base(file), c.text)
				out, code := tool(t, ocf, []string{"CIB_file=" + c.cib}, "crm", "configure", "load", "update", file)
				transcript(t, "crm", "CIB_file="+filepath.Base(c.cib)+" crm configure load update "+filepath.Base(file)+"; echo rc=$?", out+"rc="+strconv.Itoa(code))
				require.Equal(t, 0, code, "crm configure load update:\n%s\n%s", c.text, out)
				assert.NotContains(t, strings.ToLower(out), "unknown parameter", "crm does not know a parameter")
				out, code = tool(t, ocf, []string{"CIB_file=" + c.cib}, "crm", "configure", "show", "vip")
				transcript(t, "crm", "CIB_file="+filepath.Base(c.cib)+" crm configure show vip", out)
				require.Equal(t, 0, code, out)
			}
			checkCIBs(t, oldCIB, newCIB)
			withCrm = s.switched(t, "crm", ocf, newCIB)
		})
		t.Run("pcs", func(t *testing.T) {
			t.Parallel()
			ocf := stagedAgents(t)
			s := newSite(t)
			line := pcsBefore()
			oldCIB, newCIB := emptyCIB(t, "before.xml"), emptyCIB(t, "after.xml")
			for _, c := range []struct{ cib, line string }{{oldCIB, line}, {newCIB, switchAgent(t, line)}} {
				out, code := tool(t, ocf, nil, "pcs", append([]string{"-f", c.cib}, strings.Fields(c.line)...)...)
				transcript(t, "pcs", "pcs -f "+filepath.Base(c.cib)+" "+c.line+"; echo rc=$?", out+"rc="+strconv.Itoa(code))
				require.Equal(t, 0, code, "pcs -f %s %s:\n%s", c.cib, c.line, out)
				out, code = tool(t, ocf, nil, "pcs", "-f", c.cib, "resource", "config", "vip")
				transcript(t, "pcs", "pcs -f "+filepath.Base(c.cib)+" resource config vip", out)
				require.Equal(t, 0, code, out)
			}
			checkCIBs(t, oldCIB, newCIB)
			withPcs = s.switched(t, "pcs", ocf, newCIB)
		})
	})

	if before == nil {
		t.Error("aws-vpc-move-ip did not complete its run (see above); routeha is compared with its documented outcome")
		o := expected()
		before = &o
	}
	for _, c := range []struct {
		name string
		o    *outcome
	}{{"crm", withCrm}, {"pcs", withPcs}} {
		if c.o == nil {
			t.Errorf("%s: routeha did not complete its run (see above)", c.name)
			continue
		}
		assert.Equal(t, *before, *c.o, "%s: routeha's outcome differs from aws-vpc-move-ip's", c.name)
	}
}

// checkCIBs: both CIBs hold primitive vip with exactly the configured
// attributes and the same operations; only the agent differs.
func checkCIBs(t *testing.T, oldCIB, newCIB string) {
	t.Helper()
	op, oparams := readVIP(t, oldCIB)
	np, nparams := readVIP(t, newCIB)
	assert.Equal(t, []string{"ocf", "heartbeat", "aws-vpc-move-ip"}, []string{op.Class, op.Provider, op.Type})
	assert.Equal(t, []string{"ocf", "suzlab", "routeha"}, []string{np.Class, np.Provider, np.Type})
	assert.Equal(t, configured, oparams, "aws-vpc-move-ip's attributes in the CIB")
	assert.Equal(t, oparams, nparams, "the switch changed the resource's attributes")
	opsOf := func(p cibPrimitive) map[string]string {
		m := map[string]string{}
		for _, o := range p.Ops {
			m[o.Name] = o.Interval + "/" + o.Timeout
		}
		return m
	}
	assert.Equal(t, opsOf(op), opsOf(np), "the switch changed the operations")
}

// switched validates the switched CIB with crm_resource and runs routeha's
// life cycle with the CIB's own attributes. It checks what routeha adds to
// aws-vpc-move-ip's behaviour (the probe, the monitor after stop, the label)
// and returns the outcome to compare.
func (s *site) switched(t *testing.T, name, ocf, cib string) *outcome {
	t.Helper()
	s.w.Emu.ResetLog()
	out, code := s.validate(t, ocf, cib)
	transcript(t, name, "CIB_file=after.xml crm_resource --validate -r vip; echo rc=$?   # in node a's namespace", out+"rc="+strconv.Itoa(code))
	require.Equal(t, 0, code, "crm_resource --validate -r vip:\n%s", out)
	assert.Contains(t, out, "(ocf:suzlab:routeha) returned 0 (ok)")
	// The agent ran its real checks, against the emulator, as the role.
	assert.Positive(t, s.w.Emu.Count("DescribeRouteTables"), "validate through crm_resource read no route table")
	assert.Equal(t, []string{profileKey}, s.assumeRoleCallers(), "validate assumed the role with the profile's key")

	_, params := readVIP(t, cib)
	o, rs, label := s.lifecycle(t, "routeha", labtest.AgentBinary(t), params, true)
	for _, k := range []string{"validate-all", "probe", "start", "monitor", "stop", "monitor after stop"} {
		transcript(t, name, "routeha "+k, codeLine(rs[k]))
	}
	assert.Equal(t, 7, rs["probe"].Code, "probe before start")
	assert.Equal(t, 7, rs["monitor after stop"].Code, "monitor after stop")
	assert.Equal(t, "eth0:0", label, "interface=eth0 puts the VIP on eth0 as eth0:0")
	return &o
}
