// Package netvip is the VIP adapter: the virtual IP on a local interface,
// through netlink (no ip command).
package netvip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"

	"github.com/suzlab/routeha/agent"
)

// VIP implements agent.VIP with netlink in the calling process's network
// namespace.
type VIP struct{}

// New returns the adapter.
func New() *VIP { return &VIP{} }

var _ agent.VIP = (*VIP)(nil)

func ipNet(a agent.Address) *net.IPNet {
	ip := net.IP(a.Prefix.Addr().AsSlice())
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(a.Prefix.Bits(), a.Prefix.Addr().BitLen())}
}

func notFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf)
}

// InterfaceExists reports whether the interface is present.
func (v *VIP) InterfaceExists(_ context.Context, name string) (bool, error) {
	ifi, err := interfaceByName(name)
	return ifi != nil, err
}

// HardwareAddr returns the interface's MAC address ("" for lo, for an
// interface without one, or for no interface at all).
func (v *VIP) HardwareAddr(_ context.Context, name string) (string, error) {
	ifi, err := interfaceByName(name)
	if ifi == nil || err != nil {
		return "", err
	}
	for _, b := range ifi.HardwareAddr {
		if b != 0 {
			return strings.ToLower(ifi.HardwareAddr.String()), nil
		}
	}
	return "", nil
}

// Has reports whether the address is on the interface with the VIP's own
// prefix length (/32, /128). A missing interface holds no address. The
// same IP with another prefix (a static 192.0.2.10/24 left on lo:0) is not
// the VIP start adds: counting it would have monitor report running what
// start never started (and stop removes it; see Remove).
//
// It reads with the standard library's netlink dumps (RTM_GETLINK,
// RTM_GETADDR) rather than vishvananda/netlink, whose every receive
// allocates a fresh 64 KB buffer: a monitor and a probe are processes that
// live about 20 ms, where those untouched pages cost more than the
// question. Changes still go through vishvananda/netlink, which sets
// labels and flags.
func (v *VIP) Has(_ context.Context, a agent.Address) (bool, error) {
	ifi, err := interfaceByName(a.Interface)
	if ifi == nil || err != nil {
		return false, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return false, fmt.Errorf("addresses of %s: %w", a.Interface, err)
	}
	want := a.Prefix.Addr()
	for _, ad := range addrs {
		ipn, ok := ad.(*net.IPNet)
		if !ok {
			continue
		}
		ones, _ := ipn.Mask.Size()
		if ip, ok := netipAddr(ipn.IP); ok && ip == want && ones == a.Prefix.Bits() {
			return true, nil
		}
	}
	return false, nil
}

// interfaceByName finds an interface in one link dump; nil without error
// when there is none (net.InterfaceByName's "no such interface" is not a
// value one can test for).
func interfaceByName(name string) (*net.Interface, error) {
	ifis, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("network interfaces: %w", err)
	}
	for i := range ifis {
		if ifis[i].Name == name {
			return &ifis[i], nil
		}
	}
	return nil, nil
}

// Add puts the address on the interface with its label; present already
// is success. The same IP with another prefix is removed first: IPv6
// keeps one prefix per address (adding would meet EEXIST and leave the
// wrong one), and for IPv4 the result is then the same, one address with
// the VIP's prefix.
func (v *VIP) Add(_ context.Context, a agent.Address) error {
	link, err := netlink.LinkByName(a.Interface)
	if err != nil {
		return fmt.Errorf("interface %s: %w", a.Interface, err)
	}
	if err := removeOtherPrefixes(link, a, false); err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: ipNet(a), Label: a.Label}
	if a.Prefix.Addr().Is6() {
		// No duplicate address detection on a /128 that is ours alone:
		// it would keep the address tentative for a second.
		addr.Flags = syscall.IFA_F_NODAD
	}
	if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, syscall.EEXIST) {
		return err
	}
	return nil
}

// Remove deletes the address, and the same IP under any other prefix (a
// stopped node must not hold the VIP's address at all); absent already
// (or no interface) is success.
func (v *VIP) Remove(_ context.Context, a agent.Address) error {
	link, err := netlink.LinkByName(a.Interface)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("interface %s: %w", a.Interface, err)
	}
	if err := removeOtherPrefixes(link, a, true); err != nil {
		return err
	}
	return deleteAddr(link, &netlink.Addr{IPNet: ipNet(a)})
}

// removeOtherPrefixes deletes the VIP's IP from link where it has a prefix
// other than the VIP's (and with its own prefix too when all is set).
func removeOtherPrefixes(link netlink.Link, a agent.Address, all bool) error {
	family := netlink.FAMILY_V4
	if a.Prefix.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(link, family)
	if err != nil {
		return fmt.Errorf("addresses of %s: %w", a.Interface, err)
	}
	for i := range addrs {
		ad := &addrs[i]
		ip, ok := netipAddr(ad.IP)
		if !ok || ip != a.Prefix.Addr() {
			continue
		}
		if ones, _ := ad.Mask.Size(); ones == a.Prefix.Bits() && !all {
			continue
		}
		if err := deleteAddr(link, ad); err != nil {
			return err
		}
	}
	return nil
}

func deleteAddr(link netlink.Link, ad *netlink.Addr) error {
	err := netlink.AddrDel(link, ad)
	if err != nil && !errors.Is(err, syscall.EADDRNOTAVAIL) && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("remove %s from %s: %w", ad.IPNet, link.Attrs().Name, err)
	}
	return nil
}
