package pacemaker_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/suzlab/routeha/test/lab/labtest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/lab"
)

const (
	debAgent = "/usr/lib/ocf/resource.d/suzlab/routeha"
	debMan   = "/usr/share/man/man7/ocf_suzlab_routeha.7.gz"
)

// test/packaging/build-deb.sh builds the .deb with nfpm; dpkg -i installs
// the agent and man page into the real system, where crm finds the agent
// without help, ocf-tester passes on it and man shows the page; dpkg -r
// removes everything again.
func TestDeb(t *testing.T) {
	labtest.NeedTools(t, "dpkg", "dpkg-deb", "dpkg-query", "go", "gzip", "ocf-tester", "crm", "su", "xmllint")
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "routeha").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skip("a routeha package is already installed on this machine; not replacing it")
	}
	if _, err := os.Stat(filepath.Dir(debAgent)); err == nil {
		t.Skipf("%s already exists; not overwriting what is installed there", filepath.Dir(debAgent))
	}
	t.Parallel()
	installed(t) // make install builds bin/routeha and its man page, which the script packages
	root, err := lab.ModuleRoot()
	require.NoError(t, err)
	ctx := labtest.Context(t, 3*time.Minute)

	out := t.TempDir()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "test/packaging/build-deb.sh"))
	cmd.Env = append(os.Environ(), "OUT="+out, "VERSION=1.2.3~test")
	log, code := runTool(cmd)
	require.Equal(t, 0, code, "build-deb.sh:\n%s", log)
	deb := filepath.Join(out, "routeha_1.2.3~test_amd64.deb")
	require.FileExists(t, deb)

	checkDeb(t, deb, "1.2.3~test", "amd64")

	log, code = runTool(exec.CommandContext(ctx, "dpkg", "-i", deb))
	t.Cleanup(func() {
		out, code := runTool(exec.Command("dpkg", "-r", "routeha"))
		assert.Equal(t, 0, code, "dpkg -r routeha:\n%s", out)
		assert.NoFileExists(t, debAgent)
		assert.NoFileExists(t, debMan)
		assert.NoDirExists(t, filepath.Dir(debAgent), "dpkg -r left the provider directory")
	})
	require.Equal(t, 0, code, "dpkg -i:\n%s", log)
	transcript(t, "deb", "dpkg -i "+filepath.Base(deb), log)

	// The packaged binary is the built one.
	_, want := metadata(t, agentBin(t))
	_, got := metadata(t, debAgent)
	assert.Equal(t, string(want), string(got))

	// Pacemaker's tools find it where it belongs, without any overlay.
	// In a mount namespace of its own with a private /var/log/crmsh, so
	// that crmsh's log on the host stays as it was.
	ra, code := runTool(exec.CommandContext(ctx, "unshare", "--mount", "--", "/bin/sh", "-c",
		`mount --make-rprivate / && { [ ! -d /var/log/crmsh ] || mount -t tmpfs tmpfs /var/log/crmsh; } && exec "$@"`,
		"sh", "crm", "ra", "info", agentName))
	assert.Equal(t, 0, code, "crm ra info after dpkg -i:\n%s", ra)
	assert.Contains(t, ra, "("+agentName+")")

	if _, err := exec.LookPath("man"); err == nil {
		where, code := runTool(exec.Command("man", "-w", "ocf_suzlab_routeha"))
		assert.Equal(t, 0, code, where)
		assert.Equal(t, debMan, strings.TrimSpace(where))
		cmd := exec.Command("man", "7", "ocf_suzlab_routeha")
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
		page, code := runTool(cmd)
		assert.Equal(t, 0, code, page)
		assert.Contains(t, page, "ocf_suzlab_routeha - ")
	}

	tester := runOCFTester(t, debAgent)
	transcript(t, "deb", "ocf-tester -n vip -o ip="+vip+" -o routing_table="+tables+" "+debAgent, tester)
}

