package pacemaker_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suzlab/routeha/test/lab/labtest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/lab"
)

// test/packaging/version.sh, which make gives to the binary and the
// packages, in a scratch tree: git describe of the newest v* tag, '-' made
// '+'; 0.0.0~git<hash> with no tag; the VERSION file outside git; a
// refusal of a VERSION no package format accepts.
func TestVersionScript(t *testing.T) {
	labtest.NeedTools(t, "git", "bash")
	t.Parallel()
	root, err := lab.ModuleRoot()
	require.NoError(t, err)
	script, err := os.ReadFile(filepath.Join(root, "test/packaging/version.sh"))
	require.NoError(t, err)

	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "test/packaging"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "test/packaging/version.sh"), script, 0o755))
	version := func() (string, int) {
		cmd := exec.Command("bash", filepath.Join(src, "test/packaging/version.sh"))
		cmd.Dir = t.TempDir() // the script finds its tree by its own path
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, code := runTool(cmd)
		return strings.TrimSpace(out), code
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v:\n%s", args, out)
		return strings.TrimSpace(string(out))
	}

	// Outside git: the VERSION file, else a placeholder.
	v, code := version()
	assert.Equal(t, 0, code, v)
	assert.Equal(t, "0.0.0~unknown", v)
	require.NoError(t, os.WriteFile(filepath.Join(src, "VERSION"), []byte("2.0.1\n"), 0o644))
	v, code = version()
	assert.Equal(t, 0, code, v)
	assert.Equal(t, "2.0.1", v)
	require.NoError(t, os.WriteFile(filepath.Join(src, "VERSION"), []byte("2.0 beta\n"), 0o644))
	v, code = version()
	assert.NotEqual(t, 0, code, "a VERSION with a space was accepted: %s", v)
	require.NoError(t, os.WriteFile(filepath.Join(src, "VERSION"), []byte("2.0.1\n"), 0o644))

	// In git, git wins over the VERSION file.
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "one")
	v, _ = version()
	assert.Equal(t, "0.0.0~git"+git("rev-parse", "--short", "HEAD"), v, "untagged")
	git("tag", "v1.4.0")
	v, _ = version()
	assert.Equal(t, "1.4.0", v, "on a tag")
	git("commit", "-q", "--allow-empty", "-m", "two")
	v, _ = version()
	assert.Equal(t, "1.4.0+1+g"+git("rev-parse", "--short", "HEAD"), v, "one commit past a tag")
	git("tag", "release-candidate") // not a v<digit> tag: ignored
	v, _ = version()
	assert.Equal(t, "1.4.0+1+g"+git("rev-parse", "--short", "HEAD"), v, "a non-version tag")
}

// make install's binary and man page carry the version version.sh gives
// this tree, the one make deb/rpm would give the packages.
func TestInstalledVersion(t *testing.T) {
	t.Parallel()
	_, agent, manpage := installed(t)
	root, err := lab.ModuleRoot()
	require.NoError(t, err)
	out, code := runTool(exec.Command("bash", filepath.Join(root, "test/packaging/version.sh")))
	require.Equal(t, 0, code, out)
	want := strings.TrimSpace(out)

	raw, err := exec.Command(agent, "meta-data").Output()
	require.NoError(t, err)
	assert.Contains(t, string(raw), `<resource-agent name="routeha" version="`+want+`">`)
	page, err := os.ReadFile(manpage)
	require.NoError(t, err)
	assert.Contains(t, strings.SplitN(string(page), "\n", 2)[0], `"routeha `+want+`"`)
}
