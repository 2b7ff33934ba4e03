// Package ec2emu is an in-process emulator of the parts of the Amazon EC2 Query
// API (and an STS AssumeRole stand-in) that routeha uses. It speaks the wire
// protocol aws-sdk-go-v2 expects, keeps its state in a plain Go struct, and
// offers fault injection, a request log and an admin JSON API for tests.
package ec2emu

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"sort"
)

// DefaultRegion is the region of the standard fixture.
const DefaultRegion = "eu-west-1"

// DefaultAccount is the account id of the standard fixture.
const DefaultAccount = "123456789012"

// IDs of the standard two-node fixture.
const (
	FixtureVPC         = "vpc-0a1b2c3d4e5f60718"
	FixtureSubnetA     = "subnet-0aaaaaaaaaaaaaaa1"
	FixtureSubnetB     = "subnet-0bbbbbbbbbbbbbbb2"
	FixtureInstanceA   = "i-0aaaaaaaaaaaaaaa1"
	FixtureInstanceB   = "i-0bbbbbbbbbbbbbbb2"
	FixtureENIA        = "eni-0aaaaaaaaaaaaaaa1"
	FixtureENIB        = "eni-0bbbbbbbbbbbbbbb2"
	FixtureMACA        = "02:00:00:00:00:a1"
	FixtureMACB        = "02:00:00:00:00:b2"
	FixtureIPA         = "10.0.1.10"
	FixtureIPB         = "10.0.2.10"
	FixtureAZA         = "eu-west-1a"
	FixtureAZB         = "eu-west-1b"
	FixtureRouteTable1 = "rtb-0aaaaaaaaaaaaaaa1"
	FixtureRouteTable2 = "rtb-0bbbbbbbbbbbbbbb2"
	FixtureMainTable   = "rtb-0ccccccccccccccc3"
	FixtureIGW         = "igw-0ddddddddddddddd4"
)

// State is the whole emulated world. It is plain data with JSON tags, so that it
// can be loaded from a file and exchanged through the admin API.
type State struct {
	Region      string       `json:"region"`
	AccountID   string       `json:"accountId"`
	VPCs        []VPC        `json:"vpcs"`
	Subnets     []Subnet     `json:"subnets"`
	Instances   []Instance   `json:"instances"`
	ENIs        []ENI        `json:"networkInterfaces"`
	RouteTables []RouteTable `json:"routeTables"`
}

// VPC is a virtual private cloud with its IPv4 and IPv6 CIDR blocks.
type VPC struct {
	ID        string   `json:"id"`
	CIDRs     []string `json:"cidrs"`
	IPv6CIDRs []string `json:"ipv6Cidrs,omitempty"`
}

// Subnet is a subnet in one availability zone.
type Subnet struct {
	ID   string `json:"id"`
	VPC  string `json:"vpc"`
	AZ   string `json:"az"`
	CIDR string `json:"cidr"`
}

// Instance is an EC2 instance. State is "running" when empty.
type Instance struct {
	ID              string `json:"id"`
	VPC             string `json:"vpc"`
	Subnet          string `json:"subnet"`
	AZ              string `json:"az"`
	State           string `json:"state,omitempty"`
	SourceDestCheck bool   `json:"sourceDestCheck"`
}

// ENI is an elastic network interface, attached to Instance at DeviceIndex
// (Instance empty: detached).
type ENI struct {
	ID              string `json:"id"`
	Instance        string `json:"instance,omitempty"`
	DeviceIndex     int    `json:"deviceIndex"`
	MAC             string `json:"mac"`
	PrivateIP       string `json:"privateIp"`
	Subnet          string `json:"subnet"`
	SourceDestCheck bool   `json:"sourceDestCheck"`
}

// RouteTable is a VPC route table with its subnet associations and routes.
type RouteTable struct {
	ID      string   `json:"id"`
	VPC     string   `json:"vpc"`
	Main    bool     `json:"main,omitempty"`
	Subnets []string `json:"subnets,omitempty"`
	Routes  []Route  `json:"routes"`
}

