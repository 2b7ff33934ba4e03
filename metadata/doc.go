package metadata

import (
	"bytes"
	"fmt"
	"strings"
)

// MarkdownTable renders the parameter table for the README.
func (a *Agent) MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| parameter | required | default | meaning |\n|---|---|---|---|\n")
	for _, p := range a.Params {
		req := ""
		switch {
		case p.Required && p.Unique:
			req = "yes, unique"
		case p.Required:
			req = "yes"
		}
		def := p.Default
		if def == "" {
			def = p.DefaultDoc
		}
		if def != "" && p.Default != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Name, req, def,
			strings.ReplaceAll(p.FullLongdesc(), "|", `\|`))
	}
	return b.String()
}

// ManPage renders ocf_<provider>_<name>(7) in the shape of resource-agents'
// ocf_heartbeat_* pages: name, synopsis, description, parameters, operations.
func (a *Agent) ManPage(provider, date string) []byte {
	var b bytes.Buffer
	title := "OCF_" + strings.ToUpper(provider) + "_" + strings.ToUpper(a.Name)
	fmt.Fprintf(&b, ".TH %s 7 \"%s\" \"%s %s\" \"OCF resource agents\"\n", title, date, a.Name, a.Version)
	fmt.Fprintf(&b, ".SH NAME\nocf_%s_%s \\- %s\n", provider, a.Name, roff(a.Shortdesc))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n[start | stop | monitor | validate-all | meta-data | usage]\n", a.Name)
	fmt.Fprintf(&b, ".SH DESCRIPTION\n%s\n", roff(a.Longdesc))
	b.WriteString(".SH SUPPORTED PARAMETERS\n")
	for _, p := range a.Params {
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fR\n%s\n.IP\n(%s", roff(p.Name), roff(p.FullLongdesc()), p.Type)
		if p.Required {
			b.WriteString(", required")
		}
		if p.Unique {
			b.WriteString(", unique")
		}
		if p.Default != "" {
			fmt.Fprintf(&b, ", default \\fI%s\\fR", roff(p.Default))
		}
		b.WriteString(")\n")
	}
	b.WriteString(".SH SUPPORTED ACTIONS\n.nf\n")
	for _, act := range a.Actions {
		fmt.Fprintf(&b, "\\fB%s\\fR timeout=%s", act.Name, seconds(act.Timeout))
		if act.Interval > 0 {
			fmt.Fprintf(&b, " interval=%s", seconds(act.Interval))
		}
		b.WriteString("\n")
	}
	b.WriteString(".fi\n")
	for _, sec := range a.Sections {
		fmt.Fprintf(&b, ".SH %s\n", strings.ToUpper(sec.Title))
		if sec.Intro != "" {
			fmt.Fprintf(&b, "%s\n", roff(sec.Intro))
		}
		for _, it := range sec.Items {
			fmt.Fprintf(&b, ".TP\n\\fB%s\\fR %s\n%s\n", roff(it.Term), roff(it.Label), roff(it.Text))
		}
	}
	b.WriteString(".SH EXAMPLE CRM SHELL\n.nf\n")
	fmt.Fprintf(&b, "primitive vip ocf:%s:%s \\\\\n  params ip=192.0.2.10 routing_table=rtb-0123456789abcdef0 \\\\\n  op monitor interval=10s timeout=30s\n", provider, a.Name)
	b.WriteString(".fi\n.SH EXAMPLE PCS\n.nf\n")
	fmt.Fprintf(&b, "pcs resource create vip ocf:%s:%s ip=192.0.2.10 routing_table=rtb-0123456789abcdef0 \\\\\n  op monitor interval=10s timeout=30s\n", provider, a.Name)
	b.WriteString(".fi\n.SH SEE ALSO\nocf_heartbeat_aws-vpc-move-ip(7), crm(8), pcs(8)\n")
	return b.Bytes()
}

// roff escapes text for a man page line.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
