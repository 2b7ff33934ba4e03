package agent_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/ocf"
)

const dtdPath = "/usr/share/resource-agents/ra-api-1.dtd"

type xDesc struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

type xContent struct {
	Type    string  `xml:"type,attr"`
	Default *string `xml:"default,attr"`
}

type xParam struct {
	Name      string   `xml:"name,attr"`
	Required  string   `xml:"required,attr"`
	Unique    string   `xml:"unique,attr"`
	Longdesc  []xDesc  `xml:"longdesc"`
	Shortdesc []xDesc  `xml:"shortdesc"`
	Content   xContent `xml:"content"`
}

type xAction struct {
	Name     string `xml:"name,attr"`
	Timeout  string `xml:"timeout,attr"`
	Interval string `xml:"interval,attr"`
	Depth    string `xml:"depth,attr"`
}

type xAgent struct {
	XMLName   xml.Name  `xml:"resource-agent"`
	Name      string    `xml:"name,attr"`
	Version   string    `xml:"version,attr"`
	OCFVer    string    `xml:"version"`
	Longdesc  xDesc     `xml:"longdesc"`
	Shortdesc xDesc     `xml:"shortdesc"`
	Params    []xParam  `xml:"parameters>parameter"`
	Actions   []xAction `xml:"actions>action"`
}

func decode(t *testing.T, data []byte) xAgent {
	t.Helper()
	var a xAgent
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	require.NoError(t, d.Decode(&a), string(data))
	return a
}

// The action names and content types ra-api-1.dtd allows.
var dtdActions = map[string]bool{
	"start": true, "stop": true, "recover": true, "monitor": true, "restart": true,
	"migrate_to": true, "migrate_from": true, "promote": true, "demote": true, "notify": true,
	"status": true, "reload": true, "meta-data": true, "usage": true, "methods": true, "validate-all": true,
}

var dtdTypes = map[string]bool{"string": true, "integer": true, "boolean": true, "time": true}

func TestXMLIsWellFormedAndMatchesTable(t *testing.T) {
	md := agent.New("1.2.3", nil).Definition()
	data := md.XML()
	assert.True(t, bytes.HasPrefix(data, []byte(`<?xml version="1.0"?>`)))
	assert.Contains(t, string(data), `<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">`)

	x := decode(t, data)
	assert.Equal(t, "routeha", x.Name)
	assert.Equal(t, "1.2.3", x.Version)
	assert.Equal(t, "1.0", x.OCFVer)
	assert.Equal(t, md.Shortdesc, x.Shortdesc.Text)
	assert.Equal(t, md.Longdesc, strings.TrimSpace(x.Longdesc.Text))

	require.Len(t, x.Params, len(md.Params), "one <parameter> per table row")
	seen := map[string]int{}
	for _, xp := range x.Params {
		seen[xp.Name]++
	}
	for _, p := range md.Params {
		assert.Equal(t, 1, seen[p.Name], "parameter %s listed once", p.Name)
	}
	for i, p := range md.Params {
		xp := x.Params[i]
		assert.Equal(t, p.Name, xp.Name, "table order is kept")
		assert.Equal(t, bit(p.Required), xp.Required, p.Name)
		assert.Equal(t, bit(p.Unique), xp.Unique, p.Name)
		assert.Equal(t, string(p.Type), xp.Content.Type, p.Name)
		assert.True(t, dtdTypes[xp.Content.Type], "%s: content type %q not in ra-api-1.dtd", p.Name, xp.Content.Type)
		if p.Default == "" {
			assert.Nil(t, xp.Content.Default, "%s: no literal default, no default attribute", p.Name)
		} else if assert.NotNil(t, xp.Content.Default, p.Name) {
			assert.Equal(t, p.Default, *xp.Content.Default, p.Name)
		}
		require.Len(t, xp.Longdesc, 1, p.Name)
		require.Len(t, xp.Shortdesc, 1, p.Name)
		assert.Equal(t, p.Shortdesc, xp.Shortdesc[0].Text, p.Name)
		assert.Equal(t, p.FullLongdesc(), strings.TrimSpace(xp.Longdesc[0].Text), p.Name)
		assert.NotEmpty(t, xp.Shortdesc[0].Text, p.Name)
		assert.Equal(t, "en", xp.Shortdesc[0].Lang, p.Name)
	}

	// The contract's parameters are there with the contract's flags.
	byName := map[string]xParam{}
	for _, xp := range x.Params {
		byName[xp.Name] = xp
	}
	assert.Equal(t, "1", byName["ip"].Required)
	assert.Equal(t, "1", byName["ip"].Unique)
	assert.Equal(t, "1", byName["routing_table"].Required)
	for _, name := range []string{"destination_cidr", "interface", "iflabel", "lookup_type", "source_dest_check",
		"create_route", "region", "profile", "endpoint"} {
		if assert.Contains(t, byName, name) {
			assert.Equal(t, "0", byName[name].Required, name)
		}
	}
	assert.Equal(t, "boolean", byName["create_route"].Content.Type)

	require.Len(t, x.Actions, len(md.Actions))
	names := map[string]bool{}
	for i, xa := range x.Actions {
		act := md.Actions[i]
		assert.True(t, dtdActions[xa.Name], "action %q not allowed by ra-api-1.dtd", xa.Name)
		assert.Equal(t, act.Name, xa.Name)
		assert.Equal(t, seconds(act.Timeout), xa.Timeout, xa.Name)
		if act.Interval > 0 {
			assert.Equal(t, seconds(act.Interval), xa.Interval, xa.Name)
		} else {
			assert.Empty(t, xa.Interval, xa.Name)
		}
		names[xa.Name] = true
	}
	for _, want := range []string{"start", "stop", "monitor", "validate-all", "meta-data"} {
		assert.True(t, names[want], "action %s advertised", want)
	}
}

