package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/imdsfake"
)

// Node is one simulated cluster node: its own network namespace (its own lo
// for the VIP), its own IMDS and its own listener of the shared backend.
type Node struct {
	Name        string // "a" or "b"
	NS          *Netns
	InstanceID  string
	ENI         string
	MAC         string
	IP          string
	AZ          string
	AccessKeyID string // the node's principal in the emulator's log and IAM rules
	IMDS        *imdsfake.Server
	IMDSURL     string // reachable inside NS only
	EC2URL      string // the backend, reachable inside NS only
	RscTmp      string // HA_RSCTMP of the node
	Home        string
}

// NodeSpec is what a node is in the backend: its instance and primary ENI.
type NodeSpec struct {
	Name                                 string
	InstanceID, ENI, MAC, IP, AZ, Subnet string
	VPC, Region, Account                 string // IMDS's view; Region and Account default to the emulator's
}

// FixtureNodes are nodes "a" and "b" of the emulator's standard fixture.
func FixtureNodes() []NodeSpec {
	return []NodeSpec{
		{Name: "a", InstanceID: ec2emu.FixtureInstanceA, ENI: ec2emu.FixtureENIA, MAC: ec2emu.FixtureMACA, IP: ec2emu.FixtureIPA, AZ: ec2emu.FixtureAZA, Subnet: ec2emu.FixtureSubnetA, VPC: ec2emu.FixtureVPC},
		{Name: "b", InstanceID: ec2emu.FixtureInstanceB, ENI: ec2emu.FixtureENIB, MAC: ec2emu.FixtureMACB, IP: ec2emu.FixtureIPB, AZ: ec2emu.FixtureAZB, Subnet: ec2emu.FixtureSubnetB, VPC: ec2emu.FixtureVPC},
	}
}

// Options configure a World; the zero value is the emulator's standard
// two-node fixture.
type Options struct {
	// Backend answers the EC2 Query API (and STS) for every node. Nil: a
	// new emulator, World.Emu, holding State (nil: the standard fixture).
	// Moto's proxy (test/moto) is the other backend.
	Backend http.Handler
	State   *ec2emu.State
	// Front, when set, stands between one node and the backend (test/moto
	// records each node's requests with it).
	Front func(node string, backend http.Handler) http.Handler
	// Nodes default to FixtureNodes.
	Nodes []NodeSpec
	// Bin is the agent binary; default AgentBinary().
	Bin string
	// Dir holds the nodes' HA_RSCTMP and HOME; default a temporary
	// directory that Close removes.
	Dir string
}

// WithState starts the emulator with st (Options.State).
func WithState(st *ec2emu.State) func(*Options) { return func(o *Options) { o.State = st } }

// World is a backend and its nodes.
type World struct {
	Emu   *ec2emu.Emulator // the emulator, when it is the backend
	Nodes map[string]*Node
	Bin   string

	closers []func() error
}

// NewWorld builds the nodes, each in its own namespace with its own IMDS
// and its own listener of the backend. On error nothing is left behind;
// otherwise Close tears it down.
func NewWorld(opts Options) (w *World, err error) {
	if err := Check(); err != nil {
		return nil, err
	}
	w = &World{Nodes: map[string]*Node{}, Bin: opts.Bin}
	defer func() {
		if err != nil {
			_ = w.Close()
			w = nil
		}
	}()
	if w.Bin == "" {
		if w.Bin, err = AgentBinary(); err != nil {
			return w, err
		}
	}
	backend := opts.Backend
	if backend == nil {
		w.Emu = ec2emu.New(opts.State)
		backend = w.Emu
	}
	specs := opts.Nodes
	if specs == nil {
		specs = FixtureNodes()
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "routeha-lab-"); err != nil {
			return w, err
		}
		w.closers = append(w.closers, func() error { return os.RemoveAll(dir) })
	}
	for _, s := range specs {
		if w.Nodes[s.Name], err = w.node(s, backend, opts.Front, dir); err != nil {
			return w, fmt.Errorf("node %s: %w", s.Name, err)
		}
	}
	return w, nil
}

func (w *World) node(s NodeSpec, backend http.Handler, front func(string, http.Handler) http.Handler, dir string) (*Node, error) {
	ns, err := NewNetns()
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, ns.Close)
	region, account := s.Region, s.Account
	if region == "" {
		region = ec2emu.DefaultRegion
	}
	if account == "" {
		account = ec2emu.DefaultAccount
	}
	n := &Node{
		Name: s.Name, NS: ns, InstanceID: s.InstanceID, ENI: s.ENI, MAC: s.MAC, IP: s.IP, AZ: s.AZ,
		AccessKeyID: "AKIAROUTEHANODE" + strings.ToUpper(s.Name),
		IMDS: imdsfake.New(imdsfake.Config{
			InstanceID: s.InstanceID, Region: region, AZ: s.AZ, AccountID: account,
			Interfaces: []imdsfake.Interface{{MAC: s.MAC, ENI: s.ENI, DeviceIndex: 0, VPC: s.VPC, Subnet: s.Subnet, IP: s.IP}},
		}),
		RscTmp: filepath.Join(dir, s.Name, "rsctmp"),
		Home:   filepath.Join(dir, s.Name, "home"),
	}
	h := backend
	if front != nil {
		h = front(s.Name, backend)
	}
	if n.EC2URL, err = w.serve(ns, h); err != nil {
		return nil, err
	}
	if n.IMDSURL, err = w.serve(ns, n.IMDS); err != nil {
		return nil, err
	}
	for _, d := range []string{n.RscTmp, n.Home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (w *World) serve(ns *Netns, h http.Handler) (string, error) {
	url, stop, err := Serve(ns, h)
	if err != nil {
		return "", err
	}
	w.closers = append(w.closers, stop)
	return url, nil
}

// Close stops the servers and removes the namespaces and directories, in
// the reverse order of their making.
func (w *World) Close() error {
	var errs []error
	for i := len(w.closers) - 1; i >= 0; i-- {
		errs = append(errs, w.closers[i]())
	}
	w.closers = nil
	return errors.Join(errs...)
}

// Node returns a node by name, nil when there is none.
func (w *World) Node(name string) *Node { return w.Nodes[name] }

// Agent returns a Runner of the agent binary on a node, as Pacemaker runs
// a resource "vip" with a 20 s timeout.
func (w *World) Agent(node string) *Runner {
	return &Runner{Bin: w.Bin, Node: w.Node(node), Resource: "vip", Timeout: 20 * time.Second}
}

// Serve starts an HTTP server for h on 127.0.0.1:0 inside ns and returns
// its URL, reachable inside ns only, and the function that stops it.
func Serve(ns *Netns, h http.Handler) (url string, stop func() error, err error) {
	ln, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen in %s: %w", ns.Name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			return srv.Close()
		}
		return nil
	}
	return "http://" + ln.Addr().String(), stop, nil
}
