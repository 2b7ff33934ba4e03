package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// Config describes a cluster. Only Dir is required.
type Config struct {
	// Name is corosync's cluster_name (default "routeha").
	Name string
	// Dir holds one directory per node (configuration, CIB, logs). It must
	// exist; a test's t.TempDir() is the usual choice.
	Dir string
	// Nodes describes the nodes: one or two. Empty means one node.
	Nodes []NodeSpec
	// Env is added (KEY=VALUE) to the environment of corosync, pacemakerd
	// (and so of every resource agent pacemaker-execd runs) and of every
	// command run through Node.Command.
	Env []string
	// Agents are made visible under /usr/lib/ocf/resource.d inside every
	// node's mount namespace.
	Agents []Agent
	// Token is corosync's totem token timeout (default 1s).
	Token time.Duration
	// Consensus is corosync's totem consensus timeout; 0 leaves it to
	// corosync (1.2 × token).
	Consensus time.Duration
	// Properties are cluster options (crm_config) written into every
	// node's initial CIB, for example "stonith-enabled": "false". Unless
	// set here, dc-deadtime is 2s (Pacemaker's default of 20s only delays
	// the first election).
	Properties map[string]string
	// Hide lists host files that every node (and so every agent it runs)
	// sees as empty: /dev/null is bound over each that exists, in the
	// node's private mount namespace. The cluster knows nothing of what
	// they are; test/lab names the files an agent under test must not
	// read from the host (lab.HiddenHostFiles).
	Hide []string
	// Logf, when set, receives progress messages (t.Logf fits).
	Logf func(format string, args ...any)
}

// NodeSpec describes one node.
type NodeSpec struct {
	// Name is the node's name and hostname (default node1, node2).
	Name string
	// Netns names an existing network namespace (as `ip netns` knows it)
	// for the node. The caller owns it and its links; Addr is then
	// required. Empty: the cluster creates a namespace, and for two nodes
	// links them with a veth pair.
	Netns string
	// Addr is the node's corosync ring0 address, inside its namespace.
	// Defaults: 127.0.0.1 for a single node; 10.99.0.1 and 10.99.0.2 on
	// the veth pair for two.
	Addr string
	// Env is added to Config.Env for this node only (for example its own
	// IMDS endpoint).
	Env []string
}

// Agent is an OCF resource agent binary or script to expose as
// ocf:<Provider>:<Type>.
type Agent struct {
	Provider string
	Type     string
	Path     string // on the host; copied into the node's directory
}

// Cluster is a set of nodes. Create it with New, start it with Start, and
// always Close it.
type Cluster struct {
	Name  string
	Dir   string
	Nodes []*Node

	cfg     Config
	id      string
	created []string // network namespaces this cluster created
	closed  bool
}

// Node is one cluster node. Its methods are safe for concurrent use.
type Node struct {
	Name  string
	ID    int
	Addr  string // ring0 address inside Netns
	Netns string // the node's network namespace
	Dir   string // the node's directory on the host

	c   *Cluster
	env []string

	mu   sync.Mutex
	cmd  *exec.Cmd     // ip netns exec … unshare …; nil when not started
	init int           // host PID of the node's PID namespace's first process
	done chan struct{} // closed when cmd has been waited for
	werr error
	logf *os.File
}

// Process is a process running inside a node's PID namespace.
type Process struct {
	PID  int    // host PID
	Comm string // /proc/PID/comm
}

func (c *Cluster) logf(format string, args ...any) {
	if c.cfg.Logf != nil {
		c.cfg.Logf("cluster %s: "+format, append([]any{c.Name}, args...)...)
	}
}