// The .debs of make dist, amd64 and arm64, installed into a scratch root
// with dpkg --root (its own database and log; the arm64 one with
// --force-architecture): the files have their modes, the agent is a static
// executable of the package's architecture whose meta-data (natively or
// under qemu-user) validates against ra-api-1.dtd and carries the
// package's version, as does the man page; dpkg -r leaves the root as it
// was. Where binfmt_misc runs arm64 binaries through qemu-user, ocf-tester
// also passes on the installed arm64 agent; TestDeb does the rest of what
// a real install checks for the host's architecture.
func TestDebScratchRoot(t *testing.T) {
	labtest.NeedTools(t, "dpkg", "dpkg-deb", "xmllint", dtd) // dtd: package resource-agents
	t.Parallel()
	dir := dist(t)
	for _, a := range pkgArches {
		t.Run(a.deb, func(t *testing.T) {
			ctx := labtest.Context(t, 2*time.Minute)
			deb := filepath.Join(dir, a.debFile())
			info, contents := checkDeb(t, deb, pkgVersion, a.deb)
			assert.Contains(t, info, "Recommends: pacemaker, resource-agents\n")
			assert.NotContains(t, info, "Depends:")
			assert.Regexp(t, `-rw-r--r-- root/root .* \./usr/share/doc/routeha/copyright\n`, contents)

			// World-readable, as ocf-tester runs meta-data as nobody.
			root, err := os.MkdirTemp("", "routeha-debroot-")
			require.NoError(t, err)
			t.Cleanup(func() { _ = os.RemoveAll(root) })
			require.NoError(t, os.Chmod(root, 0o755))
			admin := filepath.Join(root, "var/lib/dpkg")
			for _, d := range []string{"info", "updates", "triggers"} {
				require.NoError(t, os.MkdirAll(filepath.Join(admin, d), 0o755))
			}
			require.NoError(t, os.WriteFile(filepath.Join(admin, "status"), nil, 0o644))
			dpkg := func(args ...string) *exec.Cmd {
				return exec.CommandContext(ctx, "dpkg", append([]string{"--root=" + root,
					"--log=" + filepath.Join(root, "dpkg.log"), "--force-architecture", "--force-depends"}, args...)...)
			}
			skip := "var/lib/dpkg"
			before := tree(t, root, skip)
			delete(before, "dpkg.log")

			out, code := runTool(dpkg("-i", deb))
			require.Equal(t, 0, code, "dpkg --root -i:\n%s", out)
			agent := filepath.Join(root, debAgent)
			st, err := os.Stat(agent)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o755), st.Mode().Perm(), "agent mode")
			checkStaticELF(t, agent, a.goarch)
			checkPackagedAgent(t, agent, a.goarch, filepath.Join(root, debMan))
			if a.goarch != runtime.GOARCH {
				if binfmtRuns(a.goarch) {
					runOCFTester(t, agent)
				} else {
					t.Logf("binfmt_misc does not run %s binaries here: ocf-tester not run on the installed agent (meta-data ran under qemu-user directly)", a.goarch)
				}
			}

			out, code = runTool(dpkg("-r", "routeha"))
			require.Equal(t, 0, code, "dpkg --root -r:\n%s", out)
			after := tree(t, root, skip)
			delete(after, "dpkg.log")
			assert.Equal(t, before, after, "dpkg -r left the root different from before dpkg -i")
		})
	}
}

// checkDeb checks the name, version and architecture dpkg-deb --info
// shows of the .deb, and that its contents have the agent (rwxr-xr-x) and
// the man page (rw-r--r--), owned by root. It returns both outputs.
func checkDeb(t *testing.T, deb, version, arch string) (info, contents string) {
	t.Helper()
	info, code := runTool(exec.Command("dpkg-deb", "--info", deb))
	require.Equal(t, 0, code, info)
	assert.Contains(t, info, "Package: routeha")
	assert.Contains(t, info, "Version: "+version+"\n")
	assert.Contains(t, info, "Architecture: "+arch+"\n")
	contents, code = runTool(exec.Command("dpkg-deb", "--contents", deb))
	require.Equal(t, 0, code, contents)
	assert.Regexp(t, `-rwxr-xr-x root/root .* \.`+debAgent+`\n`, contents)
	assert.Regexp(t, `-rw-r--r-- root/root .* \.`+debMan+`\n`, contents)
	return info, contents
}

// binfmtRuns reports whether the kernel runs goarch binaries through a
// registered, enabled binfmt_misc handler (qemu-user).
func binfmtRuns(goarch string) bool {
	name := map[string]string{"amd64": "qemu-x86_64", "arm64": "qemu-aarch64"}[goarch]
	b, err := os.ReadFile("/proc/sys/fs/binfmt_misc/" + name)
	return err == nil && strings.HasPrefix(string(b), "enabled")
}
