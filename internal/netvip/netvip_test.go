package netvip

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/suzlab/routeha/agent"
)

// inNewNetns runs fn on a thread moved into a fresh network namespace, so
// that the test never touches the host's interfaces.
func inNewNetns(t *testing.T, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	skip := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread is left locked on purpose: it ends with the
		// goroutine, and so does its namespace.
		orig, err := netns.Get()
		if err != nil {
			t.Errorf("netns.Get: %v", err)
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err != nil {
			skip <- "the kernel refuses a new network namespace: " + err.Error()
			return
		}
		defer ns.Close()
		defer func() { _ = netns.Set(orig) }()
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			t.Errorf("lo: %v", err)
			return
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			t.Errorf("lo up: %v", err)
			return
		}
		fn()
	}()
	<-done
	select {
	case reason := <-skip:
		t.Skip(reason)
	default:
	}
}

func TestVIPLifecycleIPv4(t *testing.T) {
	inNewNetns(t, func() {
		ctx := context.Background()
		v := New()
		a := agent.Address{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Interface: "lo", Label: "lo:0"}
		has, err := v.Has(ctx, a)
		require.NoError(t, err)
		assert.False(t, has)
		require.NoError(t, v.Add(ctx, a))
		require.NoError(t, v.Add(ctx, a), "adding twice is success")
		has, err = v.Has(ctx, a)
		require.NoError(t, err)
		assert.True(t, has)

		lo, _ := netlink.LinkByName("lo")
		addrs, _ := netlink.AddrList(lo, netlink.FAMILY_V4)
		labels := map[string]string{}
		for _, ad := range addrs {
			labels[ad.IPNet.String()] = ad.Label
		}
		assert.Equal(t, "lo:0", labels["192.0.2.10/32"])

		require.NoError(t, v.Remove(ctx, a))
		require.NoError(t, v.Remove(ctx, a), "removing twice is success")
		has, _ = v.Has(ctx, a)
		assert.False(t, has)
	})
}

func TestVIPLifecycleIPv6(t *testing.T) {
	inNewNetns(t, func() {
		ctx := context.Background()
		v := New()
		a := agent.Address{Prefix: netip.MustParsePrefix("2001:db8::10/128"), Interface: "lo"}
		require.NoError(t, v.Add(ctx, a))
		has, err := v.Has(ctx, a)
		require.NoError(t, err)
		assert.True(t, has)
		require.NoError(t, v.Remove(ctx, a))
		has, _ = v.Has(ctx, a)
		assert.False(t, has)
	})
}

func TestMissingInterface(t *testing.T) {
	inNewNetns(t, func() {
		ctx := context.Background()
		v := New()
		a := agent.Address{Prefix: netip.MustParsePrefix("192.0.2.10/32"), Interface: "eth9"}
		ok, err := v.InterfaceExists(ctx, "eth9")
		require.NoError(t, err)
		assert.False(t, ok)
		has, err := v.Has(ctx, a)
		require.NoError(t, err)
		assert.False(t, has)
		require.NoError(t, v.Remove(ctx, a), "nothing to remove is success")
		assert.Error(t, v.Add(ctx, a))
	})
}

// An address equal to the VIP but with another prefix (a static
// 192.0.2.10/24 on lo:0, left from a hand-made setup) is not the VIP that
// start adds: Has does not count it, so monitor does not report a resource
// as running that start never started; and stop removes it, so that a
// stopped node holds the VIP's address under no prefix.
func TestOtherPrefixOfTheVIP(t *testing.T) {
	for _, c := range []struct{ vip, other string }{
		{"192.0.2.10/32", "192.0.2.10/24"},
		{"2001:db8::10/128", "2001:db8::10/64"},
	} {
		inNewNetns(t, func() {
			ctx := context.Background()
			v := New()
			a := agent.Address{Prefix: netip.MustParsePrefix(c.vip), Interface: "lo"}
			if a.Prefix.Addr().Is4() {
				a.Label = "lo:0"
			}
			lo, err := netlink.LinkByName("lo")
			require.NoError(t, err)
			other, err := netlink.ParseAddr(c.other)
			require.NoError(t, err)
			other.Label = a.Label
			if a.Prefix.Addr().Is6() {
				other.Flags = 0x02 // IFA_F_NODAD
			}
			require.NoError(t, netlink.AddrAdd(lo, other))

			has, err := v.Has(ctx, a)
			require.NoError(t, err)
			assert.False(t, has, "%s counted as the VIP %s", c.other, c.vip)

			left := func(when string) {
				addrs, err := netlink.AddrList(lo, netlink.FAMILY_ALL)
				require.NoError(t, err)
				for _, ad := range addrs {
					ones, _ := ad.Mask.Size()
					if ad.IP.Equal(other.IP) && ones != a.Prefix.Bits() {
						t.Errorf("%s left on lo %s", ad.IPNet, when)
					}
				}
			}
			// stop without a start: the stray goes.
			require.NoError(t, v.Remove(ctx, a))
			left("after Remove")

			// start over the stray: the VIP's prefix replaces it.
			require.NoError(t, netlink.AddrAdd(lo, other))
			require.NoError(t, v.Add(ctx, a))
			has, err = v.Has(ctx, a)
			require.NoError(t, err)
			assert.True(t, has, "after Add")
			left("after Add")
			require.NoError(t, v.Remove(ctx, a))
			has, err = v.Has(ctx, a)
			require.NoError(t, err)
			assert.False(t, has, "after Remove")
		})
	}
}
