package pacemaker_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suzlab/routeha/test/lab/labtest"

	"github.com/suzlab/routeha/test/lab"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/cluster"
)

// make install DESTDIR=… puts the agent where Pacemaker looks for
// ocf:suzlab:routeha and the man page in section 7.
func TestMakeInstall(t *testing.T) {
	t.Parallel()
	_, agent, manpage := installed(t)

	st, err := os.Stat(agent)
	require.NoError(t, err, "agent not installed")
	assert.True(t, st.Mode().IsRegular())
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm(), "agent mode")

	st, err = os.Stat(manpage)
	require.NoError(t, err, "man page not installed")
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "man page mode")

	// The installed agent is the built one.
	_, want := metadata(t, agentBin(t))
	_, got := metadata(t, agent)
	assert.Equal(t, string(want), string(got), "installed agent's meta-data differs from $ROUTEHA_BIN's")
	man, err := exec.Command(agent, "man").Output()
	require.NoError(t, err)
	inst, err := os.ReadFile(manpage)
	require.NoError(t, err)
	assert.Equal(t, string(man), string(inst), "installed man page is not `routeha man`")
}

// meta-data is valid against resource-agents' ra-api-1.dtd, both as
// xmllint --dtdvalid and as ocf-tester checks it (--valid, from the DTD's
// directory), and a document the DTD forbids is rejected by the same check.
func TestMetadataDTD(t *testing.T) {
	t.Parallel()
	labtest.NeedTools(t, "xmllint", dtd) // dtd: package resource-agents
	md, raw := metadata(t, agentBin(t))

	// From the DTD's directory, so that the DOCTYPE's relative system id
	// resolves too.
	cmd := exec.Command("xmllint", "--noout", "--dtdvalid", dtd, "-")
	cmd.Dir = filepath.Dir(dtd)
	cmd.Stdin = strings.NewReader(string(raw))
	out, code := runTool(cmd)
	assert.Equal(t, 0, code, "xmllint --dtdvalid:\n%s", out)
	assert.Empty(t, out)
	transcript(t, "xmllint", "routeha meta-data | xmllint --noout --dtdvalid "+dtd+" - && echo valid", out+"valid")

	cmd = exec.Command("xmllint", "--noout", "--valid", "-")
	cmd.Dir = filepath.Dir(dtd)
	cmd.Stdin = strings.NewReader(string(raw))
	out, code = runTool(cmd)
	assert.Equal(t, 0, code, "xmllint --valid (as ocf-tester runs it):\n%s", out)

	// Control: the same check fails on an attribute ra-api-1 does not have.
	bad := strings.Replace(string(raw), `<parameter name="ip"`, `<parameter name="ip" deprecated="1"`, 1)
	require.NotEqual(t, string(raw), bad)
	cmd = exec.Command("xmllint", "--noout", "--dtdvalid", dtd, "-")
	cmd.Dir = filepath.Dir(dtd)
	cmd.Stdin = strings.NewReader(bad)
	_, code = runTool(cmd)
	assert.NotEqual(t, 0, code, "xmllint accepted meta-data the DTD forbids")

	// Only the content types ra-api-1 knows.
	for _, p := range md.Parameters {
		assert.Contains(t, []string{"string", "integer", "boolean", "time"}, p.Content.Type, "parameter %s", p.Name)
		assert.NotEmpty(t, squash(p.ShortDesc), "parameter %s has no shortdesc", p.Name)
		assert.NotEmpty(t, squash(p.LongDesc), "parameter %s has no longdesc", p.Name)
	}

	// Advertised timeouts are sensible: long enough for the AWS calls with
	// their retries, short enough that Pacemaker notices a hang.
	bounds := map[string][2]time.Duration{
		"start":        {20 * time.Second, 5 * time.Minute},
		"stop":         {10 * time.Second, 2 * time.Minute},
		"monitor":      {10 * time.Second, 2 * time.Minute},
		"validate-all": {5 * time.Second, 2 * time.Minute},
		"meta-data":    {1 * time.Second, 30 * time.Second},
	}
	seen := map[string]bool{}
	for _, a := range md.Actions {
		seen[a.Name] = true
		b, ok := bounds[a.Name]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(a.Timeout)
		if assert.NoError(t, err, "action %s timeout %q", a.Name, a.Timeout) {
			assert.GreaterOrEqual(t, d, b[0], "action %s timeout", a.Name)
			assert.LessOrEqual(t, d, b[1], "action %s timeout", a.Name)
		}
		if a.Name == "monitor" {
			iv, err := time.ParseDuration(a.Interval)
			if assert.NoError(t, err, "monitor interval %q", a.Interval) {
				assert.GreaterOrEqual(t, iv, 5*time.Second, "monitor interval")
				assert.LessOrEqual(t, iv, 2*time.Minute, "monitor interval")
			}
		}
	}
	for name := range bounds {
		assert.True(t, seen[name], "meta-data does not advertise %s", name)
	}
}

