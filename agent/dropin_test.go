package agent

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

// The vendor guides' policy: only ec2:DescribeRouteTables and
// ec2:ReplaceRoute.
func guidesPolicy(routes *fakeRoutes) {
	routes.denied = map[string]bool{"DescribeNetworkInterfaces": true, "CreateRoute": true, "ModifyNetworkInterfaceAttribute": true}
}

func warnings(stderr, about string) []string {
	re := regexp.MustCompile(`(?m)^WARNING: .*` + regexp.QuoteMeta(about) + `.*$`)
	return re.FindAllString(stderr, -1)
}

// With the guides' policy every action and a failover succeed; each check
// that needed more logs one warning naming the action, and status shows
// it as skipped.
func TestGuidesPolicy(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeB), table(rtb2, &nodeB))
	guidesPolicy(routes)
	a, b := newWorld(t, nodeA, routes), newWorld(t, nodeB, routes)
	b.putVIP()
	for _, w := range []*world{a, b} {
		w.params["routing_table"] = rtb1 + "," + rtb2
	}
	r := a.run("validate-all", nil)
	requireCode(t, ocf.Success, r)
	assert.Len(t, warnings(r.stderr, "ec2:DescribeNetworkInterfaces is not permitted"), 1, r.stderr)
	assert.Contains(t, r.stderr, "source/destination check of "+nodeA.PrimaryENI)

	// b, active, also probes CreateRoute: denied, and skipped.
	r = b.run("validate-all", nil)
	requireCode(t, ocf.Success, r)
	assert.Len(t, warnings(r.stderr, "ec2:CreateRoute is not permitted"), 1, r.stderr)
	assert.Len(t, warnings(r.stderr, "ec2:DescribeNetworkInterfaces is not permitted"), 1, r.stderr)

	requireCode(t, ocf.NotRunning, a.run("monitor", map[string]string{"OCF_RESKEY_CRM_meta_interval": "0"}))
	// Failover: b stops, a starts.
	requireCode(t, ocf.Success, b.run("stop", nil))
	r = a.run("start", nil)
	requireCode(t, ocf.Success, r)
	assert.Len(t, warnings(r.stderr, "ec2:DescribeNetworkInterfaces is not permitted"), 1, r.stderr)
	for _, id := range []string{rtb1, rtb2} {
		rt := routeFor(*routes.tables[id], vipDst)
		require.NotNil(t, rt)
		assert.Equal(t, nodeA.PrimaryENI, rt.ENI)
	}
	requireCode(t, ocf.Success, a.run("monitor", map[string]string{"OCF_RESKEY_CRM_meta_interval": "60000"}))
	requireCode(t, ocf.Success, a.run("validate-all", nil))

	code, out := runStatus(t, a, "--json")
	require.Equal(t, ocf.Success, code, out)
	var st Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	skippedChecks := map[string]string{}
	for _, c := range st.Checks {
		if c.Skipped {
			skippedChecks[c.Name] = c.Message
			continue
		}
		assert.True(t, c.OK, "%s: %s", c.Name, c.Message)
	}
	assert.Contains(t, skippedChecks[checkSrcDest], "ec2:DescribeNetworkInterfaces")
	assert.Contains(t, skippedChecks[checkIAM], "ec2:CreateRoute")
	_, text := runStatus(t, a)
	assert.Contains(t, text, "[skip] "+checkSrcDest, text)

	requireCode(t, ocf.Success, a.run("stop", nil))
}