// New prepares a cluster: node directories, corosync.conf, network
// namespaces and links. It starts no process.
func New(cfg Config) (*Cluster, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("cluster: needs root")
	}
	if cfg.Dir == "" {
		return nil, errors.New("cluster: Config.Dir is required")
	}
	if cfg.Name == "" {
		cfg.Name = "routeha"
	}
	if cfg.Token == 0 {
		cfg.Token = time.Second
	}
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = []NodeSpec{{}}
	}
	if len(cfg.Nodes) > 2 {
		return nil, errors.New("cluster: at most two nodes")
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "corosync", "pacemakerd", "crm_mon"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("cluster: %s not found: %w", tool, err)
		}
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	c := &Cluster{Name: cfg.Name, Dir: cfg.Dir, cfg: cfg, id: hex.EncodeToString(rnd[:])}
	two := len(cfg.Nodes) == 2
	for i, spec := range cfg.Nodes {
		n := &Node{Name: spec.Name, ID: i + 1, Addr: spec.Addr, Netns: spec.Netns, c: c}
		if n.Name == "" {
			n.Name = fmt.Sprintf("node%d", i+1)
		}
		if n.Netns != "" && n.Addr == "" {
			return nil, fmt.Errorf("cluster: node %s: Addr is required with Netns", n.Name)
		}
		if n.Addr == "" {
			if two {
				n.Addr = fmt.Sprintf("10.99.0.%d", i+1)
			} else {
				n.Addr = "127.0.0.1"
			}
		}
		if _, err := netip.ParseAddr(n.Addr); err != nil {
			return nil, fmt.Errorf("cluster: node %s: %w", n.Name, err)
		}
		n.Dir = filepath.Join(cfg.Dir, n.Name)
		n.env = append(append(append([]string{}, os.Environ()...), cfg.Env...), spec.Env...)
		c.Nodes = append(c.Nodes, n)
	}
	if two && c.Nodes[0].Name == c.Nodes[1].Name {
		return nil, errors.New("cluster: node names must differ")
	}
	if err := c.setupNetwork(); err != nil {
		_ = c.Close()
		return nil, err
	}
	for _, n := range c.Nodes {
		if err := n.prepareDirs(); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// setupNetwork creates the namespaces the caller did not supply and, for two
// created namespaces, a veth pair between them. Nothing is done on the host's
// own interfaces: the pair is created inside the first namespace.
func (c *Cluster) setupNetwork() error {
	for _, n := range c.Nodes {
		if n.Netns != "" {
			continue
		}
		n.Netns = fmt.Sprintf("rha-%s-%s", c.id, n.Name)
		if out, err := exec.Command("ip", "netns", "add", n.Netns).CombinedOutput(); err != nil {
			return fmt.Errorf("cluster: ip netns add %s: %v: %s", n.Netns, err, out)
		}
		c.created = append(c.created, n.Netns)
		if err := ipIn(n.Netns, "link", "set", "lo", "up"); err != nil {
			return err
		}
	}
	if len(c.Nodes) == 2 && len(c.created) == 2 {
		a, b := c.Nodes[0], c.Nodes[1]
		va, vb := "rha"+c.id+"a", "rha"+c.id+"b"
		steps := [][]string{
			{a.Netns, "link", "add", va, "type", "veth", "peer", "name", vb, "netns", b.Netns},
			{a.Netns, "addr", "add", a.Addr + "/24", "dev", va},
			{b.Netns, "addr", "add", b.Addr + "/24", "dev", vb},
			{a.Netns, "link", "set", va, "up"},
			{b.Netns, "link", "set", vb, "up"},
		}
		for _, s := range steps {
			if err := ipIn(s[0], s[1:]...); err != nil {
				return err
			}
		}
	}
	return nil
}

func ipIn(ns string, args ...string) error {
	full := append([]string{"-n", ns}, args...)
	if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
		return fmt.Errorf("cluster: ip %s: %v: %s", strings.Join(full, " "), err, out)
	}
	return nil
}

var corosyncConf = template.Must(template.New("corosync.conf").Parse(`# written by routeha's test/cluster
totem {
	version: 2
	cluster_name: {{.Name}}
	transport: knet
	token: {{.Token}}
{{- if .Consensus}}
	consensus: {{.Consensus}}
{{- end}}
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
{{- range .Nodes}}
	node {
		name: {{.Name}}
		nodeid: {{.ID}}
		ring0_addr: {{.Addr}}
	}
{{- end}}
}
quorum {
	provider: corosync_votequorum
{{- if eq (len .Nodes) 2}}
	two_node: 1
{{- end}}
}
logging {
	fileline: off
	to_stderr: yes
	to_logfile: yes
	logfile: /var/log/pacemaker/corosync.log
	to_syslog: no
	timestamp: on
}
`))