// crm ra info shows every parameter of the meta-data with its type, default
// and descriptions.
func TestCrmRaInfo(t *testing.T) {
	labtest.NeedTools(t, "crm", "unshare")
	t.Parallel()
	md, _ := metadata(t, agentBin(t))
	out, code := runTool(cluster.AgentCommand(labtest.Context(t, time.Minute), stagedAgents(t), lab.HiddenHostFiles(), "crm", "ra", "info", agentName))
	require.Equal(t, 0, code, "crm ra info:\n%s", out)
	transcript(t, "crm-ra-info", "crm ra info "+agentName, out)
	flat := squash(out)

	for _, p := range md.Parameters {
		head := regexp.QuoteMeta(p.Name)
		if p.Required == "1" {
			head += `\*`
		}
		head += ` \(` + regexp.QuoteMeta(p.Content.Type)
		if p.Content.Default != nil {
			head += `, \[` + regexp.QuoteMeta(*p.Content.Default) + `\]`
		}
		head += `\): ` + regexp.QuoteMeta(squash(p.ShortDesc))
		assert.Regexp(t, regexp.MustCompile(`(?m)^`+head+`\s*$`), out, "parameter %s (type, default, shortdesc)", p.Name)
		assert.Contains(t, flat, squash(p.LongDesc), "parameter %s longdesc", p.Name)
	}
	for _, a := range md.Actions {
		if a.Name == "start" || a.Name == "stop" || a.Name == "monitor" {
			assert.Regexp(t, regexp.MustCompile(`(?m)^\s*`+a.Name+`\s+timeout=`+regexp.QuoteMeta(a.Timeout)), out, "action %s", a.Name)
		}
	}
}

// pcs resource describe shows every parameter of the meta-data with its
// flags and description, and the agent's operations with their timeouts.
// (pcs 0.11 prints no parameter defaults for any agent; crm ra info does,
// see TestCrmRaInfo.)
func TestPcsDescribe(t *testing.T) {
	labtest.NeedTools(t, "pcs", "unshare")
	t.Parallel()
	md, _ := metadata(t, agentBin(t))
	out, code := runTool(cluster.AgentCommand(labtest.Context(t, time.Minute), stagedAgents(t), lab.HiddenHostFiles(), "pcs", "resource", "describe", "--full", agentName))
	require.Equal(t, 0, code, "pcs resource describe:\n%s", out)
	transcript(t, "pcs-resource-describe", "pcs resource describe --full "+agentName, out)
	flat := squash(out)
	assert.Contains(t, out, agentName+" - "+squash(mdShort(t)))

	for _, p := range md.Parameters {
		line := p.Name
		if p.Required == "1" {
			line += " (required)"
		}
		if p.Unique == "1" {
			line += " (unique)"
		}
		line += ": " + squash(p.LongDesc)
		assert.Contains(t, flat, squash(line), "parameter %s", p.Name)
	}
	for _, a := range md.Actions {
		if a.Name == "start" || a.Name == "stop" || a.Name == "monitor" {
			assert.Regexp(t, regexp.MustCompile(`(?m)^\s*`+a.Name+`:\s*\n(\s+\S+=\S+\n)*?\s+timeout=`+regexp.QuoteMeta(a.Timeout)+`\s*$`), out, "operation %s", a.Name)
		}
	}
}

func mdShort(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(agentBin(t), "meta-data").Output()
	require.NoError(t, err)
	var x struct {
		ShortDesc string `xml:"shortdesc"`
	}
	require.NoError(t, xml.Unmarshal(out, &x))
	return x.ShortDesc
}

// cibXML is the part of a CIB the configuration tests look at.
type cibXML struct {
	Props       []cluster.NVPair    `xml:"configuration>crm_config>cluster_property_set>nvpair"`
	RscDefaults []cluster.NVPair    `xml:"configuration>rsc_defaults>meta_attributes>nvpair"`
	Primitives  []cluster.Primitive `xml:"configuration>resources>primitive"`
}

func readCIB(t *testing.T, path string) *cibXML {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var c cibXML
	require.NoError(t, xml.Unmarshal(b, &c), "CIB %s", path)
	return &c
}

