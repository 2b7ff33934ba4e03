package harness

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/imdsfake"
)

// Node is one simulated cluster node: its own network namespace (its own lo
// for the VIP), its own IMDS and its own listener of the shared emulator.
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
	EC2URL      string // the emulator, reachable inside NS only
	RscTmp      string // HA_RSCTMP of the node
	Home        string
}

// World is the two-node fixture: the emulator with the standard fixture state
// and nodes "a" (FixtureInstanceA) and "b" (FixtureInstanceB).
type World struct {
	Emu   *ec2emu.Emulator
	Nodes map[string]*Node
	t     testing.TB
}

// NewWorld builds the fixture; everything is torn down when the test ends.
func NewWorld(t testing.TB) *World {
	t.Helper()
	RequireRoot(t)
	w := &World{Emu: ec2emu.New(nil), Nodes: map[string]*Node{}, t: t}
	specs := []struct {
		name, inst, eni, mac, ip, az, subnet string
	}{
		{"a", ec2emu.FixtureInstanceA, ec2emu.FixtureENIA, ec2emu.FixtureMACA, ec2emu.FixtureIPA, ec2emu.FixtureAZA, ec2emu.FixtureSubnetA},
		{"b", ec2emu.FixtureInstanceB, ec2emu.FixtureENIB, ec2emu.FixtureMACB, ec2emu.FixtureIPB, ec2emu.FixtureAZB, ec2emu.FixtureSubnetB},
	}
	for _, s := range specs {
		n := &Node{
			Name: s.name, NS: NewNetns(t), InstanceID: s.inst, ENI: s.eni, MAC: s.mac, IP: s.ip, AZ: s.az,
			AccessKeyID: "AKIAROUTEHANODE" + strings.ToUpper(s.name),
		}
		n.IMDS = imdsfake.New(imdsfake.Config{
			InstanceID: s.inst, Region: ec2emu.DefaultRegion, AZ: s.az, AccountID: ec2emu.DefaultAccount,
			Interfaces: []imdsfake.Interface{{MAC: s.mac, ENI: s.eni, DeviceIndex: 0, VPC: ec2emu.FixtureVPC, Subnet: s.subnet, IP: s.ip}},
		})
		n.EC2URL = Serve(t, n.NS, w.Emu)
		n.IMDSURL = Serve(t, n.NS, n.IMDS)
		base := t.TempDir()
		n.RscTmp = filepath.Join(base, "rsctmp")
		n.Home = filepath.Join(base, "home")
		for _, d := range []string{n.RscTmp, n.Home} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		w.Nodes[s.name] = n
	}
	return w
}

// Serve starts an HTTP server for h on 127.0.0.1:0 inside ns until the test
// ends, and returns its URL, reachable inside ns only.
func Serve(t testing.TB, ns *Netns, h http.Handler) string {
	t.Helper()
	ln, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: listen in %s: %v", ns.Name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// Node returns a node by name; it fails the test when there is none.
func (w *World) Node(name string) *Node {
	n, ok := w.Nodes[name]
	if !ok {
		w.t.Fatalf("harness: no node %q", name)
	}
	return n
}

// Agent returns a Runner for the routeha binary (AgentBinary) on a node.
func (w *World) Agent(node string) *Runner {
	return &Runner{Bin: AgentBinary(w.t), Node: w.Node(node), Resource: "vip", Timeout: 20 * time.Second}
}

// Runner runs an OCF agent binary on a node as Pacemaker would.
type Runner struct {
	Bin      string
	Node     *Node
	Resource string        // OCF_RESOURCE_INSTANCE
	Timeout  time.Duration // OCF_RESKEY_CRM_meta_timeout (20 s when 0)
	Interval time.Duration // OCF_RESKEY_CRM_meta_interval when non-zero
	// AssetTag, when set, is what the DMI asset tag reads for the action,
	// as on a Nitro instance: the action runs in a private mount namespace
	// with a file bind-mounted over the tag (the host's stays as it is).
	AssetTag string
}

// Result is the outcome of one agent action.
type Result struct {
	Code    int
	Stdout  string
	Stderr  string
	Reason  string // text after the last "ocf-exit-reason:" on stderr
	Elapsed time.Duration
	Err     error // set when the process could not run or was killed
}

// Env returns the environment Run gives the agent (without extraEnv).
func (r *Runner) Env(params map[string]string) []string {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"OCF_ROOT=/usr/lib/ocf",
		"OCF_RESOURCE_INSTANCE=" + r.Resource,
		"OCF_RESKEY_CRM_meta_timeout=" + strconv.FormatInt(timeout.Milliseconds(), 10),
	}
	if r.Interval > 0 {
		env = append(env, "OCF_RESKEY_CRM_meta_interval="+strconv.FormatInt(r.Interval.Milliseconds(), 10))
	}
	if n := r.Node; n != nil {
		env = append(env,
			"HA_RSCTMP="+n.RscTmp,
			"HOME="+n.Home,
			"AWS_ENDPOINT_URL_EC2="+n.EC2URL,
			"AWS_ENDPOINT_URL_STS="+n.EC2URL,
			"AWS_EC2_METADATA_SERVICE_ENDPOINT="+n.IMDSURL,
			"AWS_ACCESS_KEY_ID="+n.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=routeha-test-secret-"+n.Name,
		)
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, "OCF_RESKEY_"+k+"="+params[k])
	}
	return env
}

// Run runs "Bin action" in the node's namespace with the OCF environment
// built from params; extraEnv entries (KEY=VALUE) are added last and win.
// The process is killed when ctx ends.
func (r *Runner) Run(ctx context.Context, action string, params map[string]string, extraEnv ...string) Result {
	line := []string{r.Bin, action}
	if r.AssetTag == "" && hostHasAssetTag() {
		// A Nitro host's tag names the host, not the emulated instance.
		line = []string{"unshare", "--mount", "--", "/bin/sh", "-c", hideAssetTagScript, "sh", r.Bin, action}
	}
	if r.AssetTag != "" {
		var cleanup func()
		var err error
		if line, cleanup, err = withAssetTag(r.AssetTag, r.Bin, action); err != nil {
			return Result{Code: -1, Err: err}
		}
		defer cleanup()
	}
	var cmd *exec.Cmd
	if r.Node != nil {
		cmd = r.Node.NS.Command(ctx, line[0], line[1:]...)
	} else {
		cmd = exec.CommandContext(ctx, line[0], line[1:]...)
	}
	cmd.Env = append(r.Env(params), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err := cmd.Run()
	res := Result{Elapsed: time.Since(start), Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		res.Code = ee.ExitCode()
	default:
		res.Code = -1
		res.Err = err
	}
	res.Reason = ExitReason(res.Stderr)
	return res
}

// ExitReason returns the text after the last "ocf-exit-reason:" in stderr.
func ExitReason(stderr string) string {
	const tag = "ocf-exit-reason:"
	reason := ""
	for _, line := range strings.Split(stderr, "\n") {
		if i := strings.Index(line, tag); i >= 0 {
			reason = strings.TrimSpace(line[i+len(tag):])
		}
	}
	return reason
}
