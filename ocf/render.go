package ocf

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// XML renders the meta-data Pacemaker reads with the meta-data action. It
// validates against resource-agents' ra-api-1.dtd (which Debian's ocf-tester
// checks with xmllint --valid), so it uses only what that DTD allows:
// longdesc before shortdesc, required/unique attributes, the four content
// types, and the DTD's action names.
func (a *Agent) XML() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?>` + "\n")
	b.WriteString(`<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">` + "\n")
	fmt.Fprintf(&b, "<resource-agent name=%s version=%s>\n", attr(a.Name), attr(a.Version))
	b.WriteString("<version>1.0</version>\n")
	fmt.Fprintf(&b, "<longdesc lang=\"en\">\n%s\n</longdesc>\n", text(a.Longdesc))
	fmt.Fprintf(&b, "<shortdesc lang=\"en\">%s</shortdesc>\n", text(a.Shortdesc))
	b.WriteString("\n<parameters>\n")
	for _, p := range a.Params {
		fmt.Fprintf(&b, "<parameter name=%s required=\"%s\" unique=\"%s\">\n",
			attr(p.Name), bit(p.Required), bit(p.Unique))
		fmt.Fprintf(&b, "<longdesc lang=\"en\">\n%s\n</longdesc>\n", text(p.FullLongdesc()))
		fmt.Fprintf(&b, "<shortdesc lang=\"en\">%s</shortdesc>\n", text(p.Shortdesc))
		if p.Default != "" {
			fmt.Fprintf(&b, "<content type=\"%s\" default=%s />\n", p.Type, attr(p.Default))
		} else {
			fmt.Fprintf(&b, "<content type=\"%s\" />\n", p.Type)
		}
		b.WriteString("</parameter>\n\n")
	}
	b.WriteString("</parameters>\n\n<actions>\n")
	for _, act := range a.Actions {
		fmt.Fprintf(&b, "<action name=%s timeout=\"%s\"", attr(act.Name), seconds(act.Timeout))
		if act.Interval > 0 {
			fmt.Fprintf(&b, " interval=\"%s\"", seconds(act.Interval))
		}
		if act.HasDepth {
			fmt.Fprintf(&b, " depth=\"%d\"", act.Depth)
		}
		b.WriteString(" />\n")
	}
	b.WriteString("</actions>\n</resource-agent>\n")
	return b.Bytes()
}

// FullLongdesc is the long description with the allowed values and the
// computed default appended, so every front end (crm ra info, pcs resource
// describe, the man page) shows them without repeating them in the table.
func (p Param) FullLongdesc() string {
	s := p.Longdesc
	if len(p.Choices) > 0 {
		s += " Allowed values: "
		for i, c := range p.Choices {
			if i > 0 {
				s += ", "
			}
			s += c
		}
		s += "."
	}
	if p.DefaultDoc != "" {
		s += " Default: " + p.DefaultDoc + "."
	}
	if p.AliasOf != "" {
		s += " (deprecated)"
	}
	return s
}

func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func text(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func attr(s string) string { return `"` + text(s) + `"` }

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
	synopsis := make([]string, 0, len(a.Actions)+1)
	for _, act := range a.Actions {
		synopsis = append(synopsis, act.Name)
	}
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n[%s]\n", a.Name, strings.Join(append(synopsis, "usage"), " | "))
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
