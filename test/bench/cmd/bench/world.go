package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/suzlab/routeha/internal/platform"
	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/imdsfake"
)

const (
	vip      = "192.0.2.10"
	imdsAddr = "169.254.169.254"
	accessID = "AKIAROUTEHABENCH0001"
	secret   = "routeha-bench-secret"
)

// world is the benchmark's namespace: the emulator, the IMDS fake and the
// files the agents need.
type world struct {
	emu     *ec2emu.Emulator
	imds    *imdsfake.Server
	ec2URL  string
	dir     string // temporary directory, removed at the end
	home    string // HOME of both agents: ~/.aws/{config,credentials}
	wrapper string // the awscli wrapper given to aws-vpc-move-ip
	servers []*http.Server
}

// setupNamespace prepares the fresh network namespace this process runs in.
func setupNamespace() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" {
		return fmt.Errorf("not in a fresh network namespace (interfaces %v): refusing to touch it", ifs)
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	if err := netlink.AddrAdd(lo, mustAddr(imdsAddr+"/32")); err != nil {
		return fmt.Errorf("add %s to lo: %w", imdsAddr, err)
	}
	mac, _ := net.ParseMAC(ec2emu.FixtureMACA)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0", HardwareAddr: mac}, PeerName: "eth0-peer"}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth eth0: %w", err)
	}
	for _, name := range []string{"eth0", "eth0-peer"} {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return fmt.Errorf("%s up: %w", name, err)
		}
	}
	eth0, err := netlink.LinkByName("eth0")
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(eth0, mustAddr(ec2emu.FixtureIPA+"/24")); err != nil {
		return fmt.Errorf("add %s to eth0: %w", ec2emu.FixtureIPA, err)
	}
	// /sys of this namespace (this mount namespace is private: the Go runtime
	// made / rprivate when it unshared it).
	if err := syscall.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		return fmt.Errorf("mount sysfs: %w", err)
	}
	// On a Nitro host the DMI asset tag names the host's own instance, which
	// routeha would compare with the IMDS fake's: an empty file over it,
	// in this mount namespace only.
	if _, err := os.Stat(platform.AssetTagPath); err == nil {
		if err := syscall.Mount("/dev/null", platform.AssetTagPath, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("hide the DMI asset tag: %w", err)
		}
	}
	b, err := os.ReadFile("/sys/class/net/eth0/address")
	if err != nil || strings.TrimSpace(string(b)) != ec2emu.FixtureMACA {
		return fmt.Errorf("/sys/class/net/eth0/address: %q %v", b, err)
	}
	return nil
}

func mustAddr(s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

func newWorld(c config) (*world, error) {
	w := &world{}
	var err error
	if w.dir, err = os.MkdirTemp("", "routeha-bench-"); err != nil {
		return nil, err
	}
	w.emu = ec2emu.New(benchState(1))
	w.imds = imdsfake.New(imdsfake.Config{
		InstanceID: ec2emu.FixtureInstanceA, Region: ec2emu.DefaultRegion, AZ: ec2emu.FixtureAZA, AccountID: ec2emu.DefaultAccount,
		Interfaces: []imdsfake.Interface{{MAC: ec2emu.FixtureMACA, ENI: ec2emu.FixtureENIA, DeviceIndex: 0, VPC: ec2emu.FixtureVPC, Subnet: ec2emu.FixtureSubnetA, IP: ec2emu.FixtureIPA}},
	})
	if w.ec2URL, err = w.serve("127.0.0.1:0", w.emu); err != nil {
		return nil, err
	}
	if _, err = w.serve(imdsAddr+":80", w.imds); err != nil {
		return nil, err
	}
	w.home = filepath.Join(w.dir, "home")
	files := map[string]string{
		filepath.Join(w.home, ".aws", "config"):      "[default]\nregion = " + ec2emu.DefaultRegion + "\noutput = text\n",
		filepath.Join(w.home, ".aws", "credentials"): "[default]\naws_access_key_id = " + accessID + "\naws_secret_access_key = " + secret + "\n",
	}
	for p, s := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			return nil, err
		}
	}
	// The awscli parameter of aws-vpc-move-ip: the real CLI, pointed at the
	// emulator. The CLI itself is kept off the IMDS (the agent's own curl
	// requests are what we count), and from a pager.
	w.wrapper = filepath.Join(w.dir, "aws-emu")
	script := fmt.Sprintf("#!/bin/sh\nAWS_EC2_METADATA_DISABLED=true AWS_PAGER= exec %s --endpoint-url %s \"$@\"\n", c.awsCLI, w.ec2URL)
	if err := os.WriteFile(w.wrapper, []byte(script), 0o755); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *world) serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("server %s: %v", addr, err)
		}
	}()
	w.servers = append(w.servers, srv)
	return "http://" + ln.Addr().String(), nil
}

func (w *world) close() {
	for _, s := range w.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Shutdown(ctx)
		cancel()
	}
	_ = os.RemoveAll(w.dir)
}

// tableIDs returns n route table ids (rtb- and 17 hex digits).
func tableIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("rtb-0be0c%012x", i+1)
	}
	return ids
}

// benchState is the standard fixture with n route tables in the VPC, each
// routing the VIP to node B (so that every start moves every route), and the
// Source/Dest. check off on both instances, as the pattern requires.
func benchState(n int) *ec2emu.State {
	st := ec2emu.StandardFixture()
	for i := range st.Instances {
		st.Instances[i].SourceDestCheck = false
	}
	for i := range st.ENIs {
		st.ENIs[i].SourceDestCheck = false
	}
	var tables []ec2emu.RouteTable
	for _, rt := range st.RouteTables {
		if rt.Main {
			tables = append(tables, rt)
		}
	}
	for i, id := range tableIDs(n) {
		subnet := ec2emu.FixtureSubnetA
		if i%2 == 1 {
			subnet = ec2emu.FixtureSubnetB
		}
		var subnets []string
		if i < 2 {
			subnets = []string{subnet}
		}
		tables = append(tables, ec2emu.RouteTable{
			ID: id, VPC: ec2emu.FixtureVPC, Subnets: subnets,
			Routes: []ec2emu.Route{
				{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", Origin: "CreateRouteTable"},
				{DestinationCIDR: "0.0.0.0/0", GatewayID: ec2emu.FixtureIGW, Origin: "CreateRoute"},
				{DestinationCIDR: vip + "/32", InstanceID: ec2emu.FixtureInstanceB, NetworkInterfaceID: ec2emu.FixtureENIB, Origin: "CreateRoute"},
			},
		})
	}
	st.RouteTables = tables
	return st
}

// vipPresent tells whether the VIP is on eth0.
func vipPresent() (bool, error) {
	l, err := netlink.LinkByName("eth0")
	if err != nil {
		return false, err
	}
	as, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return false, err
	}
	for _, a := range as {
		if a.IP.String() == vip {
			return true, nil
		}
	}
	return false, nil
}

// removeVIP takes the VIP off eth0 if an agent left it there.
func removeVIP() error {
	ok, err := vipPresent()
	if err != nil || !ok {
		return err
	}
	l, err := netlink.LinkByName("eth0")
	if err != nil {
		return err
	}
	return netlink.AddrDel(l, mustAddr(vip+"/32"))
}
