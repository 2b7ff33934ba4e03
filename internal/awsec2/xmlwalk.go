package awsec2

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/suzlab/routeha/agent"
)

// A DescribeRouteTables answer for 50 tables is about 60 KB of XML, read
// on every monitor. encoding/xml's reflection-driven Unmarshal spent a
// fifth of such a monitor allocating a token per element; walkXML reads
// the same answer in one pass over the bytes, allocating only the strings
// it keeps. It covers the XML the Query protocol uses (elements, text,
// entities, comments, processing instructions, CDATA) and rejects
// anything malformed, so that a truncated or non-XML body is an error,
// never a short answer.

type xmlEvent int

const (
	xmlStart xmlEvent = iota
	xmlEnd
)

// walkXML calls fn at the start and at the end of every element, with the
// local names of the elements from the root to it; at the end, text is the
// element's own character data (that of its children left out), as
// encoding/xml gives it to a string field. text is only valid during the
// call.
func walkXML(data []byte, fn func(ev xmlEvent, path [][]byte, text []byte) error) error {
	var (
		path     [][]byte // local names of the open elements
		open     [][]byte // their qualified names, to match end tags
		texts    [][]byte // their character data so far
		rootDone bool
	)
	for i := 0; i < len(data); {
		if data[i] != '<' {
			j := bytes.IndexByte(data[i:], '<')
			if j < 0 {
				j = len(data) - i
			}
			chunk := data[i : i+j]
			i += j
			if len(path) == 0 {
				if len(bytes.TrimSpace(chunk)) != 0 {
					return errors.New("text outside the root element")
				}
				continue
			}
			top := len(texts) - 1
			var err error
			if texts[top], err = appendUnescaped(texts[top], chunk); err != nil {
				return err
			}
			continue
		}
		rest := data[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest, []byte("?>"))
			if end < 0 {
				return errors.New("unterminated processing instruction")
			}
			i += end + 2
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return errors.New("unterminated comment")
			}
			i += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest, []byte("]]>"))
			if end < 0 || len(path) == 0 {
				return errors.New("misplaced or unterminated CDATA section")
			}
			texts[len(texts)-1] = append(texts[len(texts)-1], rest[9:end]...)
			i += end + 3
		case bytes.HasPrefix(rest, []byte("<!")):
			// A DOCTYPE: skipped, as encoding/xml does, unless it has an
			// internal subset, which no Query answer has.
			end := bytes.IndexByte(rest, '>')
			if end < 0 || bytes.IndexByte(rest[:end], '[') >= 0 || len(path) != 0 || rootDone {
				return errors.New("unsupported or misplaced <! directive")
			}
			i += end + 1
		case bytes.HasPrefix(rest, []byte("</")):
			end := bytes.IndexByte(rest, '>')
			if end < 0 {
				return errors.New("unterminated end tag")
			}
			name := bytes.TrimRight(rest[2:end], " \t\r\n")
			if len(open) == 0 || !bytes.Equal(open[len(open)-1], name) {
				return fmt.Errorf("end tag %s does not close the open element", shown(name))
			}
			if err := fn(xmlEnd, path, texts[len(texts)-1]); err != nil {
				return err
			}
			path, open, texts = path[:len(path)-1], open[:len(open)-1], texts[:len(texts)-1]
			rootDone = len(path) == 0
			i += end + 1
		default:
			end, selfClosing, err := startTagEnd(rest)
			if err != nil {
				return err
			}
			name := rest[1:]
			if k := bytes.IndexAny(name, " \t\r\n/>"); k >= 0 {
				name = name[:k]
			}
			if !validName(name) {
				return fmt.Errorf("invalid element name %s", shown(name))
			}
			if rootDone {
				return errors.New("a second root element")
			}
			local := name
			if k := bytes.LastIndexByte(name, ':'); k >= 0 {
				local = name[k+1:]
			}
			// The text buffer of this depth is reused from an earlier
			// sibling, emptied.
			path, open = append(path, local), append(open, name)
			if len(texts) < cap(texts) {
				texts = texts[:len(texts)+1]
				texts[len(texts)-1] = texts[len(texts)-1][:0]
			} else {
				texts = append(texts, nil)
			}
			if err := fn(xmlStart, path, nil); err != nil {
				return err
			}
			if selfClosing {
				if err := fn(xmlEnd, path, nil); err != nil {
					return err
				}
				path, open, texts = path[:len(path)-1], open[:len(open)-1], texts[:len(texts)-1]
				rootDone = len(path) == 0
			}
			i += end + 1
		}
	}
	switch {
	case len(path) > 0:
		return fmt.Errorf("the document ends inside element %s", shown(open[len(open)-1]))
	case !rootDone:
		return errors.New("no element")
	}
	return nil
}