// nodeScript runs as the first process of the node's PID namespace, inside
// its network, mount and UTS namespaces.
const nodeScript = `#!/bin/bash
set -eu
dir=$1 name=$2
hostname "$name"
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount --bind "$dir/var/lib/pacemaker" /var/lib/pacemaker
mount --bind "$dir/var/lib/corosync" /var/lib/corosync
mount --bind "$dir/var/log/pacemaker" /var/log/pacemaker
mount --bind "$dir/etc/corosync" /etc/corosync
# crmsh logs to /var/log/crmsh: keep the node's crm out of the host's log.
if [ -d /var/log/crmsh ]; then
	mount -t tmpfs -o mode=0775 tmpfs /var/log/crmsh
	chown hacluster:haclient /var/log/crmsh 2>/dev/null || true
fi
if [ -d "$dir/ocf" ]; then
	mount -t overlay overlay -o "lowerdir=$dir/ocf:/usr/lib/ocf/resource.d" /usr/lib/ocf/resource.d
fi
@HIDE@
ip link set lo up
set +e
corosync -f &
cs=$!
for i in $(seq 200); do
	corosync-cfgtool -s >/dev/null 2>&1 && break
	kill -0 $cs 2>/dev/null || break
	sleep 0.05
done
pacemakerd -f &
pm=$!
echo "node $name: corosync pid $cs, pacemakerd pid $pm (in the node's PID namespace)"
wait
`

func (n *Node) prepareDirs() error {
	hu, err := user.Lookup("hacluster")
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	hg, err := user.LookupGroup("haclient")
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	uid, _ := strconv.Atoi(hu.Uid)
	gid, _ := strconv.Atoi(hg.Gid)
	dirs := []struct {
		path     string
		mode     os.FileMode
		hacluser bool
	}{
		{"", 0o755, false},
		{"var/lib/pacemaker", 0o755, false},
		{"var/lib/pacemaker/cib", 0o750, true},
		{"var/lib/pacemaker/pengine", 0o750, true},
		{"var/lib/pacemaker/blackbox", 0o750, true},
		{"var/lib/pacemaker/cores", 0o750, true},
		{"var/lib/corosync", 0o755, false},
		{"var/log/pacemaker", 0o770, true},
		{"var/log/pacemaker/bundles", 0o770, true},
		{"etc/corosync", 0o755, false},
	}
	for _, d := range dirs {
		p := filepath.Join(n.Dir, d.path)
		if err := os.MkdirAll(p, d.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
		if d.hacluser {
			if err := os.Chown(p, uid, gid); err != nil {
				return err
			}
		}
	}
	var conf bytes.Buffer
	if err := corosyncConf.Execute(&conf, map[string]any{
		"Name": n.c.Name, "Token": n.c.cfg.Token.Milliseconds(), "Consensus": n.c.cfg.Consensus.Milliseconds(), "Nodes": n.c.Nodes,
	}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "etc/corosync/corosync.conf"), conf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := n.writeInitialCIB(uid, gid); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "node.sh"), []byte(strings.Replace(nodeScript, "@HIDE@", hideScript(n.c.cfg.Hide), 1)), 0o755); err != nil {
		return err
	}
	if len(n.c.cfg.Agents) > 0 {
		if err := StageAgents(filepath.Join(n.Dir, "ocf"), n.c.cfg.Agents); err != nil {
			return err
		}
	}
	return nil
}