// What start needs is still refused with 4, naming the action.
func TestGuidesPolicyRealNeeds(t *testing.T) {
	t.Run("ReplaceRoute", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		routes.denied = map[string]bool{"ReplaceRoute": true, "DescribeNetworkInterfaces": true}
		w := newWorld(t, nodeA, routes)
		r := w.run("validate-all", nil)
		requireCode(t, ocf.ErrPerm, r)
		assert.Contains(t, r.reason, "ec2:ReplaceRoute")
		r = w.run("start", nil)
		requireCode(t, ocf.ErrPerm, r)
		assert.Contains(t, r.reason, "ReplaceRoute")
	})
	t.Run("CreateRoute on a fresh install", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, nil))
		guidesPolicy(routes)
		w := newWorld(t, nodeA, routes)
		r := w.run("validate-all", nil)
		requireCode(t, ocf.ErrPerm, r)
		assert.Contains(t, r.reason, "ec2:CreateRoute on "+rtb1)
		assert.Empty(t, routes.realWrites())
	})
	t.Run("source_dest_check=disable without ModifyNetworkInterfaceAttribute", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		guidesPolicy(routes)
		w := newWorld(t, nodeA, routes)
		w.params["source_dest_check"] = "disable"
		r := w.run("validate-all", nil)
		requireCode(t, ocf.ErrPerm, r)
		assert.Contains(t, r.reason, "ModifyNetworkInterfaceAttribute")
		r = w.run("start", nil)
		requireCode(t, ocf.ErrPerm, r)
		assert.Contains(t, r.reason, "source/dest check")
	})
	t.Run("source_dest_check=disable with Modify but not Describe", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		routes.denied = map[string]bool{"DescribeNetworkInterfaces": true}
		routes.srcDest[nodeA.PrimaryENI] = true
		w := newWorld(t, nodeA, routes)
		w.params["source_dest_check"] = "disable"
		requireCode(t, ocf.Success, w.run("validate-all", nil))
		assert.True(t, routes.srcDest[nodeA.PrimaryENI], "validate-all changes nothing")
		requireCode(t, ocf.Success, w.run("start", nil))
		assert.False(t, routes.srcDest[nodeA.PrimaryENI], "start turned it off without reading it")
	})
}

// nodeA with a second ENI (a replication network, say) on eth1.
var (
	macA1, macA2 = "02:00:00:00:00:a1", "02:00:00:00:00:a2"
	eniA2        = "eni-0aaaaaaaaaaaaaaa2"
)

func twoENIWorld(t *testing.T, routes *fakeRoutes) *world {
	self := nodeA
	self.ENIs = []string{nodeA.PrimaryENI, eniA2}
	self.MACs = map[string]string{macA1: nodeA.PrimaryENI, macA2: eniA2}
	routes.enis = append(routes.enis, Interface{ID: eniA2, InstanceID: nodeA.InstanceID, AZ: nodeA.AZ})
	w := newWorld(t, self, routes)
	w.adapters.vip.ifaces["eth1"] = true
	w.adapters.vip.macs = map[string]string{"eth0": macA1, "eth1": macA2}
	return w
}

// The route targets the ENI of the NIC the VIP is on, as aws-vpc-move-ip
// does; lo keeps the primary ENI; lookup_type=InstanceId on an instance
// with several ENIs targets that ENI and says why.
func TestENIOfTheInterface(t *testing.T) {
	for _, c := range []struct {
		iface, lookup, want string
	}{
		{"eth1", "NetworkInterfaceId", eniA2},
		{"eth0", "NetworkInterfaceId", nodeA.PrimaryENI},
		{"lo", "NetworkInterfaceId", nodeA.PrimaryENI},
		{"eth1", "InstanceId", eniA2},
		{"lo", "InstanceId", nodeA.PrimaryENI},
	} {
		t.Run(c.iface+"/"+c.lookup, func(t *testing.T) {
			routes := newFakeRoutes(table(rtb1, &nodeB))
			w := twoENIWorld(t, routes)
			w.params["interface"], w.params["lookup_type"] = c.iface, c.lookup
			requireCode(t, ocf.Success, w.run("validate-all", nil))
			r := w.run("start", nil)
			requireCode(t, ocf.Success, r)
			writes := routes.realWrites()
			require.Len(t, writes, 1)
			assert.Equal(t, Target{ENI: c.want}, writes[0].Target)
			assert.True(t, w.adapters.vip.addrs[Address{Prefix: vipDst, Interface: c.iface}], "VIP on %s", c.iface)
			if c.lookup == "InstanceId" {
				assert.Contains(t, r.stderr, "lookup_type=InstanceId: this instance has 2 network interfaces")
			}
			requireCode(t, ocf.Success, w.run("monitor", map[string]string{"OCF_RESKEY_CRM_meta_interval": "10000"}))
		})
	}
	t.Run("a NIC that is no ENI of this instance", func(t *testing.T) {
		w := twoENIWorld(t, newFakeRoutes(table(rtb1, &nodeB)))
		w.adapters.vip.ifaces["br0"] = true
		w.adapters.vip.macs["br0"] = "02:42:00:00:00:01"
		w.params["interface"] = "br0"
		r := w.run("validate-all", nil)
		requireCode(t, ocf.ErrConfigured, r)
		assert.Contains(t, r.reason, "br0")
	})
	t.Run("source/dest check of the second ENI", func(t *testing.T) {
		routes := newFakeRoutes(table(rtb1, &nodeB))
		w := twoENIWorld(t, routes)
		w.params["interface"] = "eth1"
		routes.srcDest[eniA2] = true
		r := w.run("validate-all", nil)
		requireCode(t, ocf.ErrConfigured, r)
		assert.Contains(t, r.reason, eniA2)
	})
}

