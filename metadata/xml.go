package metadata

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
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