// StageAgents copies agents into dir/<provider>/<type> (mode 0755), a tree
// usable as an overlay lower layer over /usr/lib/ocf/resource.d.
func StageAgents(dir string, agents []Agent) error {
	for _, a := range agents {
		if a.Provider == "" || a.Type == "" || a.Path == "" {
			return fmt.Errorf("cluster: incomplete agent %+v", a)
		}
		if err := os.MkdirAll(filepath.Join(dir, a.Provider), 0o755); err != nil {
			return err
		}
		if err := copyFile(a.Path, filepath.Join(dir, a.Provider, a.Type), 0o755); err != nil {
			return err
		}
	}
	return os.Chmod(dir, 0o755)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// Start starts every node that is not running.
func (c *Cluster) Start(ctx context.Context) error {
	for _, n := range c.Nodes {
		if n.Running() {
			continue
		}
		if err := n.Start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// WaitOnline waits until every running node sees every node of the cluster
// online and a DC elected.
func (c *Cluster) WaitOnline(ctx context.Context) error {
	names := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		names[i] = n.Name
	}
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		if err := n.WaitOnline(ctx, names...); err != nil {
			return err
		}
	}
	return nil
}

// Node returns the node called name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Close kills every node (SIGKILL of each node's first process, by PID) and
// deletes the network namespaces the cluster created. It is idempotent.
func (c *Cluster) Close() error {
	var errs []error
	for _, n := range c.Nodes {
		if err := n.Kill(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ns := range c.created {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: ip netns del %s: %v: %s", ns, err, out))
		}
	}
	c.created = nil
	c.closed = true
	return errors.Join(errs...)
}

// Start starts the node: `ip netns exec <netns> unshare --mount --uts --pid
// --fork --kill-child --mount-proc` running the node script, which mounts
// the node's directories and starts corosync -f and pacemakerd -f. It
// returns once the node's first process is known; use WaitOnline to wait
// for Pacemaker.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.c.closed {
		return errors.New("cluster: closed")
	}
	if n.cmd != nil {
		select {
		case <-n.done: // exited on its own: may start again
		default:
			return fmt.Errorf("cluster: node %s already running", n.Name)
		}
	}
	logf, err := os.OpenFile(filepath.Join(n.Dir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", "netns", "exec", n.Netns,
		"unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc",
		"--", "/bin/bash", filepath.Join(n.Dir, "node.sh"), n.Dir, n.Name)
	cmd.Env = n.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test process dies, unshare gets SIGKILL, and --kill-child
	// passes it on to the node's first process: the node dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("cluster: start %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	n.cmd, n.done, n.logf, n.werr, n.init = cmd, done, logf, nil, 0
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		n.werr = err
		n.mu.Unlock()
		logf.Close()
		close(done)
	}()
	n.c.logf("node %s: started (unshare pid %d)", n.Name, cmd.Process.Pid)
	// The first process of the new PID namespace is unshare's only child.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pid := childOf(cmd.Process.Pid); pid > 0 {
			n.init = pid
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("cluster: node %s exited at once: %v\n%s", n.Name, n.werr, n.tail("console.log", 40))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: node %s: no namespace process", n.Name)
		}
	}
}

// childOf returns the first child of pid, from /proc, or 0.
func childOf(pid int) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := procPPid(p); ok && ppid == pid {
			return p
		}
	}
	return 0
}

func procPPid(pid int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// Running reports whether the node's processes are running.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// PID returns the host PID of the first process of the node's PID namespace
// (the target of nsenter, and of Kill), or 0 when the node is not running.
func (n *Node) PID() int {
	if !n.Running() {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.init
}

// Processes lists the processes in the node's PID namespace, with host PIDs.
func (n *Node) Processes() ([]Process, error) {
	init := n.PID()
	if init == 0 {
		return nil, fmt.Errorf("cluster: node %s not running", n.Name)
	}
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", init))
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var ps []Process
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p))
		if err != nil || ns != want {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		ps = append(ps, Process{PID: p, Comm: strings.TrimSpace(string(comm))})
	}
	return ps, nil
}

// Signal sends sig to every process of the node called comm (for example
// "corosync" or "pacemakerd"), by PID. It returns the PIDs signalled.
func (n *Node) Signal(comm string, sig syscall.Signal) ([]int, error) {
	ps, err := n.Processes()
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range ps {
		if p.Comm == comm {
			if err := syscall.Kill(p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
				return pids, err
			}
			pids = append(pids, p.PID)
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("cluster: node %s: no %s process", n.Name, comm)
	}
	return pids, nil
}

// Kill takes the node down at once: SIGKILL of its namespace's first
// process, which makes the kernel kill every process in the namespace. It
// waits for the node's processes to be gone. Killing a stopped node is a
// no-op.
func (n *Node) Kill() error {
	n.mu.Lock()
	cmd, done, init := n.cmd, n.done, n.init
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		// Already gone: its PID may belong to someone else by now.
	default:
		if init > 0 {
			_ = syscall.Kill(init, syscall.SIGKILL)
		}
	}
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		// The first process is gone or was never known: kill unshare
		// itself (our child), whose --kill-child does the rest.
		_ = cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("cluster: node %s: still running after SIGKILL", n.Name)
		}
	}
	n.c.logf("node %s: killed", n.Name)
	n.mu.Lock()
	n.cmd = nil
	n.mu.Unlock()
	return nil
}

