package ec2emu_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab/labtest"
)

func TestRouterMirrorsTable(t *testing.T) {
	ns := labtest.NewNetns(t)
	h, err := ns.Netlink()
	require.NoError(t, err)
	defer h.Close()
	for i, cidr := range []string{"10.0.1.1/24", "10.0.2.1/24"} {
		name := []string{"sna", "snb"}[i]
		d := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
		require.NoError(t, h.LinkAdd(d), "veth pair inside the test netns")
		peer, err := h.LinkByName(name + "p")
		require.NoError(t, err)
		require.NoError(t, h.LinkSetUp(peer))
		require.NoError(t, h.LinkSetUp(d))
		a, err := netlink.ParseAddr(cidr)
		require.NoError(t, err)
		require.NoError(t, h.AddrAdd(d, a))
	}
	r, err := ec2emu.NewRouterAt(ns.Handle(), ec2emu.FixtureRouteTable1)
	require.NoError(t, err)
	defer r.Close()
	emu := ec2emu.New(nil, ec2emu.WithOnChange(func(s *ec2emu.State) { assert.NoError(t, r.Apply(s)) }))

	lookup := func(dst string) *netlink.Route {
		_, n, err := net.ParseCIDR(dst)
		require.NoError(t, err)
		rs, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: n, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
		require.NoError(t, err)
		if len(rs) == 0 {
			return nil
		}
		return &rs[0]
	}
	vip := "192.0.2.10/32"
	require.NoError(t, emu.SetRoute(ec2emu.FixtureRouteTable1, vip, ec2emu.FixtureENIA))
	rt := lookup(vip)
	require.NotNil(t, rt)
	assert.Equal(t, ec2emu.FixtureIPA, rt.Gw.String())
	// The unrelated 172.16.0.0/12 -> ENI A route is mirrored as well; 0.0.0.0/0 -> igw never.
	assert.NotNil(t, lookup("172.16.0.0/12"))

	require.NoError(t, emu.SetRoute(ec2emu.FixtureRouteTable1, vip, ec2emu.FixtureInstanceB))
	rt = lookup(vip)
	require.NotNil(t, rt)
	assert.Equal(t, ec2emu.FixtureIPB, rt.Gw.String())

	// The target's instance stops: blackhole.
	require.NoError(t, emu.SetInstanceState(ec2emu.FixtureInstanceB, "stopped"))
	require.NoError(t, emu.SetRoute(ec2emu.FixtureRouteTable1, vip, ec2emu.FixtureInstanceB))
	rt = lookup(vip)
	require.NotNil(t, rt)
	assert.Equal(t, unix.RTN_BLACKHOLE, rt.Type)
	require.NoError(t, emu.SetRoute(ec2emu.FixtureRouteTable1, vip, ec2emu.FixtureENIA))
	rt = lookup(vip)
	require.NotNil(t, rt)
	assert.Equal(t, ec2emu.FixtureIPA, rt.Gw.String())

	require.NoError(t, emu.SetRoute(ec2emu.FixtureRouteTable1, vip, ""))
	assert.Nil(t, lookup(vip))
}
