package reliability

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/imdsfake"
	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

// ---- files in HA_RSCTMP ----

// TestRscTmpFilesPrivate: everything start leaves in HA_RSCTMP (identity
// cache, IMDSv2 token) is mode 0600 and a regular file.
func TestRscTmpFilesPrivate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Expect("a", "start", lab.OCFSuccess)
	e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
	files := e.rscTmpFiles("a")
	require.Contains(t, files, cacheName)
	require.True(t, allowedRscTmp(files), "HA_RSCTMP holds %v", files)
	for _, f := range files {
		fi, err := os.Lstat(filepath.Join(e.W.Node("a").RscTmp, f))
		require.NoError(t, err)
		assert.True(t, fi.Mode().IsRegular(), "%s is not a regular file", f)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s", f)
	}
}

// forgedIdentity is a valid identity cache claiming node b's identity.
func forgedIdentity(t *testing.T) []byte {
	b, err := json.Marshal(map[string]any{"version": 2, "self": map[string]any{
		"instance_id": ec2emu.FixtureInstanceB, "region": ec2emu.DefaultRegion, "availability_zone": ec2emu.FixtureAZB,
		"primary_eni": ec2emu.FixtureENIB, "enis": []string{ec2emu.FixtureENIB}, "vpc_id": ec2emu.FixtureVPC,
		"macs": map[string]string{ec2emu.FixtureMACB: ec2emu.FixtureENIB},
	}})
	require.NoError(t, err)
	return b
}

// TestSymlinkAtCachePathNotFollowed plants symlinks where routeha keeps its
// files: to a victim file (which must stay untouched) and to a forged
// identity (which must not be believed). A control shows the forged
// identity is believed as a regular file, so the symlink case means
// something.
func TestSymlinkAtCachePathNotFollowed(t *testing.T) {
	t.Parallel()
	for _, name := range []string{cacheName, tokenName} {
		t.Run("victim behind "+name, func(t *testing.T) {
			e := newEnv(t)
			victim := filepath.Join(t.TempDir(), "victim")
			require.NoError(t, os.WriteFile(victim, []byte("do not touch\n"), 0o644))
			link := filepath.Join(e.W.Node("a").RscTmp, name)
			require.NoError(t, os.Symlink(victim, link))
			dangling := filepath.Join(t.TempDir(), "created-through-link")
			other := cacheName
			if name == cacheName {
				other = tokenName
			}
			require.NoError(t, os.Symlink(dangling, filepath.Join(e.W.Node("a").RscTmp, other)))

			e.Expect("a", "start", lab.OCFSuccess)
			e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
			e.Expect("a", "stop", lab.OCFSuccess)
			b, err := os.ReadFile(victim)
			require.NoError(t, err)
			assert.Equal(t, "do not touch\n", string(b), "written through the symlink")
			fi, err := os.Stat(victim)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "victim's mode changed")
			_, err = os.Lstat(dangling)
			assert.True(t, os.IsNotExist(err), "a file was created through a dangling symlink")
			assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1))
		})
	}
	t.Run("forged identity behind the cache symlink", func(t *testing.T) {
		e := newEnv(t)
		forged := filepath.Join(t.TempDir(), "forged.identity")
		require.NoError(t, os.WriteFile(forged, forgedIdentity(t), 0o600))
		require.NoError(t, os.Symlink(forged, e.cachePath("a")))
		// monitor, as in the control: a knows it is a, so the tables on
		// b mean not running here.
		require.NoError(t, e.W.Node("a").NS.AddAddr("lo", vipDs))
		e.RouteTo("b", rtb1, rtb2)
		e.Expect("a", "monitor", lab.OCFNotRunning, labtest.Recurring)
		e.Expect("a", "start", lab.OCFSuccess)
		assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb1), "the identity behind the symlink was believed")
		assert.Equal(t, ec2emu.FixtureENIA, e.Target(rtb2))
	})
	t.Run("control: the same forged identity as a regular file", func(t *testing.T) {
		// start confirms a cached identity with IMDS (no asset tag here),
		// so the control is the monitor, which asks IMDS nothing: with the
		// VIP on a's lo and the tables on b, it believes it is b.
		e := newEnv(t)
		require.NoError(t, os.WriteFile(e.cachePath("a"), forgedIdentity(t), 0o600))
		require.NoError(t, e.W.Node("a").NS.AddAddr("lo", vipDs))
		e.RouteTo("b", rtb1, rtb2)
		e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
	})
}