// Route is one route. Exactly one of DestinationCIDR and DestinationIPv6CIDR
// is set. A route to an ENI carries the instance it is attached to and a route
// to an instance carries its primary ENI, as AWS reports them.
type Route struct {
	DestinationCIDR     string `json:"destinationCidrBlock,omitempty"`
	DestinationIPv6CIDR string `json:"destinationIpv6CidrBlock,omitempty"`
	GatewayID           string `json:"gatewayId,omitempty"`
	InstanceID          string `json:"instanceId,omitempty"`
	NetworkInterfaceID  string `json:"networkInterfaceId,omitempty"`
	Origin              string `json:"origin,omitempty"`
}

// Destination returns the route's destination, IPv4 or IPv6.
func (r Route) Destination() string {
	if r.DestinationCIDR != "" {
		return r.DestinationCIDR
	}
	return r.DestinationIPv6CIDR
}

// Target returns a short description of the route target.
func (r Route) Target() string {
	switch {
	case r.GatewayID != "":
		return r.GatewayID
	case r.NetworkInterfaceID != "" && r.InstanceID != "":
		return r.NetworkInterfaceID + "/" + r.InstanceID
	case r.NetworkInterfaceID != "":
		return r.NetworkInterfaceID
	default:
		return r.InstanceID
	}
}

// ENIOrInstance returns the ENI the route points at or, when it names no
// ENI, its instance ("" for a gateway route).
func (r Route) ENIOrInstance() string {
	if r.NetworkInterfaceID != "" {
		return r.NetworkInterfaceID
	}
	return r.InstanceID
}