func (c *cibXML) prop(name string) string {
	for _, p := range c.Props {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func (c *cibXML) rscDefault(name string) string {
	for _, p := range c.RscDefaults {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func emptyCIB(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("cibadmin", "--empty").Output()
	require.NoError(t, err, "cibadmin --empty")
	path := filepath.Join(t.TempDir(), "cib.xml")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// The configuration of the post, with pcs against a CIB file: accepted;
// a parameter the agent does not have and a missing required one are not.
func TestPcsFileCreate(t *testing.T) {
	labtest.NeedTools(t, "pcs", "cibadmin", "crm_verify", "unshare")
	t.Parallel()
	ctx := labtest.Context(t, 2*time.Minute)
	ocf := stagedAgents(t)
	cib := emptyCIB(t)
	pcs := func(args ...string) (string, int) {
		return runTool(cluster.AgentCommand(ctx, ocf, lab.HiddenHostFiles(), "pcs", append([]string{"-f", cib}, args...)...))
	}
	steps := [][]string{
		{"property", "set", "stonith-enabled=false", "no-quorum-policy=ignore"},
		{"resource", "defaults", "update", "resource-stickiness=INFINITY", "migration-threshold=1"},
		{"resource", "create", "vip", agentName, "ip=" + vip, "routing_table=" + tables, "op", "monitor", "interval=10s", "timeout=30s"},
	}
	for _, s := range steps {
		out, code := pcs(s...)
		require.Equal(t, 0, code, "pcs -f cib.xml %s:\n%s", strings.Join(s, " "), out)
		transcript(t, "pcs-f", "pcs -f cib.xml "+strings.Join(s, " "), out)
	}
	out, code := pcs("resource", "config", "vip")
	require.Equal(t, 0, code, out)
	transcript(t, "pcs-f", "pcs -f cib.xml resource config vip", out)

	c := readCIB(t, cib)
	assert.Equal(t, "false", c.prop("stonith-enabled"))
	assert.Equal(t, "ignore", c.prop("no-quorum-policy"))
	assert.Equal(t, "INFINITY", c.rscDefault("resource-stickiness"))
	assert.Equal(t, "1", c.rscDefault("migration-threshold"))
	require.Len(t, c.Primitives, 1)
	p := c.Primitives[0]
	assert.Equal(t, []string{"vip", "ocf", "suzlab", "routeha"}, []string{p.ID, p.Class, p.Provider, p.Type})
	params := map[string]string{}
	for _, nv := range p.Params {
		params[nv.Name] = nv.Value
	}
	assert.Equal(t, map[string]string{"ip": vip, "routing_table": tables}, params)
	ops := map[string]string{}
	for _, op := range p.Ops {
		ops[op.Name] = op.Interval + "/" + op.Timeout
	}
	assert.Equal(t, "10s/30s", ops["monitor"])
	// pcs copies the agent's advertised timeouts into the CIB.
	md, _ := metadata(t, agentBin(t))
	for _, a := range md.Actions {
		if a.Name == "start" || a.Name == "stop" {
			assert.Equal(t, "0s/"+a.Timeout, ops[a.Name], "op %s", a.Name)
		}
	}
	if _, ok := ops["usage"]; ok {
		t.Logf("note: pcs copied the advertised 'usage' action into the CIB as an operation (%s)", ops["usage"])
	}

	out, code = runTool(exec.Command("crm_verify", "--xml-file", cib, "-V"))
	assert.Equal(t, 0, code, "crm_verify:\n%s", out)

	// pcs checks the parameters against the agent's meta-data.
	out, code = pcs("resource", "create", "vip2", agentName, "ip=192.0.2.11", "routing_table="+tables, "no_such_param=1")
	assert.NotEqual(t, 0, code, "pcs accepted an unknown parameter:\n%s", out)
	assert.Contains(t, out, "no_such_param")
	transcript(t, "pcs-f", "pcs -f cib.xml resource create vip2 "+agentName+" ip=192.0.2.11 routing_table="+tables+" no_such_param=1", out)
	out, code = pcs("resource", "create", "vip3", agentName, "ip=192.0.2.12")
	assert.NotEqual(t, 0, code, "pcs accepted a missing routing_table:\n%s", out)
	assert.Contains(t, out, "routing_table")
	transcript(t, "pcs-f", "pcs -f cib.xml resource create vip3 "+agentName+" ip=192.0.2.12", out)
	assert.Len(t, readCIB(t, cib).Primitives, 1, "a rejected resource reached the CIB")
}

// The post's configuration with crm configure, against a CIB file
// (CIB_file): accepted, and shown back by crm configure show.
func TestCrmConfigure(t *testing.T) {
	labtest.NeedTools(t, "crm", "cibadmin", "unshare")
	t.Parallel()
	ctx := labtest.Context(t, 2*time.Minute)
	ocf := stagedAgents(t)
	cib := emptyCIB(t)
	crm := func(args ...string) (string, int) {
		cmd := cluster.AgentCommand(ctx, ocf, lab.HiddenHostFiles(), "crm", args...)
		cmd.Env = append(os.Environ(), "CIB_file="+cib)
		return runTool(cmd)
	}
	steps := [][]string{
		{"configure", "property", "stonith-enabled=false", "no-quorum-policy=ignore"},
		{"configure", "rsc_defaults", "resource-stickiness=INFINITY", "migration-threshold=1"},
		{"configure", "primitive", "vip", agentName, "params", "ip=" + vip, "routing_table=" + tables,
			"op", "monitor", "interval=10s", "timeout=30s"},
	}
	for _, s := range steps {
		out, code := crm(s...)
		require.Equal(t, 0, code, "crm %s:\n%s", strings.Join(s, " "), out)
		transcript(t, "crm-configure", "crm "+strings.Join(s, " "), out)
	}
	out, code := crm("configure", "show")
	require.Equal(t, 0, code, out)
	transcript(t, "crm-configure", "crm configure show", out)
	assert.Regexp(t, `primitive vip ocf:suzlab:routeha \\\s+params ip=192\.0\.2\.10 routing_table="?`+regexp.QuoteMeta(tables), out)
	assert.Regexp(t, `op monitor interval=10s timeout=30s`, out)

	c := readCIB(t, cib)
	assert.Equal(t, "false", c.prop("stonith-enabled"))
	assert.Equal(t, "INFINITY", c.rscDefault("resource-stickiness"))
	require.Len(t, c.Primitives, 1)
	assert.Equal(t, "routeha", c.Primitives[0].Type)
}

// A bad value is rejected by the agent's validate-all through crm_resource
// --validate, with the agent's own reason.
func TestValidateBadValue(t *testing.T) {
	labtest.NeedTools(t, "crm_resource", "unshare")
	t.Parallel()
	bin := agentBin(t)

	// The agent's own verdict.
	cmd := exec.Command(bin, "validate-all")
	cmd.Env = append(os.Environ(), "OCF_RESKEY_ip=1.2.3", "OCF_RESKEY_routing_table="+tables, "OCF_ROOT=/usr/lib/ocf")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	require.Equal(t, 6, cluster.ExitCode(err), "validate-all with ip=1.2.3: %s", stderr.String())
	m := regexp.MustCompile(`(?m)^ocf-exit-reason:(.+)$`).FindStringSubmatch(stderr.String())
	require.NotNil(t, m, "no ocf-exit-reason on stderr: %q", stderr.String())
	reason := strings.TrimSpace(m[1])
	assert.Contains(t, reason, "1.2.3")

	args := []string{"--validate", "--class", "ocf", "--provider", "suzlab", "--agent", "routeha",
		"--option", "ip=1.2.3", "--option", "routing_table=" + tables}
	out, code := runTool(cluster.AgentCommand(labtest.Context(t, time.Minute), stagedAgents(t), lab.HiddenHostFiles(), "crm_resource", args...))
	transcript(t, "crm-resource-validate", "crm_resource "+strings.Join(args, " ")+"; echo rc=$?", out+"rc="+strconv.Itoa(code))
	assert.NotEqual(t, 0, code, "crm_resource --validate accepted ip=1.2.3:\n%s", out)
	assert.Contains(t, out, "returned 6", "crm_resource does not report the agent's exit code 6")
	assert.Contains(t, out, reason, "crm_resource does not show the agent's reason")
}

// The installed man page renders with man -l, without groff warnings, and
// documents every parameter.
func TestManPage(t *testing.T) {
	t.Parallel()
	_, _, manpage := installed(t)
	md, _ := metadata(t, agentBin(t))
	raw, err := os.ReadFile(manpage)
	require.NoError(t, err)
	assert.Regexp(t, `^\.TH OCF_SUZLAB_ROUTEHA 7 `, string(raw))
	for _, sec := range []string{"NAME", "SYNOPSIS", "DESCRIPTION"} {
		assert.Regexp(t, `(?m)^\.SH "?`+sec, string(raw))
	}

	if _, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command("man", "-l", manpage)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
		out, code := runTool(cmd)
		require.Equal(t, 0, code, "man -l:\n%s", out)
		assert.Contains(t, out, "ocf_suzlab_routeha - ")
		for _, p := range md.Parameters {
			assert.Regexp(t, regexp.MustCompile(`(?m)^\s+`+regexp.QuoteMeta(p.Name)+`(\s|$)`), out, "parameter %s not rendered", p.Name)
		}
		head := strings.Join(strings.SplitN(out, "\n", 30)[:min(29, strings.Count(out, "\n"))], "\n")
		transcript(t, "man", "man -l "+filepath.Base(manpage)+" | head -29", head)
	} else {
		t.Log("man not installed; checking with groff only")
	}
	if _, err := exec.LookPath("groff"); err == nil {
		cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", manpage)
		out, code := runTool(cmd)
		assert.Equal(t, 0, code, "groff:\n%s", out)
		assert.Empty(t, out, "groff warnings")
	}
}
