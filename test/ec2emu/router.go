package ec2emu

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Router mirrors one emulated route table into the kernel routing table of a
// network namespace, for live demos: every route of the table whose destination
// lies outside the VPC's CIDRs and that targets an ENI or instance becomes a
// kernel route via the ENI's private IP, or a blackhole route when the target
// is gone. Gateway routes and default routes are never installed. Use it only
// in a network namespace made for the purpose.
type Router struct {
	table     string
	h         *netlink.Handle
	mu        sync.Mutex
	installed map[netip.Prefix]bool
}

// NewRouter returns a Router for table working in the calling thread's
// current network namespace.
func NewRouter(table string) (*Router, error) {
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, err
	}
	return &Router{table: table, h: h, installed: map[netip.Prefix]bool{}}, nil
}

// NewRouterAt returns a Router for table working in the namespace ns.
func NewRouterAt(ns netns.NsHandle, table string) (*Router, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, err
	}
	return &Router{table: table, h: h, installed: map[netip.Prefix]bool{}}, nil
}

// Close releases the netlink handle.
func (r *Router) Close() { r.h.Close() }

// Apply brings the kernel routes in line with st. It suits WithOnChange.
func (r *Router) Apply(st *State) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rt := st.RouteTable(r.table)
	if rt == nil {
		return fmt.Errorf("router: no route table %s", r.table)
	}
	var vpcNets []netip.Prefix
	if v := st.vpc(rt.VPC); v != nil {
		for _, c := range append(append([]string{}, v.CIDRs...), v.IPv6CIDRs...) {
			if p, err := netip.ParsePrefix(c); err == nil {
				vpcNets = append(vpcNets, p.Masked())
			}
		}
	}
	want := map[netip.Prefix]bool{}
	var errs []error
	for _, route := range rt.Routes {
		if route.GatewayID != "" {
			continue
		}
		p, err := netip.ParsePrefix(route.Destination())
		if err != nil || p.Bits() == 0 {
			continue
		}
		p = p.Masked()
		inside := false
		for _, v := range vpcNets {
			if v.Bits() <= p.Bits() && v.Contains(p.Addr()) {
				inside = true
			}
		}
		if inside {
			continue
		}
		want[p] = true
		if err := r.install(st, p, route); err != nil {
			errs = append(errs, err)
		}
	}
	for p := range r.installed {
		if !want[p] {
			_ = r.h.RouteDel(&netlink.Route{Dst: ipnet(p)})
			_ = r.h.RouteDel(&netlink.Route{Dst: ipnet(p), Type: unix.RTN_BLACKHOLE})
			delete(r.installed, p)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("router: %v", errs)
	}
	return nil
}

func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func (r *Router) install(st *State, p netip.Prefix, route Route) error {
	var eni *ENI
	if st.RouteState(route) == "active" {
		if route.NetworkInterfaceID != "" {
			eni = st.eni(route.NetworkInterfaceID)
		} else if enis := st.enisOf(route.InstanceID); len(enis) > 0 {
			eni = enis[0]
		}
	}
	var nh net.IP
	if eni != nil {
		nh = net.ParseIP(eni.PrivateIP)
	}
	if nh == nil || (nh.To4() != nil) != p.Addr().Is4() {
		r.installed[p] = true
		return r.h.RouteReplace(&netlink.Route{Dst: ipnet(p), Type: unix.RTN_BLACKHOLE})
	}
	got, err := r.h.RouteGet(nh)
	if err != nil || len(got) == 0 {
		r.installed[p] = true
		if err2 := r.h.RouteReplace(&netlink.Route{Dst: ipnet(p), Type: unix.RTN_BLACKHOLE}); err2 != nil {
			return err2
		}
		return fmt.Errorf("no route to %s: %v", nh, err)
	}
	// A blackhole route of the same prefix must go before a unicast one can
	// replace it.
	_ = r.h.RouteDel(&netlink.Route{Dst: ipnet(p), Type: unix.RTN_BLACKHOLE})
	r.installed[p] = true
	return r.h.RouteReplace(&netlink.Route{Dst: ipnet(p), Gw: nh, LinkIndex: got[0].LinkIndex})
}