// ---- secrets ----

// capture serves h inside a node's namespace and records every response
// body, so that the test knows the secrets the agent was handed.
type capture struct {
	mu     sync.Mutex
	bodies []string
	URL    string
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func serveCapture(t *testing.T, n *lab.Node, h http.Handler) *capture {
	c := &capture{}
	ln, err := n.NS.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, r)
		c.mu.Lock()
		c.bodies = append(c.bodies, tw.buf.String())
		c.mu.Unlock()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c.URL = "http://" + ln.Addr().String()
	return c
}

func (c *capture) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.bodies, "\n")
}

var (
	stsSecretRE = regexp.MustCompile(`<SecretAccessKey>([^<]+)</SecretAccessKey>`)
	stsTokenRE  = regexp.MustCompile(`<SessionToken>([^<]+)</SessionToken>`)
	imdsTokenRE = regexp.MustCompile(`(?m)^(AQAEA[0-9a-f]+)$`)
)

// TestNoSecretsLogged runs every action in role mode (routing_table_role:
// STS AssumeRole, session credentials), with debug logging to stderr and
// HA_LOGFILE and a cold identity cache (so IMDS tokens are fetched), and on
// a failure path; no secret access key, session token or IMDS token may
// appear in stderr, the log file or the identity cache. It runs twice: with
// the keys of the environment (auth_type=key) and with the instance
// profile's credentials from IMDS (auth_type=role) under the assumed role.
func TestNoSecretsLogged(t *testing.T) {
	t.Parallel()
	for _, authType := range []string{"key", "role"} {
		t.Run("auth_type="+authType, func(t *testing.T) {
			t.Parallel()
			checkNoSecretsLogged(t, authType)
		})
	}
	t.Run("credential_process printing JSON that does not parse", func(t *testing.T) {
		t.Parallel()
		checkCredentialProcessNotQuoted(t)
	})
}

// checkCredentialProcessNotQuoted: a credential_process whose output does
// not parse (an Expiration that is not a time) makes the SDK's provider
// quote the whole output, keys included, in its error. That error reaches
// the log and the exit reason of every action that needs EC2; neither may
// show the secret access key or the session token.
func checkCredentialProcessNotQuoted(t *testing.T) {
	e := newEnv(t)
	a := e.W.Node("a")
	const secret, token = "cp0SECRET0wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "cp0TOKEN0IQoJb3JpZ2luX2VjEJr//////////wEaCWV1LXdlc3QtMSJHMEUCIQD"
	script := filepath.Join(t.TempDir(), "creds.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\ncat <<'EOF'\n"+
		`{"Version": 1, "AccessKeyId": "AKIACPTESTNODEA00000", "SecretAccessKey": "`+secret+`", "SessionToken": "`+token+`", "Expiration": "in one hour"}`+
		"\nEOF\n"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(a.Home, ".aws"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(a.Home, ".aws", "config"),
		[]byte("[profile cp]\ncredential_process = "+script+"\n"), 0o644))
	e.Params["profile"] = "cp"
	logFile := filepath.Join(t.TempDir(), "ha-log")
	extra := []string{"HA_DEBUG=1", "HA_LOGFILE=" + logFile}
	require.NoError(t, a.NS.AddAddr("lo", vipDs)) // so that monitor reads the tables
	var out strings.Builder
	for _, action := range []string{"validate-all", "start", "monitor"} {
		res := e.RunEnv("a", action, extra, labtest.Recurring)
		assert.NotEqual(t, lab.OCFSuccess, res.Code, "%s succeeded without credentials", action)
		assert.NotEmpty(t, res.Reason)
		out.WriteString(res.Stderr)
	}
	logged, err := os.ReadFile(logFile)
	require.NoError(t, err)
	require.Contains(t, out.String()+string(logged), "credential_process", "the failure was not the credential process's: the test checks nothing")
	for _, s := range []string{secret, token, secret[:20], token[:20]} {
		assert.NotContains(t, out.String(), s, "a secret on stderr")
		assert.NotContains(t, string(logged), s, "a secret in HA_LOGFILE")
	}
	t.Logf("checked %d bytes of stderr and %d of HA_LOGFILE", out.Len(), len(logged))
}