// StandardFixture returns the two-node world: VPC 10.0.0.0/16 (and an IPv6
// block), subnets 10.0.1.0/24 (AZ a) and 10.0.2.0/24 (AZ b), instances
// FixtureInstanceA/B with one ENI each (source/dest check enabled), two route
// tables associated with the subnets holding 0.0.0.0/0 -> igw, an unrelated
// 172.16.0.0/12 -> ENI A route and the local routes, and a main table.
func StandardFixture() *State {
	vpcV6 := "2001:db8:1234:1a00::/56"
	local := func() []Route {
		return []Route{
			{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", Origin: "CreateRouteTable"},
			{DestinationIPv6CIDR: vpcV6, GatewayID: "local", Origin: "CreateRouteTable"},
		}
	}
	rt := func(id, subnet string) RouteTable {
		r := RouteTable{ID: id, VPC: FixtureVPC, Routes: local()}
		if subnet != "" {
			r.Subnets = []string{subnet}
		}
		r.Routes = append(r.Routes, Route{DestinationCIDR: "0.0.0.0/0", GatewayID: FixtureIGW, Origin: "CreateRoute"})
		return r
	}
	t1 := rt(FixtureRouteTable1, FixtureSubnetA)
	t1.Routes = append(t1.Routes, Route{DestinationCIDR: "172.16.0.0/12", NetworkInterfaceID: FixtureENIA, InstanceID: FixtureInstanceA, Origin: "CreateRoute"})
	t2 := rt(FixtureRouteTable2, FixtureSubnetB)
	t2.Routes = append(t2.Routes, Route{DestinationIPv6CIDR: "::/0", GatewayID: FixtureIGW, Origin: "CreateRoute"})
	main := RouteTable{ID: FixtureMainTable, VPC: FixtureVPC, Main: true, Routes: local()}
	return &State{
		Region:    DefaultRegion,
		AccountID: DefaultAccount,
		VPCs:      []VPC{{ID: FixtureVPC, CIDRs: []string{"10.0.0.0/16"}, IPv6CIDRs: []string{vpcV6}}},
		Subnets: []Subnet{
			{ID: FixtureSubnetA, VPC: FixtureVPC, AZ: FixtureAZA, CIDR: "10.0.1.0/24"},
			{ID: FixtureSubnetB, VPC: FixtureVPC, AZ: FixtureAZB, CIDR: "10.0.2.0/24"},
		},
		Instances: []Instance{
			{ID: FixtureInstanceA, VPC: FixtureVPC, Subnet: FixtureSubnetA, AZ: FixtureAZA, State: "running", SourceDestCheck: true},
			{ID: FixtureInstanceB, VPC: FixtureVPC, Subnet: FixtureSubnetB, AZ: FixtureAZB, State: "running", SourceDestCheck: true},
		},
		ENIs: []ENI{
			{ID: FixtureENIA, Instance: FixtureInstanceA, DeviceIndex: 0, MAC: FixtureMACA, PrivateIP: FixtureIPA, Subnet: FixtureSubnetA, SourceDestCheck: true},
			{ID: FixtureENIB, Instance: FixtureInstanceB, DeviceIndex: 0, MAC: FixtureMACB, PrivateIP: FixtureIPB, Subnet: FixtureSubnetB, SourceDestCheck: true},
		},
		RouteTables: []RouteTable{t1, t2, main},
	}
}

// LoadState reads a State from a JSON file and normalises it.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if err := s.normalize(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// normalize fills defaults and adds missing local routes.
func (s *State) normalize() error {
	if s.Region == "" {
		s.Region = DefaultRegion
	}
	if s.AccountID == "" {
		s.AccountID = DefaultAccount
	}
	for i := range s.Instances {
		if s.Instances[i].State == "" {
			s.Instances[i].State = "running"
		}
	}
	for i := range s.RouteTables {
		rt := &s.RouteTables[i]
		vpc := s.vpc(rt.VPC)
		if vpc == nil {
			return fmt.Errorf("route table %s: unknown vpc %q", rt.ID, rt.VPC)
		}
		for _, c := range append(append([]string{}, vpc.CIDRs...), vpc.IPv6CIDRs...) {
			if _, err := netip.ParsePrefix(c); err != nil {
				return fmt.Errorf("vpc %s: bad cidr %q", vpc.ID, c)
			}
			if rt.find(c) < 0 {
				r := Route{GatewayID: "local", Origin: "CreateRouteTable"}
				if isV6(c) {
					r.DestinationIPv6CIDR = c
				} else {
					r.DestinationCIDR = c
				}
				rt.Routes = append([]Route{r}, rt.Routes...)
			}
		}
	}
	return nil
}

func isV6(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Addr().Is6()
}

// Snapshot returns a deep copy of the state.
func (s *State) Snapshot() *State {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // plain data: cannot happen
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}

func (s *State) vpc(id string) *VPC {
	for i := range s.VPCs {
		if s.VPCs[i].ID == id {
			return &s.VPCs[i]
		}
	}
	return nil
}

func (s *State) subnet(id string) *Subnet {
	for i := range s.Subnets {
		if s.Subnets[i].ID == id {
			return &s.Subnets[i]
		}
	}
	return nil
}

func (s *State) instance(id string) *Instance {
	for i := range s.Instances {
		if s.Instances[i].ID == id {
			return &s.Instances[i]
		}
	}
	return nil
}

func (s *State) eni(id string) *ENI {
	for i := range s.ENIs {
		if s.ENIs[i].ID == id {
			return &s.ENIs[i]
		}
	}
	return nil
}

// RouteTable returns the table with the id, or nil.
func (s *State) RouteTable(id string) *RouteTable {
	for i := range s.RouteTables {
		if s.RouteTables[i].ID == id {
			return &s.RouteTables[i]
		}
	}
	return nil
}

// Route returns the route for the destination in the table, or nil.
func (rt *RouteTable) Route(dest string) *Route {
	if i := rt.find(dest); i >= 0 {
		return &rt.Routes[i]
	}
	return nil
}

func (rt *RouteTable) find(dest string) int {
	want, err := netip.ParsePrefix(dest)
	for i, r := range rt.Routes {
		if r.Destination() == dest {
			return i
		}
		if err == nil {
			if p, err2 := netip.ParsePrefix(r.Destination()); err2 == nil && p.Masked() == want.Masked() {
				return i
			}
		}
	}
	return -1
}

func (s *State) enisOf(instance string) []*ENI {
	var out []*ENI
	for i := range s.ENIs {
		if s.ENIs[i].Instance == instance {
			out = append(out, &s.ENIs[i])
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].DeviceIndex < out[b].DeviceIndex })
	return out
}