// Stop stops the node gracefully: SIGTERM to pacemakerd (which stops the
// resources and its daemons), then to corosync, waiting for each. If ctx
// expires first, the node is killed.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	gone := func(comms ...string) bool {
		ps, err := n.Processes()
		if err != nil {
			return true
		}
		for _, p := range ps {
			for _, c := range comms {
				if strings.HasPrefix(p.Comm, c) {
					return false
				}
			}
		}
		return true
	}
	steps := []struct {
		comm  string
		await []string
	}{
		{"pacemakerd", []string{"pacemaker"}},
		{"corosync", []string{"corosync"}},
	}
	for _, s := range steps {
		if _, err := n.Signal(s.comm, syscall.SIGTERM); err != nil {
			continue
		}
		for !gone(s.await...) {
			select {
			case <-done:
			case <-ctx.Done():
				_ = n.Kill()
				return fmt.Errorf("cluster: node %s: stop: %w (killed)", n.Name, ctx.Err())
			case <-time.After(100 * time.Millisecond):
				continue
			}
			break
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		_ = n.Kill()
		return fmt.Errorf("cluster: node %s: stop: %w (killed)", n.Name, ctx.Err())
	}
	n.c.logf("node %s: stopped", n.Name)
	n.mu.Lock()
	n.cmd = nil
	n.mu.Unlock()
	return nil
}

// Env returns the environment of the node's daemons and commands.
func (n *Node) Env() []string { return append([]string{}, n.env...) }

// Command returns a command that runs name inside the node (nsenter into its
// network, mount, UTS and PID namespaces) with the node's environment.
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	pid := n.PID()
	full := append([]string{"-t", strconv.Itoa(pid), "-n", "-m", "-u", "-p", "--", name}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	cmd.Env = n.env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs name inside the node and returns its combined output. The error,
// if any, includes the command line and output.
func (n *Node) Run(ctx context.Context, name string, args ...string) (string, error) {
	if n.PID() == 0 {
		return "", fmt.Errorf("cluster: node %s not running", n.Name)
	}
	out, err := n.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s on %s: %w\n%s", strings.Join(append([]string{name}, args...), " "), n.Name, err, out)
	}
	return string(out), nil
}

// ExitCode returns the exit code in err (from Run), or -1.
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// LogFiles returns the paths of the node's log files on the host:
// console.log (the node script, corosync's and pacemakerd's stderr),
// pacemaker.log and corosync.log.
func (n *Node) LogFiles() []string {
	return []string{
		filepath.Join(n.Dir, "console.log"),
		filepath.Join(n.Dir, "var/log/pacemaker/pacemaker.log"),
		filepath.Join(n.Dir, "var/log/pacemaker/corosync.log"),
	}
}

func (n *Node) tail(file string, lines int) string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, file))
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// Logs returns the last lines of every node's log files, for a failing
// test's output.
func (c *Cluster) Logs(lines int) string {
	var b strings.Builder
	for _, n := range c.Nodes {
		for _, f := range n.LogFiles() {
			rel, _ := filepath.Rel(n.Dir, f)
			fmt.Fprintf(&b, "==== %s: %s (last %d lines)\n%s\n", n.Name, rel, lines, n.tail(rel, lines))
		}
	}
	return b.String()
}

// CollectLogs copies every node's log files to dir/<node>/.
func (c *Cluster) CollectLogs(dir string) error {
	for _, n := range c.Nodes {
		if err := os.MkdirAll(filepath.Join(dir, n.Name), 0o755); err != nil {
			return err
		}
		for _, f := range n.LogFiles() {
			if _, err := os.Stat(f); err != nil {
				continue
			}
			if err := copyFile(f, filepath.Join(dir, n.Name, filepath.Base(f)), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeInitialCIB writes cib.xml with the cluster options, unless the node
// already has a CIB (a restart keeps its configuration).
func (n *Node) writeInitialCIB(uid, gid int) error {
	path := filepath.Join(n.Dir, "var/lib/pacemaker/cib/cib.xml")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	props := map[string]string{"dc-deadtime": "2s"}
	for k, v := range n.c.cfg.Properties {
		props[k] = v
	}
	var b strings.Builder
	b.WriteString(`<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.0">` + "\n")
	b.WriteString("  <configuration>\n    <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">\n")
	for _, k := range slices.Sorted(maps.Keys(props)) {
		fmt.Fprintf(&b, "        <nvpair id=\"cib-bootstrap-options-%s\" name=\"%s\" value=\"%s\"/>\n",
			xmlEscape(k), xmlEscape(k), xmlEscape(props[k]))
	}
	b.WriteString("      </cluster_property_set>\n    </crm_config>\n    <nodes/>\n    <resources/>\n    <constraints/>\n  </configuration>\n  <status/>\n</cib>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}