func checkNoSecretsLogged(t *testing.T, authType string) {
	e := newEnv(t)
	const role = "arn:aws:iam::123456789012:role/routeha"
	e.W.Emu.SetRoleMode(role)
	e.Params["routing_table_role"] = role
	e.Params["auth_type"] = authType
	a := e.W.Node("a")
	a.IMDS.SetRole("routeha-node")
	ec2 := serveCapture(t, a, e.W.Emu)
	imds := serveCapture(t, a, a.IMDS)
	logFile := filepath.Join(t.TempDir(), "ha-log")
	extra := []string{
		"HA_DEBUG=1", "HA_LOGFILE=" + logFile,
		"AWS_ENDPOINT_URL_EC2=" + ec2.URL, "AWS_ENDPOINT_URL_STS=" + ec2.URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL,
	}
	var stderr strings.Builder
	run := func(action string, code int, opts ...labtest.Opt) {
		for _, f := range []string{cacheName, tokenName, observationName} {
			_ = os.Remove(filepath.Join(a.RscTmp, f))
		}
		res := e.RunEnv("a", action, extra, opts...)
		assert.Equal(t, code, res.Code, "%s: %s", action, res.Reason)
		stderr.WriteString(res.Stderr)
	}
	run("validate-all", lab.OCFSuccess)
	run("start", lab.OCFSuccess)
	run("monitor", lab.OCFSuccess, labtest.Recurring)
	run("monitor", lab.OCFSuccess)
	// Failure paths print the EC2 client's whole error.
	e.W.Emu.Deny(ec2emu.Deny{Principal: "*", Action: "ReplaceRoute"})
	e.RouteTo("b", rtb1, rtb2)
	run("validate-all", lab.OCFPerm)
	run("start", lab.OCFPerm)
	e.W.Emu.ClearDenies()
	e.W.Emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable})
	run("monitor", lab.OCFDegraded, labtest.Recurring, labtest.Timeout(3*time.Second))
	e.W.Emu.ClearFaults()
	run("start", lab.OCFSuccess)
	run("stop", lab.OCFSuccess)
	run("stop", lab.OCFSuccess)

	// The writes went through the assumed role's session credentials.
	for _, l := range e.W.Emu.Log() {
		if l.Action == "ReplaceRoute" && l.Code == "" {
			_, ok := e.W.Emu.RoleOf(l.Principal)
			assert.True(t, ok, "a route write not made with the assumed role")
		}
	}
	var secrets []string
	for _, m := range stsSecretRE.FindAllStringSubmatch(ec2.all(), -1) {
		secrets = append(secrets, m[1])
	}
	for _, m := range stsTokenRE.FindAllStringSubmatch(ec2.all(), -1) {
		secrets = append(secrets, m[1])
	}
	require.NotEmpty(t, secrets, "no STS credentials were issued: the test checks nothing")
	nIMDS := 0
	for _, m := range imdsTokenRE.FindAllStringSubmatch(imds.all(), -1) {
		secrets = append(secrets, m[1])
		nIMDS++
	}
	require.NotZero(t, nIMDS, "no IMDS token was issued: the test checks nothing")
	secrets = append(secrets, "routeha-test-secret-a") // AWS_SECRET_ACCESS_KEY from the lab's runner
	if authType == "role" {
		// The instance profile's credentials, as the IMDS fake served them.
		profileSecret, profileToken := "imds-secret-"+a.InstanceID, "imds-token-"+a.InstanceID
		require.Contains(t, imds.all(), profileSecret, "the instance profile's credentials were never fetched: the test checks nothing")
		secrets = append(secrets, profileSecret, profileToken)
		for _, l := range e.W.Emu.Log() {
			if l.Action == "AssumeRole" {
				assert.Equal(t, imdsfake.RoleAccessKeyID(a.InstanceID), l.Principal, "the role is assumed with the instance profile")
			}
		}
	}

	logged, err := os.ReadFile(logFile)
	require.NoError(t, err)
	require.Contains(t, string(logged), "DEBUG", "HA_DEBUG wrote no debug line")
	e.Expect("a", "start", lab.OCFSuccess) // leave an identity cache to scan
	cache, err := os.ReadFile(e.cachePath("a"))
	require.NoError(t, err)
	for _, s := range secrets {
		assert.NotContains(t, stderr.String(), s, "a secret on stderr")
		assert.NotContains(t, string(logged), s, "a secret in HA_LOGFILE")
		assert.NotContains(t, string(cache), s, "a secret in the identity cache")
	}
	t.Logf("checked %d secrets (%d IMDS tokens) against %d bytes of stderr and %d of HA_LOGFILE", len(secrets), nIMDS, stderr.Len(), len(logged))
}