// RouteState computes "active" or "blackhole" for a route.
func (s *State) RouteState(r Route) string {
	switch {
	case r.GatewayID != "":
		return "active"
	case r.NetworkInterfaceID != "":
		e := s.eni(r.NetworkInterfaceID)
		if e == nil || e.Instance == "" {
			return "blackhole"
		}
		if in := s.instance(e.Instance); in == nil || in.State != "running" {
			return "blackhole"
		}
		return "active"
	case r.InstanceID != "":
		if in := s.instance(r.InstanceID); in == nil || in.State != "running" {
			return "blackhole"
		}
		return "active"
	}
	return "blackhole"
}

// ChangeKind tells what happened to a route between two snapshots.
type ChangeKind string

// The kinds of route changes.
const (
	Created ChangeKind = "created"
	Changed ChangeKind = "changed"
	Deleted ChangeKind = "deleted"
)

// RouteChange is one route that differs between two snapshots.
type RouteChange struct {
	RouteTableID string     `json:"routeTableId"`
	Destination  string     `json:"destination"`
	Kind         ChangeKind `json:"kind"`
	Before       *Route     `json:"before,omitempty"`
	After        *Route     `json:"after,omitempty"`
}

func (c RouteChange) String() string {
	switch c.Kind {
	case Created:
		return fmt.Sprintf("%s %s created -> %s", c.RouteTableID, c.Destination, c.After.Target())
	case Deleted:
		return fmt.Sprintf("%s %s deleted (was -> %s)", c.RouteTableID, c.Destination, c.Before.Target())
	}
	return fmt.Sprintf("%s %s changed %s -> %s", c.RouteTableID, c.Destination, c.Before.Target(), c.After.Target())
}

// Diff lists every route created, changed or deleted from before to after
// (including routes of tables that appeared or vanished), sorted by table and
// destination.
func Diff(before, after *State) []RouteChange {
	type key struct{ table, dest string }
	index := func(s *State) map[key]Route {
		m := map[key]Route{}
		if s == nil {
			return m
		}
		for _, rt := range s.RouteTables {
			for _, r := range rt.Routes {
				m[key{rt.ID, r.Destination()}] = r
			}
		}
		return m
	}
	a, b := index(before), index(after)
	var out []RouteChange
	for k, ra := range a {
		ra := ra
		rb, ok := b[k]
		switch {
		case !ok:
			out = append(out, RouteChange{RouteTableID: k.table, Destination: k.dest, Kind: Deleted, Before: &ra})
		case ra != rb:
			rb := rb
			out = append(out, RouteChange{RouteTableID: k.table, Destination: k.dest, Kind: Changed, Before: &ra, After: &rb})
		}
	}
	for k, rb := range b {
		rb := rb
		if _, ok := a[k]; !ok {
			out = append(out, RouteChange{RouteTableID: k.table, Destination: k.dest, Kind: Created, After: &rb})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].RouteTableID != out[j].RouteTableID {
			return out[i].RouteTableID < out[j].RouteTableID
		}
		return out[i].Destination < out[j].Destination
	})
	return out
}

// SourceDestCheckOff turns the Source/Dest. check off on every instance and
// ENI, as the Routing-Based HA pattern requires, and returns s.
func (s *State) SourceDestCheckOff() *State {
	for i := range s.Instances {
		s.Instances[i].SourceDestCheck = false
	}
	for i := range s.ENIs {
		s.ENIs[i].SourceDestCheck = false
	}
	return s
}
