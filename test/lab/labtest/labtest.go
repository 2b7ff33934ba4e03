// Package labtest serves test/lab to tests: each constructor skips the test
// where namespaces cannot be made, fails it on any other error, and closes
// what it built when the test ends. Env is one resource's scenario on a
// two-node world, with the checks every scenario makes.
package labtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/suzlab/routeha/test/lab"
)

// RequireRoot skips the test unless this process can make network
// namespaces (root, iproute2, a kernel that allows it).
func RequireRoot(t testing.TB) {
	t.Helper()
	if err := lab.Check(); err != nil {
		t.Skip(err)
	}
}

// skipOrFatal skips on lab.Unsupported and fails on any other error.
func skipOrFatal(t testing.TB, err error) {
	t.Helper()
	var u *lab.Unsupported
	if errors.As(err, &u) {
		t.Skip(err)
	}
	t.Fatal(err)
}

// NewNetns makes a namespace removed when the test ends.
func NewNetns(t testing.TB) *lab.Netns {
	t.Helper()
	RequireRoot(t)
	ns, err := lab.NewNetns()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("removing %s: %v", ns.Name, err)
		}
	})
	return ns
}

// Serve serves h inside ns until the test ends and returns its URL.
func Serve(t testing.TB, ns *lab.Netns, h http.Handler) string {
	t.Helper()
	url, stop, err := lab.Serve(ns, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	return url
}

// AgentBinary returns the routeha binary (lab.AgentBinary).
func AgentBinary(t testing.TB) string {
	t.Helper()
	bin, err := lab.AgentBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// World is a lab.World bound to a test.
type World struct {
	*lab.World
	t testing.TB
}

// NewWorld builds a world (by default the emulator's standard fixture with
// nodes "a" and "b") whose directories are the test's; it is torn down when
// the test ends.
func NewWorld(t testing.TB, opts ...func(*lab.Options)) *World {
	t.Helper()
	o := lab.Options{}
	for _, f := range opts {
		f(&o)
	}
	if o.Dir == "" {
		RequireRoot(t)
		o.Dir = t.TempDir()
	}
	w, err := lab.NewWorld(o)
	if err != nil {
		skipOrFatal(t, err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("closing the lab: %v", err)
		}
	})
	return &World{World: w, t: t}
}

// Node returns a node by name; it fails the test when there is none.
func (w *World) Node(name string) *lab.Node {
	n := w.World.Node(name)
	if n == nil {
		w.t.Fatalf("labtest: no node %q", name)
	}
	return n
}

// Agent returns a Runner of the agent on a node (lab.World.Agent).
func (w *World) Agent(node string) *lab.Runner {
	r := w.World.Agent(node)
	r.Node = w.Node(node)
	return r
}

// NeedTools skips the test unless it runs as root and finds every tool (a
// command on PATH, or an absolute path); test/setup/deps.sh installs them
// all, so in CI none is missing.
func NeedTools(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network and mount namespaces, netlink); run the tests as root")
	}
	for _, tool := range tools {
		var err error
		if strings.HasPrefix(tool, "/") {
			_, err = os.Stat(tool)
		} else {
			_, err = exec.LookPath(tool)
		}
		if err != nil {
			t.Skipf("%s is not installed (bash test/setup/deps.sh installs it)", tool)
		}
	}
}

// Context returns a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Transcript appends "$ cmdline" and output (without colour escapes) to
// $ROUTEHA_TRANSCRIPTS/name.txt when that variable is set.
func Transcript(t testing.TB, name, cmdline, output string) {
	t.Helper()
	dir := os.Getenv("ROUTEHA_TRANSCRIPTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".txt"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	output = regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(output, "")
	if _, err := fmt.Fprintf(f, "$ %s\n%s\n\n", cmdline, strings.TrimRight(output, "\n")); err != nil {
		t.Fatal(err)
	}
}