// ---- no shell-out ----

// TestNoShellOut parses every non-test Go file outside test/ and fails on
// os/exec, or on process creation through os or syscall.
func TestNoShellOut(t *testing.T) {
	t.Parallel()
	root, err := lab.ModuleRoot()
	require.NoError(t, err)
	banned := map[string]bool{"os.StartProcess": true, "syscall.Exec": true, "syscall.ForkExec": true,
		"syscall.StartProcess": true, "unix.Exec": true}
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "test" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			assert.NotEqual(t, "os/exec", p, "%s imports os/exec", rel)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && banned[id.Name+"."+sel.Sel.Name] {
					assert.Fail(t, "process creation", "%s uses %s.%s", rel, id.Name, sel.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 10, "found too few sources to mean anything")
}

// ---- IAM ----

// TestValidateAllNamesDeniedWrite: for each write start may make, a deny
// makes validate-all exit 4 naming the call and the table (or ENI), and
// change nothing.
func TestValidateAllNamesDeniedWrite(t *testing.T) {
	// Permissions are probed where a probe performed by an endpoint that
	// ignores DryRun changes nothing: ReplaceRoute with the route's current
	// target, CreateRoute where the route exists only on the node the route
	// names; and, where the route is missing, CreateRoute with this node's
	// target (issue 19: a fresh install must learn in validate-all that its
	// policy lacks it). CreateRoute where the route exists is not needed by
	// start: denied, it is a skipped check (a warning), not a failure.
	cases := []struct {
		name   string
		params map[string]string
		owner  string // the node the VIP's route names in both tables; "" no route
		deny   ec2emu.Deny
		want   []string // nil: validate-all passes, logging log
		log    string
	}{
		{"ReplaceRoute on the first table", nil, "b",
			ec2emu.Deny{Action: "ReplaceRoute", RouteTableID: rtb1}, []string{"ReplaceRoute", rtb1}, ""},
		{"ReplaceRoute on the second table", nil, "b",
			ec2emu.Deny{Action: "ReplaceRoute", RouteTableID: rtb2}, []string{"ReplaceRoute", rtb2}, ""},
		{"ReplaceRoute, no route yet: not probed", nil, "",
			ec2emu.Deny{Action: "ReplaceRoute", RouteTableID: rtb2}, nil, "ReplaceRoute not probed"},
		{"CreateRoute, no route yet: probed", map[string]string{"create_route": "true"}, "",
			ec2emu.Deny{Action: "CreateRoute", RouteTableID: rtb2}, []string{"CreateRoute", rtb2}, ""},
		{"CreateRoute on the active node: skipped", map[string]string{"create_route": "true"}, "a",
			ec2emu.Deny{Action: "CreateRoute", RouteTableID: rtb2}, nil, "ec2:CreateRoute is not permitted, so it was not checked"},
		{"CreateRoute from a standby: not probed", map[string]string{"create_route": "true"}, "b",
			ec2emu.Deny{Action: "CreateRoute", RouteTableID: rtb2}, nil, "not probed"},
		{"ModifyNetworkInterfaceAttribute, source_dest_check=disable", map[string]string{"source_dest_check": "disable"}, "b",
			ec2emu.Deny{Action: "ModifyNetworkInterfaceAttribute"}, []string{"ModifyNetworkInterfaceAttribute", ec2emu.FixtureENIA}, ""},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(c.name, func(t *testing.T) {
				e := newEnv(t)
				for k, v := range c.params {
					e.Params[k] = v
				}
				if c.owner != "" {
					e.RouteTo(c.owner, rtb1, rtb2)
				}
				e.Expect("a", "validate-all", lab.OCFSuccess)
				c.deny.Principal = e.W.Node("a").AccessKeyID
				e.W.Emu.Deny(c.deny)
				before := e.W.Emu.Snapshot()
				if c.want == nil {
					res := e.Expect("a", "validate-all", lab.OCFSuccess)
					assert.Contains(t, res.Stderr, c.log)
				} else {
					res := e.Expect("a", "validate-all", lab.OCFPerm)
					for _, w := range c.want {
						assert.Contains(t, res.Reason, w)
					}
				}
				assert.Empty(t, ec2emu.Diff(before, e.W.Emu.Snapshot()), "validate-all changed a route")
				assert.Equal(t, before.ENIs, e.W.Emu.Snapshot().ENIs, "validate-all changed an ENI")
				assert.False(t, e.HasVIP("a"))
				// The other node is not denied.
				e.Expect("b", "validate-all", lab.OCFSuccess)
			})
		}()
	}
	wg.Wait()
}