// The DTD wants longdesc before shortdesc, in the agent and in each
// parameter, and content last.
func TestXMLElementOrder(t *testing.T) {
	d := xml.NewDecoder(bytes.NewReader(agent.New("1", nil).Definition().XML()))
	var stack []string
	children := map[string][]string{} // path of the parent -> child names in order
	paramOrders := [][]string{}
	var cur []string
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			parent := strings.Join(stack, "/")
			children[parent] = append(children[parent], tk.Name.Local)
			if len(stack) == 2 && stack[1] == "parameters" {
				cur = nil
			}
			if len(stack) == 3 && stack[2] == "parameter" {
				cur = append(cur, tk.Name.Local)
			}
			stack = append(stack, tk.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if tk.Name.Local == "parameter" {
				paramOrders = append(paramOrders, cur)
			}
		}
	}
	assert.Equal(t, []string{"version", "longdesc", "shortdesc", "parameters", "actions"}, children["resource-agent"])
	require.NotEmpty(t, paramOrders)
	for _, o := range paramOrders {
		assert.Equal(t, []string{"longdesc", "shortdesc", "content"}, o)
	}
}

func TestXMLEscapesText(t *testing.T) {
	md := &ocf.Agent{
		Name: "a&b", Version: `1"<2>`, Shortdesc: "x < y & z", Longdesc: "</longdesc><evil/>",
		Params: []ocf.Param{{
			Name: "p", Shortdesc: "s&", Longdesc: "l<", Type: ocf.String, Default: `"'<&>`,
		}},
		Actions: []ocf.Action{{Name: "start", Timeout: 20 * time.Second}},
	}
	x := decode(t, md.XML())
	assert.Equal(t, "a&b", x.Name)
	assert.Equal(t, `1"<2>`, x.Version)
	assert.Equal(t, "x < y & z", x.Shortdesc.Text)
	assert.Equal(t, "</longdesc><evil/>", strings.TrimSpace(x.Longdesc.Text))
	require.Len(t, x.Params, 1)
	require.NotNil(t, x.Params[0].Content.Default)
	assert.Equal(t, `"'<&>`, *x.Params[0].Content.Default)
}

func TestXMLValidatesAgainstRAAPIDTD(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (Debian: libxml2-utils); DTD validation not run")
	}
	if _, err := os.Stat(dtdPath); err != nil {
		t.Skipf("%s not present (Debian: resource-agents); DTD validation not run", dtdPath)
	}
	file := filepath.Join(t.TempDir(), "routeha.xml")
	require.NoError(t, os.WriteFile(file, agent.New("1.0.0", nil).Definition().XML(), 0o644))
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--dtdvalid", dtdPath, file).CombinedOutput()
	require.NoError(t, err, "xmllint: %s", out)

	// The check itself can fail: a document with an action the DTD does
	// not know is refused.
	bad := agent.New("1.0.0", nil).Definition()
	bad.Actions = append(bad.Actions, ocf.Action{Name: "reload-agent", Timeout: time.Second})
	require.NoError(t, os.WriteFile(file, bad.XML(), 0o644))
	out, err = exec.Command(xmllint, "--noout", "--nonet", "--dtdvalid", dtdPath, file).CombinedOutput()
	assert.Error(t, err, "xmllint accepted reload-agent: %s", out)
}

// Every action is declared once, with its timeout, and each OCF action
// but meta-data (which ocf.Run answers) has its handler there.
func TestActionsDeclaredWithHandlerAndTimeout(t *testing.T) {
	md := agent.New("1", nil).Definition()
	var names []string
	for _, act := range md.Actions {
		names = append(names, act.Name)
		assert.Greater(t, act.Timeout, time.Duration(0), act.Name)
		assert.Equal(t, act.Name != "meta-data", act.Handler != nil, act.Name)
	}
	assert.Equal(t, []string{"start", "stop", "monitor", "validate-all", "meta-data"}, names)
}

