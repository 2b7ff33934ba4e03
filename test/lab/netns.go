package lab

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

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Unsupported is the reason this process cannot build a lab (not root, no
// ip command, a kernel that refuses namespaces): tests skip on it, the
// demo reports it.
type Unsupported struct{ Reason string }

func (u *Unsupported) Error() string { return "lab: " + u.Reason }

// Check tells whether this process can make network namespaces: root, the
// ip command (iproute2) and a kernel that allows it. The error is an
// *Unsupported.
func Check() error {
	if os.Geteuid() != 0 {
		return &Unsupported{"needs root (network namespaces); run the tests as root"}
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return &Unsupported{"needs the ip command (iproute2)"}
	}
	err := onLockedThread(func() error {
		ns, err := netns.New() // New also enters it; onLockedThread switches back
		if err != nil {
			return err
		}
		return ns.Close()
	})
	if err != nil {
		return &Unsupported{fmt.Sprintf("the kernel refuses network namespaces: %v", err)}
	}
	return nil
}

// onLockedThread runs fn on a locked OS thread and puts the thread back in
// the network namespace it started in. fn may switch namespaces; sockets it
// opens stay in the namespace they were made in. Goroutines fn starts do not
// inherit its namespace. If the thread cannot be switched back it stays
// locked and dies with its goroutine.
func onLockedThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("back to the original namespace: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Enter runs fn on a locked OS thread switched into the namespace h, and
// switches back. This is the one place of the test tree that enters a
// namespace.
func Enter(h netns.NsHandle, fn func() error) error {
	return onLockedThread(func() error {
		if err := netns.Set(h); err != nil {
			return fmt.Errorf("enter namespace: %w", err)
		}
		return fn()
	})
}

// EnterNamed is Enter for a namespace known by its ip-netns name.
func EnterNamed(name string, fn func() error) error {
	h, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("netns %s: %w", name, err)
	}
	defer h.Close()
	return Enter(h, fn)
}

// IP runs `ip args...` and returns an error with its output.
func IP(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Netns is a named network namespace (ip netns) made by the lab.
type Netns struct {
	Name   string
	handle netns.NsHandle
}

// NewNetns creates a namespace routeha-<pid>-<random> with lo up. Namespaces
// of test processes that no longer run (killed before their cleanup) are
// removed first. Close removes it.
func NewNetns() (*Netns, error) {
	RemoveOrphans()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return CreateNetns(fmt.Sprintf("routeha-%d-%s", os.Getpid(), hex.EncodeToString(b)))
}

// CreateNetns creates the namespace name with lo up; Close removes it.
func CreateNetns(name string) (*Netns, error) {
	if err := IP("netns", "add", name); err != nil {
		return nil, err
	}
	// No handle yet: Close must not close fd 0 (the zero NsHandle).
	n := &Netns{Name: name, handle: netns.None()}
	h, err := netns.GetFromName(name)
	if err != nil {
		_ = n.Close()
		return nil, fmt.Errorf("open netns %s: %w", name, err)
	}
	n.handle = h
	if err := IP("-n", name, "link", "set", "lo", "up"); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

// Close deletes the namespace.
func (n *Netns) Close() error {
	if n.handle.IsOpen() {
		_ = n.handle.Close()
	}
	return IP("netns", "del", n.Name)
}

// RemoveOrphans deletes namespaces NewNetns named after a process that no
// longer runs, so that a killed run leaves nothing behind for long. Only
// routeha-<pid>-<hex> names whose pid is gone are touched.
func RemoveOrphans() {
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
		_ = IP("netns", "del", e.Name())
	}
}

// Handle returns the namespace's handle (owned by the Netns; do not close).
func (n *Netns) Handle() netns.NsHandle { return n.handle }

// Do runs fn on a locked OS thread switched into the namespace.
func (n *Netns) Do(fn func() error) error {
	if err := Enter(n.handle, fn); err != nil {
		return fmt.Errorf("in %s: %w", n.Name, err)
	}
	return nil
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