// OCF_CHECK_LEVEL=10 also asks EC2 about the ENI the routes target.
func TestDeepMonitor(t *testing.T) {
	deep := map[string]string{"OCF_RESKEY_CRM_meta_interval": "300000", "OCF_RESKEY_OCF_CHECK_LEVEL": "10"}
	plain := map[string]string{"OCF_RESKEY_CRM_meta_interval": "60000"}
	setup := func(t *testing.T) (*world, *fakeRoutes) {
		routes := newFakeRoutes(table(rtb1, &nodeA))
		w := newWorld(t, nodeA, routes)
		w.putVIP()
		return w, routes
	}
	t.Run("healthy", func(t *testing.T) {
		w, routes := setup(t)
		requireCode(t, ocf.Success, w.run("monitor", plain))
		assert.Zero(t, routes.ifaceCalls, "level 0 asks nothing about ENIs")
		requireCode(t, ocf.Success, w.run("monitor", deep))
		assert.Equal(t, 1, routes.ifaceCalls)
	})
	t.Run("source/dest check turned back on", func(t *testing.T) {
		w, routes := setup(t)
		routes.srcDest[nodeA.PrimaryENI] = true
		requireCode(t, ocf.Success, w.run("monitor", plain))
		r := w.run("monitor", deep)
		requireCode(t, ocf.ErrGeneric, r)
		assert.Contains(t, r.reason, "source/dest check is on for "+nodeA.PrimaryENI)
		r = w.run("monitor", map[string]string{"OCF_RESKEY_CRM_meta_interval": "300000", "OCF_CHECK_LEVEL": "20"})
		requireCode(t, ocf.ErrGeneric, r)
	})
	t.Run("ENI attached elsewhere", func(t *testing.T) {
		w, routes := setup(t)
		eni := "eni-0aaaaaaaaaaaaaaa9"
		routes.tables[rtb1].Routes[2] = Route{Destination: vipDst, ENI: eni, InstanceID: nodeA.InstanceID}
		routes.enis = []Interface{{ID: eni, InstanceID: nodeB.InstanceID}}
		self := nodeA
		self.ENIs = []string{nodeA.PrimaryENI, eni}
		w.adapters.id.self = self
		r := w.run("monitor", deep)
		requireCode(t, ocf.ErrGeneric, r)
		assert.Contains(t, r.reason, "attached to "+nodeB.InstanceID)
	})
	t.Run("not permitted: says so and passes", func(t *testing.T) {
		w, routes := setup(t)
		guidesPolicy(routes)
		routes.srcDest[nodeA.PrimaryENI] = true
		r := w.run("monitor", deep)
		requireCode(t, ocf.Success, r)
		assert.Len(t, warnings(r.stderr, "ec2:DescribeNetworkInterfaces is not permitted"), 1, r.stderr)
	})
}

