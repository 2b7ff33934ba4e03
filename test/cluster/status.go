package cluster

import (
	"context"
	"encoding/xml"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Status is the part of `crm_mon -1 --output-as=xml` the tests use.
type Status struct {
	DC        string // name of the DC, "" when none
	Nodes     []NodeStatus
	Resources []Resource
	Failures  []Failure
	Raw       string // the XML
}

// NodeStatus is one <node> of crm_mon's <nodes>.
type NodeStatus struct {
	Name    string `xml:"name,attr"`
	ID      string `xml:"id,attr"`
	Online  bool   `xml:"online,attr"`
	Standby bool   `xml:"standby,attr"`
	Unclean bool   `xml:"unclean,attr"`
	DC      bool   `xml:"is_dc,attr"`
}

// Resource is one primitive of crm_mon's <resources>.
type Resource struct {
	ID      string   `xml:"id,attr"`
	Agent   string   `xml:"resource_agent,attr"`
	Role    string   `xml:"role,attr"`
	Active  bool     `xml:"active,attr"`
	Failed  bool     `xml:"failed,attr"`
	Blocked bool     `xml:"blocked,attr"`
	Managed bool     `xml:"managed,attr"`
	On      []string `xml:"-"`
	NodesX  []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

// Failure is one failed action of crm_mon's <failures>.
type Failure struct {
	OpKey      string `xml:"op_key,attr"`
	Node       string `xml:"node,attr"`
	ExitStatus string `xml:"exitstatus,attr"`
	ExitReason string `xml:"exitreason,attr"`
	ExitCode   int    `xml:"exitcode,attr"`
	Call       string `xml:"call,attr"`
	Status     string `xml:"status,attr"`
	Task       string `xml:"task,attr"`
	Interval   string `xml:"interval,attr"`
}

type crmMonXML struct {
	Summary struct {
		DC struct {
			Present bool   `xml:"present,attr"`
			Name    string `xml:"name,attr"`
		} `xml:"current_dc"`
	} `xml:"summary"`
	Nodes     []NodeStatus `xml:"nodes>node"`
	Resources struct {
		Primitives []Resource `xml:"resource"`
		Groups     []struct {
			Primitives []Resource `xml:"resource"`
		} `xml:"group"`
		Clones []struct {
			Primitives []Resource `xml:"resource"`
		} `xml:"clone"`
	} `xml:"resources"`
	Failures []Failure `xml:"failures>failure"`
}

// ParseStatus parses the output of `crm_mon -1 --output-as=xml`.
func ParseStatus(raw []byte) (*Status, error) {
	var x crmMonXML
	if err := xml.Unmarshal(raw, &x); err != nil {
		return nil, fmt.Errorf("cluster: crm_mon XML: %w", err)
	}
	st := &Status{Nodes: x.Nodes, Failures: x.Failures, Raw: string(raw)}
	if x.Summary.DC.Present {
		st.DC = x.Summary.DC.Name
	}
	add := func(rs []Resource) {
		for _, r := range rs {
			for _, n := range r.NodesX {
				r.On = append(r.On, n.Name)
			}
			r.NodesX = nil
			st.Resources = append(st.Resources, r)
		}
	}
	add(x.Resources.Primitives)
	for _, g := range x.Resources.Groups {
		add(g.Primitives)
	}
	for _, c := range x.Resources.Clones {
		add(c.Primitives)
	}
	return st, nil
}

// Node returns the status of the node called name, or nil.
func (s *Status) Node(name string) *NodeStatus {
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return &s.Nodes[i]
		}
	}
	return nil
}

// Resource returns the resource with id, or nil.
func (s *Status) Resource(id string) *Resource {
	for i := range s.Resources {
		if s.Resources[i].ID == id {
			return &s.Resources[i]
		}
	}
	return nil
}

// Started reports whether the resource is Started on node ("" for any node).
func (r *Resource) Started(node string) bool {
	if r == nil || r.Role != "Started" || !r.Active {
		return false
	}
	if node == "" {
		return true
	}
	for _, n := range r.On {
		if n == node {
			return true
		}
	}
	return false
}

// Status runs crm_mon -1 --output-as=xml inside the node and parses it.
func (n *Node) Status(ctx context.Context) (*Status, error) {
	if n.PID() == 0 {
		return nil, fmt.Errorf("cluster: node %s not running", n.Name)
	}
	cmd := n.Command(ctx, "crm_mon", "-1", "--output-as=xml")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("cluster: crm_mon on %s: %w: %s", n.Name, err, ee.Stderr)
		}
		return nil, fmt.Errorf("cluster: crm_mon on %s: %w", n.Name, err)
	}
	return ParseStatus(out)
}