// shown quotes a piece of an answer for an error message, cut short: the
// answer is not trusted to be short or printable.
func shown(b []byte) string {
	if len(b) > 32 {
		return fmt.Sprintf("%q...", b[:32])
	}
	return fmt.Sprintf("%q", b)
}

// startTagEnd finds the '>' that ends a start tag, outside attribute
// quotes, and says whether the tag closes itself.
func startTagEnd(tag []byte) (end int, selfClosing bool, err error) {
	var quote byte
	for k := 1; k < len(tag); k++ {
		c := tag[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			return 0, false, errors.New("'<' inside a tag")
		case c == '>':
			return k, tag[k-1] == '/', nil
		}
	}
	return 0, false, errors.New("unterminated start tag")
}

func validName(b []byte) bool {
	if len(b) == 0 || b[0] == ':' || b[0] == '-' || b[0] == '.' || (b[0] >= '0' && b[0] <= '9') {
		return false
	}
	for _, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c == ':' || c >= 0x80
		if !ok {
			return false
		}
	}
	return true
}

// appendUnescaped appends character data with its five predefined
// entities and character references replaced.
func appendUnescaped(dst, s []byte) ([]byte, error) {
	for {
		amp := bytes.IndexByte(s, '&')
		if amp < 0 {
			return append(dst, s...), nil
		}
		dst = append(dst, s[:amp]...)
		s = s[amp:]
		semi := bytes.IndexByte(s, ';')
		if semi < 0 || semi > 12 {
			return nil, errors.New("unterminated entity")
		}
		ent := string(s[1:semi])
		switch ent {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			var n uint64
			var err error
			switch {
			case len(ent) > 2 && ent[0] == '#' && ent[1] == 'x':
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			case len(ent) > 1 && ent[0] == '#':
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			default:
				return nil, fmt.Errorf("unknown entity %s", shown([]byte(ent)))
			}
			if err != nil || !utf8.ValidRune(rune(n)) {
				return nil, fmt.Errorf("invalid character reference %s", shown([]byte(ent)))
			}
			dst = utf8.AppendRune(dst, rune(n))
		}
		s = s[semi+1:]
	}
}

// pathIs says whether path is exactly these local names, the root's
// (whatever it is called) left out.
func pathIs(path [][]byte, names ...string) bool {
	if len(path) != len(names)+1 {
		return false
	}
	for k, n := range names {
		if string(path[k+1]) != n {
			return false
		}
	}
	return true
}

// routeTablesAnswer is what routeha reads of a DescribeRouteTables answer.
type routeTablesAnswer struct {
	Tables    []agent.Table
	NextToken string
}

func (r *routeTablesAnswer) decodeQuery(data []byte) error {
	out, err := decodeRouteTables(data)
	*r = out
	return err
}

// pendingRoute gathers one route's elements until its end tag.
type pendingRoute struct {
	dst4, dst6, instance, eni, state string
	// targets other than an instance or an ENI, in the order in which
	// the first one present names the route's gateway.
	targets [8]string
}

