// Package demo is a real two-node Pacemaker failover of routeha on one
// machine: a "VPC router" network namespace whose kernel routes follow the
// EC2 emulator's route table, two cluster nodes (each its own network,
// mount, UTS and PID namespace, with its own IMDS), and a client namespace
// that pings the VIP through the router while faults are injected.
//
// `make demo` runs it through cmd/demo; `go test` (as root) runs scenarios
// 1-3 and checks their outcomes.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/suzlab/routeha/test/lab"

	"github.com/vishvananda/netlink"

	"github.com/suzlab/routeha/test/cluster"
	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/imdsfake"
)

// The demo's world.
const (
	VIP      = "192.0.2.10"
	VIPCIDR  = VIP + "/32"
	Table    = ec2emu.FixtureRouteTable1
	Resource = "vip"

	ClientIP = "10.0.3.10"
	emuPort  = "4566"
	imdsAddr = "127.0.0.1:1338"

	// A third instance, not in the cluster, that a route can be pointed
	// at behind the cluster's back (scenario 2). Its address has no host.
	OtherInstance = "i-0ccccccccccccccc3"
	OtherENI      = "eni-0ccccccccccccccc3"
	OtherIP       = "10.0.1.99"

	// FailureTimeout (rsc_defaults) lets a node whose start or monitor
	// failed run the resource again without `crm resource cleanup`: a
	// start that failed while the EC2 API was down is retried once it
	// expires. StartTimeout is the demo's start timeout, short so that
	// scenario 10b outlasts it.
	FailureTimeout = "60s"
	StartTimeout   = "20s"
)

// Options configure a Lab. Agent and Dir are required.
type Options struct {
	Agent        string        // the routeha binary
	Dir          string        // node directories and logs
	PingInterval time.Duration // default 100ms
	Monitor      string        // monitor interval, default "2s"
	// Token and Consensus are corosync's totem timeouts (default 1s and
	// corosync's own 1.2 × token); the vendor guides for AWS use 30s
	// and 36s.
	Token, Consensus time.Duration
	// OutageFor is how long scenarios 7, 8 and 9 keep the API down;
	// default DefaultOutageFor. The test shortens it: the claims are the
	// same.
	OutageFor time.Duration
	// FailureTimeout is rsc_defaults' failure-timeout, default the
	// constant FailureTimeout; LongAPIBack is when scenario 10b's API
	// returns, default DefaultLongAPIBack. The test shortens both, keeping
	// StartTimeout < LongAPIBack < StartTimeout + FailureTimeout: the start
	// fails while the API is down, failure-timeout alone brings the
	// resource back after the API's return.
	FailureTimeout string
	LongAPIBack    time.Duration
	// StateFile, when set, gets one line per network namespace created
	// ("netns NAME"), so that a wrapper can remove them if this process
	// is killed before Close.
	StateFile string
	Logf      func(format string, args ...any)
}

// Node is one cluster node of the lab.
type Node struct {
	Name     string // hostname and Pacemaker node name
	NS       string // network namespace
	IP       string // ENI private IP, corosync ring0
	GW       string // the router's address on its subnet
	Instance string
	ENI      string
	MAC      string
	AZ       string
	IMDS     *imdsfake.Server
	*cluster.Node
}

// RouteEvent is a change of the VIP's kernel route in the router namespace.
type RouteEvent struct {
	Time    time.Time
	Target  string // ENI in the emulator
	NextHop string // kernel next hop ("" for blackhole or none)
}

// Lab is the running world.
type Lab struct {
	opts     Options
	ID       string
	RouterNS string
	ClientNS string
	Nodes    []*Node
	Emu      *ec2emu.Emulator
	Cluster  *cluster.Cluster
	Prober   *Prober

	netns   map[string]*lab.Netns // by name
	created []*lab.Netns          // in the order of their making
	servers []*http.Server
	router  *ec2emu.Router

	hooks Hooks

	mu     sync.Mutex
	events []RouteEvent
	closed bool
}

