package metadata_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/metadata"
)

func TestMarkdownTableHasARowPerParameter(t *testing.T) {
	md := metadata.Routeha("1")
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
	md := &metadata.Agent{Params: []metadata.Param{{Name: "p", Longdesc: "a | b", Type: metadata.String}}}
	row := strings.Split(strings.TrimSuffix(md.MarkdownTable(), "\n"), "\n")[2]
	assert.Contains(t, row, `a \| b`)
}

func TestManPage(t *testing.T) {
	md := metadata.Routeha("1.2.3")
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
	md := &metadata.Agent{Name: "x", Shortdesc: "s", Longdesc: ".dangerous request",
		Params: []metadata.Param{{Name: "p", Longdesc: `back\slash`, Type: metadata.String}}}
	page := string(md.ManPage("prov", ""))
	assert.NotContains(t, page, "\n.dangerous")
	assert.Contains(t, page, `\&.dangerous`)
	assert.Contains(t, page, `back\eslash`)
}

// The man page says what an operator needs beyond the parameters: every
// exit code, the IAM actions, and the warnings of the production advice.
func TestManPageExitCodesIAMWarnings(t *testing.T) {
	page := string(metadata.Routeha("1.2.3").ManPage("suzlab", ""))
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