// A VIP on a real NIC is removed by cloud-netconfig (SLES) or
// nm-cloud-setup (RHEL) unless they are told to leave it: validate-all and
// status warn, from the tools' configuration files.
func TestNetconfigWarnings(t *testing.T) {
	link := &fstest.MapFile{Data: []byte("[Unit]\n")}
	devnull := &fstest.MapFile{Mode: fs.ModeDevice | fs.ModeCharDevice}
	ec2 := &fstest.MapFile{Data: []byte("[Service]\nEnvironment=NM_CLOUD_SETUP_EC2=yes\n")}
	cases := []struct {
		name  string
		iface string
		files fstest.MapFS
		want  string // "" no warning
	}{
		{"SLES, managed", "eth0", fstest.MapFS{"etc/sysconfig/network/ifcfg-eth0": {Data: []byte("BOOTPROTO='dhcp'\nCLOUD_NETCONFIG_MANAGE='yes'\n")}}, "cloud-netconfig manages eth0"},
		{"SLES, managed, double quotes", "eth0", fstest.MapFS{"etc/sysconfig/network/ifcfg-eth0": {Data: []byte("CLOUD_NETCONFIG_MANAGE=\"yes\"\n")}}, "cloud-netconfig"},
		{"SLES, as the guide says", "eth0", fstest.MapFS{"etc/sysconfig/network/ifcfg-eth0": {Data: []byte("CLOUD_NETCONFIG_MANAGE='yes'\nCLOUD_NETCONFIG_MANAGE='no'\n")}}, ""},
		{"SLES, another NIC managed", "eth0", fstest.MapFS{"etc/sysconfig/network/ifcfg-eth1": {Data: []byte("CLOUD_NETCONFIG_MANAGE='yes'\n")}}, ""},
		{"SLES, VIP on lo", "lo", fstest.MapFS{"etc/sysconfig/network/ifcfg-lo": {Data: []byte("CLOUD_NETCONFIG_MANAGE='yes'\n")}}, ""},
		{"RHEL, timer enabled for EC2", "eth0", fstest.MapFS{
			"etc/systemd/system/timers.target.wants/nm-cloud-setup.timer":               link,
			"usr/lib/systemd/system/nm-cloud-setup.service.d/10-rh-enable-for-ec2.conf": ec2,
		}, "nm-cloud-setup is enabled for EC2 (nm-cloud-setup.timer)"},
		{"RHEL, service enabled for EC2", "eth0", fstest.MapFS{
			"etc/systemd/system/NetworkManager.service.wants/nm-cloud-setup.service": link,
			"etc/systemd/system/nm-cloud-setup.service.d/override.conf":              ec2,
		}, "nm-cloud-setup"},
		{"RHEL, disabled as the guide says", "eth0", fstest.MapFS{
			"usr/lib/systemd/system/nm-cloud-setup.service.d/10-rh-enable-for-ec2.conf": ec2,
		}, ""},
		{"RHEL, masked", "eth0", fstest.MapFS{
			"etc/systemd/system/timers.target.wants/nm-cloud-setup.timer":               link,
			"etc/systemd/system/nm-cloud-setup.service":                                 devnull,
			"usr/lib/systemd/system/nm-cloud-setup.service.d/10-rh-enable-for-ec2.conf": ec2,
		}, ""},
		{"RHEL, EC2 turned off by an override", "eth0", fstest.MapFS{
			"etc/systemd/system/timers.target.wants/nm-cloud-setup.timer":               link,
			"usr/lib/systemd/system/nm-cloud-setup.service.d/10-rh-enable-for-ec2.conf": ec2,
			"etc/systemd/system/nm-cloud-setup.service.d/20-off.conf":                   {Data: []byte("[Service]\nEnvironment=NM_CLOUD_SETUP_EC2=no\n")},
		}, ""},
		{"RHEL, VIP on lo", "lo", fstest.MapFS{
			"etc/systemd/system/timers.target.wants/nm-cloud-setup.timer":               link,
			"usr/lib/systemd/system/nm-cloud-setup.service.d/10-rh-enable-for-ec2.conf": ec2,
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			routes := newFakeRoutes(table(rtb1, &nodeA))
			w := newWorld(t, nodeA, routes)
			w.adapters.host = c.files
			w.adapters.vip.macs = map[string]string{"eth0": macA1}
			self := nodeA
			self.MACs = map[string]string{macA1: nodeA.PrimaryENI}
			w.adapters.id.self = self
			w.params["interface"] = c.iface
			r := w.run("validate-all", nil)
			requireCode(t, ocf.Success, r)
			w.adapters.vip.addrs[Address{Prefix: vipDst, Interface: c.iface}] = true
			_, out := runStatus(t, w, "--json")
			var st Status
			require.NoError(t, json.Unmarshal([]byte(out), &st), out)
			if c.want == "" {
				assert.Empty(t, warnings(r.stderr, "will remove the VIP"), r.stderr)
				assert.NotContains(t, strings.Join(st.Warnings, "\n"), "will remove the VIP")
				return
			}
			assert.Len(t, warnings(r.stderr, c.want), 1, r.stderr)
			assert.Contains(t, strings.Join(st.Warnings, "\n"), c.want)
		})
	}
}