func (l *Lab) logf(format string, args ...any) {
	if l.opts.Logf != nil {
		l.opts.Logf(format, args...)
	}
}

// State returns the emulator's starting state: the standard two-node
// fixture with Source/Dest. Check off (as the post prescribes), a third
// instance, and the VIP's route pointing at node A (as in the post).
func State() *ec2emu.State {
	st := ec2emu.StandardFixture().SourceDestCheckOff()
	st.Instances = append(st.Instances, ec2emu.Instance{ID: OtherInstance, VPC: ec2emu.FixtureVPC, Subnet: ec2emu.FixtureSubnetA, AZ: ec2emu.FixtureAZA, State: "running", SourceDestCheck: false})
	st.ENIs = append(st.ENIs, ec2emu.ENI{ID: OtherENI, Instance: OtherInstance, MAC: "02:00:00:00:00:c3", PrivateIP: OtherIP, Subnet: ec2emu.FixtureSubnetA})
	rt := st.RouteTable(Table)
	rt.Routes = append(rt.Routes, ec2emu.Route{DestinationCIDR: VIPCIDR, InstanceID: ec2emu.FixtureInstanceA, NetworkInterfaceID: ec2emu.FixtureENIA, Origin: "CreateRoute"})
	return st
}

// New builds the world and starts the cluster, with the resource
// configured through crmsh and started. Close it in every case.
func New(ctx context.Context, opts Options) (l *Lab, err error) {
	if opts.PingInterval == 0 {
		opts.PingInterval = 100 * time.Millisecond
	}
	if opts.Monitor == "" {
		opts.Monitor = "2s"
	}
	if opts.Token == 0 {
		opts.Token = time.Second
	}
	if opts.OutageFor == 0 {
		opts.OutageFor = DefaultOutageFor
	}
	if opts.FailureTimeout == "" {
		opts.FailureTimeout = FailureTimeout
	}
	if opts.LongAPIBack == 0 {
		opts.LongAPIBack = DefaultLongAPIBack
	}
	if _, err := os.Stat(opts.Agent); err != nil {
		return nil, fmt.Errorf("routeha binary: %w", err)
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	l = &Lab{opts: opts, ID: hex.EncodeToString(rnd[:])}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()
	l.RouterNS = "rhd-" + l.ID + "-vpc"
	l.ClientNS = "rhd-" + l.ID + "-client"
	l.Nodes = []*Node{
		{Name: "ip-10-0-1-10", NS: "rhd-" + l.ID + "-a", IP: ec2emu.FixtureIPA, GW: "10.0.1.1",
			Instance: ec2emu.FixtureInstanceA, ENI: ec2emu.FixtureENIA, MAC: ec2emu.FixtureMACA, AZ: ec2emu.FixtureAZA},
		{Name: "ip-10-0-2-10", NS: "rhd-" + l.ID + "-b", IP: ec2emu.FixtureIPB, GW: "10.0.2.1",
			Instance: ec2emu.FixtureInstanceB, ENI: ec2emu.FixtureENIB, MAC: ec2emu.FixtureMACB, AZ: ec2emu.FixtureAZB},
	}
	if err := l.network(); err != nil {
		return l, err
	}
	if err := l.startEmulator(); err != nil {
		return l, err
	}
	if err := l.startIMDS(); err != nil {
		return l, err
	}
	if err := l.startCluster(ctx); err != nil {
		return l, err
	}
	if l.Prober, err = NewProber(l.ClientNS, netip.MustParseAddr(VIP), opts.PingInterval); err != nil {
		return l, err
	}
	if _, ok := l.Prober.WaitAnswered(ctx, time.Now(), 20*time.Second); !ok {
		return l, errors.New("the client gets no answer from the VIP")
	}
	return l, nil
}

func (l *Lab) addNetns(name string) error {
	ns, err := lab.CreateNetns(name)
	if err != nil {
		return err
	}
	if l.netns == nil {
		l.netns = map[string]*lab.Netns{}
	}
	l.netns[name] = ns
	l.created = append(l.created, ns)
	if l.opts.StateFile != "" {
		f, err := os.OpenFile(l.opts.StateFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			fmt.Fprintf(f, "netns %s\n", name)
			f.Close()
		}
	}
	return nil
}

// network creates the namespaces and veth pairs. Both ends of every pair
// are created inside a lab namespace: nothing appears on the host.
func (l *Lab) network() error {
	for _, ns := range []string{l.RouterNS, l.ClientNS, l.Nodes[0].NS, l.Nodes[1].NS} {
		if err := l.addNetns(ns); err != nil {
			return err
		}
	}
	r := l.RouterNS
	type link struct {
		ns, rdev, raddr, addr, gw, mac string
	}
	links := []link{
		{l.Nodes[0].NS, "to-a", "10.0.1.1/24", l.Nodes[0].IP + "/24", "10.0.1.1", l.Nodes[0].MAC},
		{l.Nodes[1].NS, "to-b", "10.0.2.1/24", l.Nodes[1].IP + "/24", "10.0.2.1", l.Nodes[1].MAC},
		{l.ClientNS, "to-client", "10.0.3.1/24", ClientIP + "/24", "10.0.3.1", "02:00:00:00:00:03"},
	}
	for _, k := range links {
		steps := [][]string{
			{"-n", r, "link", "add", k.rdev, "type", "veth", "peer", "name", "eth0", "netns", k.ns},
			{"-n", k.ns, "link", "set", "eth0", "address", k.mac},
			{"-n", r, "addr", "add", k.raddr, "dev", k.rdev},
			{"-n", k.ns, "addr", "add", k.addr, "dev", "eth0"},
			{"-n", r, "link", "set", k.rdev, "up"},
			{"-n", k.ns, "link", "set", "eth0", "up"},
			{"-n", k.ns, "route", "add", "default", "via", k.gw},
		}
		for _, s := range steps {
			if err := lab.IP(s...); err != nil {
				return err
			}
		}
	}
	// The router forwards; reverse-path filtering would drop the VIP's
	// replies, whose source is not on the link they arrive from.
	return l.netns[r].Do(func() error {
		for _, kv := range [][2]string{
			{"net/ipv4/ip_forward", "1"},
			{"net/ipv4/conf/all/rp_filter", "0"},
			{"net/ipv4/conf/default/rp_filter", "0"},
		} {
			if err := os.WriteFile("/proc/sys/"+kv[0], []byte(kv[1]), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

func (l *Lab) startEmulator() error {
	var err error
	if l.router, err = ec2emu.NewRouterAt(l.netns[l.RouterNS].Handle(), Table); err != nil {
		return err
	}
	st := State()
	apply := func(s *ec2emu.State) {
		if err := l.router.Apply(s); err != nil {
			l.logf("router: %v", err)
		}
		l.recordRoute(s)
	}
	l.Emu = ec2emu.New(st, ec2emu.WithOnChange(apply))
	apply(l.Emu.Snapshot())
	ln, err := l.netns[l.RouterNS].Listen("tcp", "0.0.0.0:"+emuPort)
	if err != nil {
		return err
	}
	l.serve(ln, l.Emu)
	return nil
}

func (l *Lab) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	l.servers = append(l.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// recordRoute notes the VIP route's target and the router's kernel next hop
// when they change.
func (l *Lab) recordRoute(s *ec2emu.State) {
	now := time.Now()
	target := ""
	if rt := s.RouteTable(Table); rt != nil {
		if r := rt.Route(VIPCIDR); r != nil {
			target = r.NetworkInterfaceID
			if target == "" {
				target = r.InstanceID
			}
		}
	}
	nh := l.KernelNextHop()
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.events); n > 0 && l.events[n-1].Target == target && l.events[n-1].NextHop == nh {
		return
	}
	l.events = append(l.events, RouteEvent{Time: now, Target: target, NextHop: nh})
}

// Events returns the route changes so far.
func (l *Lab) Events() []RouteEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]RouteEvent(nil), l.events...)
}

// KernelNextHop returns the next hop of the router's kernel route for the
// VIP ("" when there is none or it is a blackhole).
func (l *Lab) KernelNextHop() string {
	h, err := l.netns[l.RouterNS].Netlink()
	if err != nil {
		return ""
	}
	defer h.Close()
	_, dst, _ := net.ParseCIDR(VIPCIDR)
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: dst}, netlink.RT_FILTER_DST)
	if err != nil {
		return ""
	}
	for _, r := range routes {
		if r.Gw != nil {
			return r.Gw.String()
		}
	}
	return ""
}

// RouteTarget returns the ENI (or instance) the emulator's table routes the
// VIP to.
func (l *Lab) RouteTarget() string {
	rt := l.Emu.Snapshot().RouteTable(Table)
	if rt == nil {
		return ""
	}
	if r := rt.Route(VIPCIDR); r != nil {
		return r.ENIOrInstance()
	}
	return ""
}

func (l *Lab) startIMDS() error {
	for _, n := range l.Nodes {
		subnet := ec2emu.FixtureSubnetA
		if n.AZ == ec2emu.FixtureAZB {
			subnet = ec2emu.FixtureSubnetB
		}
		n.IMDS = imdsfake.New(imdsfake.Config{
			InstanceID: n.Instance, Region: ec2emu.DefaultRegion, AZ: n.AZ,
			Interfaces: []imdsfake.Interface{{MAC: n.MAC, ENI: n.ENI, DeviceIndex: 0, VPC: ec2emu.FixtureVPC, Subnet: subnet, IP: n.IP}},
		})
		ln, err := l.netns[n.NS].Listen("tcp", imdsAddr)
		if err != nil {
			return err
		}
		l.serve(ln, n.IMDS)
	}
	return nil
}

// Env is what every node's pacemakerd (and so every agent execd runs)
// gets, besides its own AWS_ENDPOINT_URL_EC2 and HOME.
func Env(dir string) []string {
	env := []string{}
	// Whatever AWS settings the caller's environment has must not reach
	// the agents (the last value of a key wins).
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_EC2_METADATA_DISABLED"} {
		if _, ok := os.LookupEnv(k); ok {
			env = append(env, k+"=")
		}
	}
	return append(env,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "aws-config-none"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "aws-credentials-none"),
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://"+imdsAddr+"/",
		"HA_RSCTMP=/run/resource-agents",
		"HA_LOGFILE=/var/log/pacemaker/routeha.log",
	)
}