// WaitFor polls the node's status (every 250 ms) until cond holds, and
// returns that status. On timeout the error carries the last status or
// crm_mon error.
func (n *Node) WaitFor(ctx context.Context, what string, cond func(*Status) bool) (*Status, error) {
	var last error
	var lastSt *Status
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := n.Status(cctx)
		cancel()
		if err == nil {
			lastSt = st
			if cond(st) {
				return st, nil
			}
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			if lastSt != nil {
				return lastSt, fmt.Errorf("cluster: node %s: waiting for %s: %w; last status:\n%s", n.Name, what, ctx.Err(), lastSt.Raw)
			}
			return nil, fmt.Errorf("cluster: node %s: waiting for %s: %w; last error: %v", n.Name, what, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// WaitOnline waits until the node sees a DC and every named node online (the
// node itself when names is empty).
func (n *Node) WaitOnline(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		names = []string{n.Name}
	}
	_, err := n.WaitFor(ctx, "online: "+strings.Join(names, ","), func(s *Status) bool {
		if s.DC == "" {
			return false
		}
		for _, name := range names {
			ns := s.Node(name)
			if ns == nil || !ns.Online {
				return false
			}
		}
		return true
	})
	return err
}

// WaitStarted waits until resource id is Started on node ("" for any node),
// as this node sees it, and returns the resource.
func (n *Node) WaitStarted(ctx context.Context, id, node string) (*Resource, error) {
	st, err := n.WaitFor(ctx, id+" started", func(s *Status) bool {
		return s.Resource(id).Started(node)
	})
	if err != nil {
		return nil, err
	}
	return st.Resource(id), nil
}

// WaitFailure waits until crm_mon lists a failed action of resource id
// (op_key starting with "<id>_") and returns it.
func (n *Node) WaitFailure(ctx context.Context, id string) (*Failure, error) {
	var f *Failure
	_, err := n.WaitFor(ctx, id+" failure", func(s *Status) bool {
		for i := range s.Failures {
			if strings.HasPrefix(s.Failures[i].OpKey, id+"_") {
				f = &s.Failures[i]
				return true
			}
		}
		return false
	})
	return f, err
}

// hideScript is a shell command for a private mount namespace that puts
// an empty file (/dev/null) over each of files that exists; "true" when
// there are none.
func hideScript(files []string) string {
	parts := []string{"true"}
	for _, f := range files {
		q := "'" + strings.ReplaceAll(f, "'", `'\''`) + "'"
		parts = append(parts, "{ [ ! -e "+q+" ] || mount --bind /dev/null "+q+"; }")
	}
	return strings.Join(parts, " && ")
}

// AgentCommand returns a command that runs name in a private mount
// namespace in which the agents staged by StageAgents in dir appear under
// /usr/lib/ocf/resource.d (an overlay), so that tools which only look there
// (crm ra info, pcs resource describe, crm_resource --validate) find them
// while the host's /usr stays untouched. The files in hide read as empty
// there (Config.Hide).
func AgentCommand(ctx context.Context, dir string, hide []string, name string, args ...string) *exec.Cmd {
	// crmsh logs to /var/log/crmsh: a tmpfs there, private to this mount
	// namespace, keeps the tools from writing to the host's log.
	script := `mount --make-rprivate / && mount -t overlay overlay -o "lowerdir=$1:/usr/lib/ocf/resource.d" /usr/lib/ocf/resource.d && { [ ! -d /var/log/crmsh ] || mount -t tmpfs tmpfs /var/log/crmsh; } && ` + hideScript(hide) + ` && shift && exec "$@"`
	full := append([]string{"--mount", "--", "/bin/sh", "-c", script, "sh", dir, name}, args...)
	cmd := exec.CommandContext(ctx, "unshare", full...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// NVPair is a name and value of a CIB attribute set.
type NVPair struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Op is an operation of a primitive as the CIB holds it.
type Op struct {
	Name     string `xml:"name,attr"`
	Interval string `xml:"interval,attr"`
	Timeout  string `xml:"timeout,attr"`
}

// Primitive is a primitive resource as the CIB holds it.
type Primitive struct {
	ID       string   `xml:"id,attr"`
	Class    string   `xml:"class,attr"`
	Provider string   `xml:"provider,attr"`
	Type     string   `xml:"type,attr"`
	Params   []NVPair `xml:"instance_attributes>nvpair"`
	Ops      []Op     `xml:"operations>op"`
}