func TestRouteHAReturnsAFreshTable(t *testing.T) {
	a := agent.New("1", nil).Definition()
	a.Params[0].Name = "changed"
	b := agent.New("1", nil).Definition()
	assert.Equal(t, "ip", b.Params[0].Name)
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func seconds(d time.Duration) string {
	return strconv.Itoa(int(d/time.Second)) + "s"
}

func TestMarkdownTableHasARowPerParameter(t *testing.T) {
	md := agent.New("1", nil).Definition()
	table := md.MarkdownTable()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	require.Len(t, lines, 2+len(md.Params), table)
	assert.Equal(t, "| parameter | required | default | meaning |", lines[0])
	assert.Equal(t, "|---|---|---|---|", lines[1])
	for i, p := range md.Params {
		row := lines[2+i]
		assert.True(t, strings.HasPrefix(row, "| `"+p.Name+"` |"), row)
		// A row has exactly the table's 5 unescaped pipes.
		assert.Equal(t, 5, strings.Count(row, "|")-strings.Count(row, `\|`), row)
		if p.Default != "" {
			assert.Contains(t, row, "`"+p.Default+"`", p.Name)
		}
	}
	assert.Contains(t, lines[2], "| `ip` | yes, unique |")
	assert.Contains(t, table, "| `routing_table` | yes |")
	assert.Contains(t, table, "ip/32", "computed defaults are documented")
}

func TestMarkdownTableEscapesPipes(t *testing.T) {
	md := &ocf.Agent{Params: []ocf.Param{{Name: "p", Longdesc: "a | b", Type: ocf.String}}}
	row := strings.Split(strings.TrimSuffix(md.MarkdownTable(), "\n"), "\n")[2]
	assert.Contains(t, row, `a \| b`)
}

func TestManPage(t *testing.T) {
	md := agent.New("1.2.3", nil).Definition()
	page := string(md.ManPage("suzlab", "2025-01-01"))
	lines := strings.Split(page, "\n")
	require.NotEmpty(t, lines)
	assert.True(t, strings.HasPrefix(lines[0], `.TH OCF_SUZLAB_ROUTEHA 7 "2025-01-01" "routeha 1.2.3"`), lines[0])
	assert.Contains(t, page, ".SH NAME\nocf_suzlab_routeha \\- ")
	for _, sec := range []string{".SH SYNOPSIS", ".SH DESCRIPTION", ".SH SUPPORTED PARAMETERS", ".SH SUPPORTED ACTIONS"} {
		assert.Contains(t, page, sec)
	}
	for _, p := range md.Params {
		assert.Contains(t, page, ".TP\n\\fB"+p.Name+"\\fR\n", p.Name)
	}
	for _, a := range md.Actions {
		assert.Contains(t, page, "\\fB"+a.Name+"\\fR timeout=", a.Name)
	}
	assert.Contains(t, page, "(string, required, unique)")
	assert.Contains(t, page, "default \\fIlo\\fR")
	// No line starts a roff request by accident: every line beginning with
	// a dot or quote is one of ours.
	for _, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			assert.Regexp(t, `^\.(TH|SH|TP|IP|B|nf|fi) ?`, l)
		}
	}
}

func TestManPageEscapesRoff(t *testing.T) {
	md := &ocf.Agent{Name: "x", Shortdesc: "s", Longdesc: ".dangerous request",
		Params: []ocf.Param{{Name: "p", Longdesc: `back\slash`, Type: ocf.String}}}
	page := string(md.ManPage("prov", ""))
	assert.NotContains(t, page, "\n.dangerous")
	assert.Contains(t, page, `\&.dangerous`)
	assert.Contains(t, page, `back\eslash`)
}

// The man page says what an operator needs beyond the parameters: every
// exit code, the IAM actions, and the warnings of the production advice.
func TestManPageExitCodesIAMWarnings(t *testing.T) {
	page := string(agent.New("1.2.3", nil).Definition().ManPage("suzlab", ""))
	for _, sec := range []string{".SH EXIT CODES", ".SH IAM", ".SH WARNINGS"} {
		assert.Contains(t, page, sec)
	}
	for _, code := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "190"} {
		assert.Contains(t, page, ".TP\n\\fB"+code+"\\fR ", "exit code %s", code)
	}
	for _, s := range []string{
		`ec2:DescribeRouteTables`, `ec2:ReplaceRoute`, `ec2:CreateRoute`, `ec2:DescribeNetworkInterfaces`,
		`ec2:ModifyNetworkInterfaceAttribute`, `ec2:StopInstances`, `ec2:StartInstances`,
		`pcmk_reboot_action=off`, `pcmk_delay_max`,
		`crm_resource \-\-force\-start`, `pcs resource debug\-start`, `ocf\-tester`,
		`CLOUD_NETCONFIG_MANAGE`, `nm\-cloud\-setup`, `ifcfg\-lo:0`, `OCF_CHECK_LEVEL=10`,
		`token: 30000`, `failure\-timeout`,
	} {
		assert.Contains(t, page, s)
	}
}