// routeTarget is the index in pendingRoute.targets of an element, or -1.
func routeTarget(name string) int {
	switch name {
	case "gatewayId":
		return 0
	case "natGatewayId":
		return 1
	case "transitGatewayId":
		return 2
	case "vpcPeeringConnectionId":
		return 3
	case "egressOnlyInternetGatewayId":
		return 4
	case "localGatewayId":
		return 5
	case "carrierGatewayId":
		return 6
	case "coreNetworkArn":
		return 7
	}
	return -1
}

// route is the finished route; false for one that is not an IP route (a
// prefix list destination and the like).
func (r *pendingRoute) route() (agent.Route, bool) {
	s := r.dst4
	if s == "" {
		s = r.dst6
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return agent.Route{}, false
	}
	rt := agent.Route{Destination: p.Masked(), InstanceID: r.instance, ENI: r.eni, Blackhole: r.state == "blackhole"}
	for _, g := range r.targets {
		if g != "" {
			rt.Gateway = g
			break
		}
	}
	return rt, true
}

// decodeRouteTables reads a DescribeRouteTables answer straight into the
// agent's tables. FuzzDecodeRouteTables holds it to encoding/xml reading the
// same answer.
func decodeRouteTables(data []byte) (routeTablesAnswer, error) {
	var (
		out    routeTablesAnswer
		route  pendingRoute
		main   bool   // of the association being read
		subnet string // of the association being read
	)
	// Route targets, VPC and subnet ids repeat from table to table; one
	// string each.
	seen := map[string]string{}
	str := func(b []byte) string {
		if s, ok := seen[string(b)]; ok {
			return s
		}
		s := string(b)
		seen[s] = s
		return s
	}
	err := walkXML(data, func(ev xmlEvent, path [][]byte, text []byte) error {
		var t *agent.Table
		if len(path) >= 3 && pathIs(path[:3], "routeTableSet", "item") {
			if ev == xmlStart && len(path) == 3 {
				out.Tables = append(out.Tables, agent.Table{})
			}
			t = &out.Tables[len(out.Tables)-1]
		}
		switch {
		case ev == xmlStart:
			switch {
			case pathIs(path, "routeTableSet", "item", "routeSet", "item"):
				route = pendingRoute{}
			case pathIs(path, "routeTableSet", "item", "associationSet", "item"):
				main, subnet = false, ""
			}
		case pathIs(path, "nextToken"):
			out.NextToken = string(text)
		case t == nil:
		case len(path) == 4:
			switch string(path[3]) {
			case "routeTableId":
				t.ID = string(text)
			case "vpcId":
				t.VPCID = str(text)
			}
		case pathIs(path, "routeTableSet", "item", "routeSet", "item"):
			if rt, ok := route.route(); ok {
				t.Routes = append(t.Routes, rt)
			}
		case pathIs(path, "routeTableSet", "item", "associationSet", "item"):
			t.Main = t.Main || main
			if subnet != "" {
				t.Subnets = append(t.Subnets, subnet)
			}
		case len(path) == 6 && pathIs(path[:5], "routeTableSet", "item", "routeSet", "item"):
			switch name := string(path[5]); name {
			case "destinationCidrBlock":
				route.dst4 = str(text)
			case "destinationIpv6CidrBlock":
				route.dst6 = str(text)
			case "instanceId":
				route.instance = str(text)
			case "networkInterfaceId":
				route.eni = str(text)
			case "state":
				route.state = str(text)
			default:
				if k := routeTarget(name); k >= 0 {
					route.targets[k] = str(text)
				}
			}
		case len(path) == 6 && pathIs(path[:5], "routeTableSet", "item", "associationSet", "item"):
			switch string(path[5]) {
			case "main":
				// As encoding/xml reads a bool: empty is false, blank
				// or anything else not strconv's is an error.
				main = false
				if len(text) > 0 {
					b, err := strconv.ParseBool(string(bytes.TrimSpace(text)))
					if err != nil {
						return fmt.Errorf("association main %s: %w", shown(text), err)
					}
					main = b
				}
			case "subnetId":
				subnet = str(text)
			}
		}
		return nil
	})
	if err != nil {
		return routeTablesAnswer{}, err
	}
	return out, nil
}