// emulatedActions are the EC2 and STS actions the emulator implements.
var emulatedActions = []string{
	"DescribeRouteTables", "CreateRoute", "ReplaceRoute", "DeleteRoute", "DescribeInstances",
	"DescribeNetworkInterfaces", "DescribeInstanceAttribute", "ModifyInstanceAttribute",
	"ModifyNetworkInterfaceAttribute", "DescribeVpcs", "AssumeRole",
}

// TestREADMEPolicySuffices denies every action the emulator knows except
// the README's policy (the emulator's deny rules cannot say "all but", so
// each other action is denied by name), and route writes on the VPC's
// table that is not configured (the policy's Resource list); the whole
// life cycle still succeeds and no request is refused.
func TestREADMEPolicySuffices(t *testing.T) {
	for _, sdc := range []string{"ignore", "disable"} {
		t.Run("source_dest_check="+sdc, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.Params["source_dest_check"] = sdc
			allowed := map[string]bool{"DescribeRouteTables": true, "DescribeNetworkInterfaces": true,
				"ReplaceRoute": true, "CreateRoute": true}
			if sdc == "disable" {
				allowed["ModifyNetworkInterfaceAttribute"] = true
			}
			for _, act := range emulatedActions {
				if !allowed[act] {
					e.W.Emu.Deny(ec2emu.Deny{Principal: "*", Action: act})
				}
			}
			for _, act := range []string{"ReplaceRoute", "CreateRoute"} {
				e.W.Emu.Deny(ec2emu.Deny{Principal: "*", Action: act, RouteTableID: ec2emu.FixtureMainTable})
			}
			e.Expect("a", "validate-all", lab.OCFSuccess)
			e.Expect("a", "monitor", lab.OCFNotRunning)
			e.Expect("a", "start", lab.OCFSuccess)
			e.Expect("a", "monitor", lab.OCFSuccess, labtest.Recurring)
			e.Expect("a", "monitor", lab.OCFSuccess)
			e.Expect("b", "validate-all", lab.OCFSuccess)
			e.Expect("b", "start", lab.OCFSuccess)
			e.Expect("a", "monitor", lab.OCFNotRunning, labtest.Recurring)
			e.Expect("a", "stop", lab.OCFSuccess)
			e.Expect("b", "monitor", lab.OCFSuccess, labtest.Recurring)
			e.Expect("b", "stop", lab.OCFSuccess)
			assert.Equal(t, "b", e.owner())
			for _, l := range e.W.Emu.Log() {
				assert.NotEqual(t, "UnauthorizedOperation", l.Code, "%s was refused", l.Action)
				assert.True(t, allowed[l.Action], "%s is not in the README's policy", l.Action)
			}
			if sdc == "disable" {
				for _, n := range e.W.Emu.Snapshot().ENIs {
					assert.False(t, n.SourceDestCheck, "start did not disable the check on %s", n.ID)
				}
			}
		})
	}
}
