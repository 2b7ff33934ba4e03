package lab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ModuleRoot returns the directory of routeha's go.mod, found by walking up
// from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			s := bufio.NewScanner(f)
			ok := s.Scan() && strings.TrimSpace(s.Text()) == "module github.com/suzlab/routeha"
			f.Close()
			if ok {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/suzlab/routeha above the working directory")
		}
		dir = parent
	}
}

// AgentBinary returns the routeha binary: $ROUTEHA_BIN when set, else one
// built from the module root. The build happens once per test process: it goes
// to $TMPDIR/routeha-harness-<pid>/routeha, guarded by a file lock, so there
// is no package-level state. Directories of processes that have ended are
// removed on the way.
func AgentBinary() (string, error) {
	if p := os.Getenv("ROUTEHA_BIN"); p != "" {
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	removeStale()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("routeha-harness-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	bin := filepath.Join(dir, "routeha")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command to build routeha: %w", err)
	}
	tmp := bin + ".tmp"
	cmd := exec.Command(goBin, "build", "-o", tmp, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build routeha: %w\n%s", err, out)
	}
	return bin, os.Rename(tmp, bin)
}

func removeStale() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "routeha-harness-*"))
	for _, m := range matches {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), "routeha-harness-"))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			_ = os.RemoveAll(m)
		}
	}
}