func (l *Lab) startCluster(ctx context.Context) error {
	var specs []cluster.NodeSpec
	for _, n := range l.Nodes {
		home := filepath.Join(l.opts.Dir, n.Name, "home")
		if err := os.MkdirAll(filepath.Join(l.opts.Dir, n.Name, "crmsh-log"), 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(home, 0o700); err != nil {
			return err
		}
		specs = append(specs, cluster.NodeSpec{
			Name: n.Name, Netns: n.NS, Addr: n.IP,
			Env: []string{"AWS_ENDPOINT_URL_EC2=http://" + n.GW + ":" + emuPort, "HOME=" + home},
		})
	}
	c, err := cluster.New(cluster.Config{Hide: lab.HiddenHostFiles(),
		Name:      "routeha-demo",
		Dir:       l.opts.Dir,
		Nodes:     specs,
		Env:       Env(l.opts.Dir),
		Agents:    []cluster.Agent{{Provider: "suzlab", Type: "routeha", Path: l.opts.Agent}},
		Token:     l.opts.Token,
		Consensus: l.opts.Consensus,
		Logf:      l.opts.Logf,
	})
	if err != nil {
		return err
	}
	l.Cluster = c
	for i, n := range l.Nodes {
		n.Node = c.Nodes[i]
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := c.WaitOnline(wctx); err != nil {
		return err
	}
	for _, n := range l.Nodes {
		if err := l.privateCrmsh(ctx, n); err != nil {
			return err
		}
	}
	if err := l.checkEnv(); err != nil {
		return err
	}
	if err := l.Configure(ctx); err != nil {
		return err
	}
	sctx, cancel2 := context.WithTimeout(ctx, 60*time.Second)
	defer cancel2()
	if _, err := l.Nodes[0].WaitStarted(sctx, Resource, ""); err != nil {
		return err
	}
	return nil
}

// privateCrmsh gives crmsh, inside the node's mount namespace, a log
// directory of the node's own, so that nothing is written to the host's
// /var/log/crmsh.
func (l *Lab) privateCrmsh(ctx context.Context, n *Node) error {
	if _, err := os.Stat("/var/log/crmsh"); err != nil {
		return nil
	}
	_, err := n.Run(ctx, "mount", "--bind", filepath.Join(n.Dir, "crmsh-log"), "/var/log/crmsh")
	return err
}

// checkEnv verifies that pacemaker-execd, whose children the agents are,
// has the endpoints in its environment.
func (l *Lab) checkEnv() error {
	for _, n := range l.Nodes {
		ps, err := n.Processes()
		if err != nil {
			return err
		}
		found := false
		for _, p := range ps {
			if p.Comm != "pacemaker-execd" {
				continue
			}
			found = true
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
			if err != nil {
				return err
			}
			env := "\x00" + string(b)
			for _, want := range []string{"AWS_ENDPOINT_URL_EC2=http://" + n.GW, "AWS_EC2_METADATA_SERVICE_ENDPOINT=", "HA_RSCTMP=", "AWS_ACCESS_KEY_ID="} {
				if !strings.Contains(env, "\x00"+want) {
					return fmt.Errorf("%s: pacemaker-execd lacks %s in its environment", n.Name, want)
				}
			}
		}
		if !found {
			return fmt.Errorf("%s: no pacemaker-execd", n.Name)
		}
	}
	l.logf("pacemaker-execd on both nodes has AWS_ENDPOINT_URL_EC2, AWS_EC2_METADATA_SERVICE_ENDPOINT, HA_RSCTMP and the keys in its environment")
	return nil
}

// Token returns corosync's token and consensus timeouts (0: corosync's
// default).
func (l *Lab) Token() (token, consensus time.Duration) { return l.opts.Token, l.opts.Consensus }

// CrmConfig is the configuration, as crmsh commands (one per line, without
// the leading "crm").
func (l *Lab) CrmConfig() [][]string {
	return CrmConfig(l.opts.Monitor, l.opts.FailureTimeout)
}

// FailureTimeout returns the lab's failure-timeout (Options.FailureTimeout).
func (l *Lab) FailureTimeout() string { return l.opts.FailureTimeout }

// CrmConfig returns the crmsh configuration commands for a monitor interval
// and a failure-timeout.
func CrmConfig(monitor, failureTimeout string) [][]string {
	return [][]string{
		{"configure", "property", "no-quorum-policy=ignore", "stonith-enabled=false"},
		{"configure", "rsc_defaults", "resource-stickiness=INFINITY", "migration-threshold=1", "failure-timeout=" + failureTimeout},
		{"configure", "primitive", Resource, "ocf:suzlab:routeha",
			"params", "ip=" + VIP, "routing_table=" + Table,
			"op", "start", "timeout=" + StartTimeout,
			"op", "monitor", "interval=" + monitor, "timeout=20s"},
	}
}

// PcsConfig returns the same configuration as pcs commands (without the
// leading "pcs").
func PcsConfig(monitor, failureTimeout string) [][]string {
	return [][]string{
		{"property", "set", "no-quorum-policy=ignore", "stonith-enabled=false"},
		{"resource", "defaults", "update", "resource-stickiness=INFINITY", "migration-threshold=1", "failure-timeout=" + failureTimeout},
		{"resource", "create", Resource, "ocf:suzlab:routeha",
			"ip=" + VIP, "routing_table=" + Table,
			"op", "start", "timeout=" + StartTimeout,
			"op", "monitor", "interval=" + monitor, "timeout=20s"},
	}
}

// Configure applies CrmConfig with crm on the first node.
func (l *Lab) Configure(ctx context.Context) error {
	for _, args := range l.CrmConfig() {
		l.logf("crm %s", strings.Join(args, " "))
		if _, err := l.Nodes[0].Run(ctx, "crm", args...); err != nil {
			return err
		}
	}
	return nil
}

// Running returns a running node, or nil.
func (l *Lab) Running() *Node {
	for _, n := range l.Nodes {
		if n.Running() {
			return n
		}
	}
	return nil
}

// Other returns the node that is not n.
func (l *Lab) Other(n *Node) *Node {
	if n == l.Nodes[0] {
		return l.Nodes[1]
	}
	return l.Nodes[0]
}

// NodeByName returns the node called name, or nil.
func (l *Lab) NodeByName(name string) *Node {
	for _, n := range l.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Status returns crm_mon's status from a running node.
func (l *Lab) Status(ctx context.Context) (*cluster.Status, error) {
	n := l.Running()
	if n == nil {
		return nil, errors.New("no node running")
	}
	return n.Status(ctx)
}

// Active returns the node the resource is started on.
func (l *Lab) Active(ctx context.Context) (*Node, error) {
	st, err := l.Status(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range l.Nodes {
		if st.Resource(Resource).Started(n.Name) {
			return n, nil
		}
	}
	return nil, errors.New("vip is not started anywhere")
}

// CrmMon returns `crm_mon -1` (text) from a running node.
func (l *Lab) CrmMon(ctx context.Context) string {
	n := l.Running()
	if n == nil {
		return "(no node running)"
	}
	out, err := n.Run(ctx, "crm_mon", "-1", "-r")
	if err != nil {
		return err.Error()
	}
	return out
}

// HasVIP reports whether node n has the VIP on its loopback.
func (l *Lab) HasVIP(n *Node) bool {
	_, ok := l.VIPLabel(n)
	return ok
}

// VIPLabel returns the label of the VIP on node n's loopback, and whether
// the VIP is there.
func (l *Lab) VIPLabel(n *Node) (string, bool) {
	ns, ok := l.netns[n.NS]
	if !ok {
		return "", false
	}
	nh, err := ns.Netlink()
	if err != nil {
		return "", false
	}
	defer nh.Close()
	lo, err := nh.LinkByName("lo")
	if err != nil {
		return "", false
	}
	addrs, err := nh.AddrList(lo, netlink.FAMILY_V4)
	if err != nil {
		return "", false
	}
	for _, a := range addrs {
		if a.IP.String() == VIP {
			return a.Label, true
		}
	}
	return "", false
}

// Close tears everything down: the probe, the cluster (its nodes killed by
// PID), the servers, the namespaces (with their veths). Idempotent.
func (l *Lab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	if l.Prober != nil {
		l.Prober.Close()
	}
	if l.Cluster != nil {
		if err := l.Cluster.Close(); err != nil {
			l.logf("close cluster: %v", err)
		}
	}
	for _, s := range l.servers {
		_ = s.Close()
	}
	if l.router != nil {
		l.router.Close()
	}
	for i := len(l.created) - 1; i >= 0; i-- {
		if err := l.created[i].Close(); err != nil {
			l.logf("%v", err)
		}
	}
	l.created = nil
}
