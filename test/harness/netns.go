// Package harness runs the built routeha binary the way Pacemaker does, inside
// network namespaces made by the test, against the in-process EC2 emulator
// and per-node IMDS fakes.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// RequireRoot skips the test unless it runs as root on a kernel that lets it
// create a network namespace.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("harness: needs root (network namespaces); run the tests as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("harness: needs the ip command (iproute2)")
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			errc <- err
			return
		}
		ns.Close()
		if err := netns.Set(orig); err != nil {
			errc <- err // leave the thread locked: it dies with the goroutine
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Skipf("harness: the kernel refuses network namespaces: %v", err)
	}
}

// Netns is a named network namespace (ip netns) made for one test.
type Netns struct {
	Name   string
	handle netns.NsHandle
}

// NewNetns creates a namespace routeha-<pid>-<random> with lo up; it is
// removed when the test ends.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	RequireRoot(t)
	removeOrphans()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("routeha-%d-%s", os.Getpid(), hex.EncodeToString(b))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	n := &Netns{Name: name}
	t.Cleanup(func() {
		if n.handle.IsOpen() {
			_ = n.handle.Close()
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	n.handle = h
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up in %s: %v: %s", name, err, out)
	}
	return n
}

// removeOrphans deletes namespaces this harness named after a test process
// that no longer runs (one killed before its cleanup could run), so that a
// killed run leaves nothing behind for long. Only routeha-<pid>-<hex>
// names whose pid is gone are touched.
func removeOrphans() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		var pid int
		var suffix string
		if n, _ := fmt.Sscanf(e.Name(), "routeha-%d-%s", &pid, &suffix); n != 2 || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		_ = exec.Command("ip", "netns", "del", e.Name()).Run()
	}
}

// Handle returns the namespace's handle (owned by the Netns; do not close).
func (n *Netns) Handle() netns.NsHandle { return n.handle }

// Do runs fn on a locked OS thread switched into the namespace, and switches
// back. Goroutines fn starts do not inherit the namespace.
func (n *Netns) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(n.handle); err != nil {
			errc <- fmt.Errorf("enter %s: %w", n.Name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("leave %s: %w", n.Name, err) // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Listen creates a listener inside the namespace (a socket stays in the
// namespace it was made in).
func (n *Netns) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := n.Do(func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// Command returns a command that runs inside the namespace (ip netns exec).
func (n *Netns) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Netlink returns a netlink handle working in the namespace; close it after use.
func (n *Netns) Netlink() (*netlink.Handle, error) { return netlink.NewHandleAt(n.handle) }

// Addrs lists the addresses on an interface inside the namespace.
func (n *Netns) Addrs(iface string) ([]netip.Prefix, error) {
	h, err := n.Netlink()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	link, err := h.LinkByName(iface)
	if err != nil {
		return nil, err
	}
	as, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(as))
	for _, a := range as {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out, nil
}

// HasAddr tells whether iface inside the namespace holds the address of cidr
// (an address "192.0.2.10" or prefix "192.0.2.10/32").
func (n *Netns) HasAddr(iface, cidr string) (bool, error) {
	want, err := parseAddr(cidr)
	if err != nil {
		return false, err
	}
	as, err := n.Addrs(iface)
	if err != nil {
		return false, err
	}
	for _, a := range as {
		if a.Addr() == want.Addr() {
			return true, nil
		}
	}
	return false, nil
}

func parseAddr(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(s)
}

// AddAddr adds cidr to iface inside the namespace. iface may carry a label
// ("lo:0"): the address goes on "lo" with that label (IPv4 only).
func (n *Netns) AddAddr(iface, cidr string) error { return n.addrOp(iface, cidr, true) }

// DelAddr removes cidr from iface inside the namespace.
func (n *Netns) DelAddr(iface, cidr string) error { return n.addrOp(iface, cidr, false) }

func (n *Netns) addrOp(iface, cidr string, add bool) error {
	p, err := parseAddr(cidr)
	if err != nil {
		return err
	}
	h, err := n.Netlink()
	if err != nil {
		return err
	}
	defer h.Close()
	dev, label, _ := strings.Cut(iface, ":")
	link, err := h.LinkByName(dev)
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if label != "" && p.Addr().Is4() {
		a.Label = iface
	}
	if add {
		return h.AddrAdd(link, a)
	}
	return h.AddrDel(link, a)
}

// Dial connects from inside the namespace.
func (n *Netns) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		var err error
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// HTTPClient returns an HTTP client whose connections are made inside the
// namespace (net/http dials on other goroutines, so Do alone is not enough).
func (n *Netns) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: n.Dial, DisableKeepAlives: true}}
}
