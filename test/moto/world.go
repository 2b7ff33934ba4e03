package moto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/suzlab/routeha/test/ec2emu"
	"github.com/suzlab/routeha/test/lab"
)

// Instance is one instance of the fixture, as its backend created it.
type Instance struct {
	ID, ENI, MAC, IP, AZ, Subnet string
}

// Fixture is the two-node world in one backend: a VPC, two subnets in two
// AZs, instances a and b (one ENI each, Source/Dest check off) and two route
// tables (one per subnet) without a route for any test VIP.
type Fixture struct {
	Region string
	VPC    string
	A, B   Instance
	Tables []string
}

// Instance returns instance "a" or "b".
func (f Fixture) Instance(name string) Instance {
	if name == "b" {
		return f.B
	}
	return f.A
}

// MotoAMI is the image id moto documents as its example AMI.
const MotoAMI = "ami-12c6146b"

// SetupMoto creates the fixture in moto through the EC2 API, the way a user
// would in AWS: CreateVpc, CreateSubnet x2, RunInstances x2, CreateRouteTable
// x2 (associated with the subnets) and the Source/Dest check turned off with
// both ModifyInstanceAttribute and ModifyNetworkInterfaceAttribute, since
// moto keeps the instance's and the ENI's attribute apart.
func SetupMoto(ctx context.Context, c *ec2.Client, region string) (Fixture, error) {
	f := Fixture{Region: region}
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		return f, fmt.Errorf("CreateVpc: %w", err)
	}
	f.VPC = aws.ToString(vpc.Vpc.VpcId)
	insts := []*Instance{&f.A, &f.B}
	for i, in := range insts {
		az := fmt.Sprintf("%s%c", region, 'a'+i)
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(f.VPC), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(az),
		})
		if err != nil {
			return f, fmt.Errorf("CreateSubnet: %w", err)
		}
		in.Subnet, in.AZ = aws.ToString(sn.Subnet.SubnetId), az
		run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: aws.String(MotoAMI), InstanceType: types.InstanceTypeT3Micro,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(in.Subnet),
		})
		if err != nil {
			return f, fmt.Errorf("RunInstances: %w", err)
		}
		in.ID = aws.ToString(run.Instances[0].InstanceId)
		desc, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{in.ID}})
		if err != nil {
			return f, fmt.Errorf("DescribeInstances: %w", err)
		}
		inst := desc.Reservations[0].Instances[0]
		if len(inst.NetworkInterfaces) == 0 {
			return f, fmt.Errorf("moto created %s without a network interface", in.ID)
		}
		ni := inst.NetworkInterfaces[0]
		in.ENI, in.MAC, in.IP = aws.ToString(ni.NetworkInterfaceId), aws.ToString(ni.MacAddress), aws.ToString(ni.PrivateIpAddress)
		if in.ENI == "" || in.MAC == "" {
			return f, fmt.Errorf("moto's %s has an ENI without id or MAC: %+v", in.ID, ni)
		}
		if _, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
			InstanceId: aws.String(in.ID), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)},
		}); err != nil {
			return f, fmt.Errorf("ModifyInstanceAttribute: %w", err)
		}
		if _, err := c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
			NetworkInterfaceId: aws.String(in.ENI), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)},
		}); err != nil {
			return f, fmt.Errorf("ModifyNetworkInterfaceAttribute: %w", err)
		}
		rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(f.VPC)})
		if err != nil {
			return f, fmt.Errorf("CreateRouteTable: %w", err)
		}
		id := aws.ToString(rt.RouteTable.RouteTableId)
		if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(id), SubnetId: aws.String(in.Subnet)}); err != nil {
			return f, fmt.Errorf("AssociateRouteTable: %w", err)
		}
		f.Tables = append(f.Tables, id)
	}
	return f, nil
}

// EmulatorFixture is the same world in our emulator's standard fixture,
// with the Source/Dest check turned off through the API.
func EmulatorFixture(ctx context.Context, c *ec2.Client) (Fixture, error) {
	f := Fixture{
		Region: ec2emu.DefaultRegion, VPC: ec2emu.FixtureVPC,
		A:      Instance{ec2emu.FixtureInstanceA, ec2emu.FixtureENIA, ec2emu.FixtureMACA, ec2emu.FixtureIPA, ec2emu.FixtureAZA, ec2emu.FixtureSubnetA},
		B:      Instance{ec2emu.FixtureInstanceB, ec2emu.FixtureENIB, ec2emu.FixtureMACB, ec2emu.FixtureIPB, ec2emu.FixtureAZB, ec2emu.FixtureSubnetB},
		Tables: []string{ec2emu.FixtureRouteTable1, ec2emu.FixtureRouteTable2},
	}
	for _, in := range []Instance{f.A, f.B} {
		if _, err := c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
			NetworkInterfaceId: aws.String(in.ENI), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)},
		}); err != nil {
			return f, fmt.Errorf("ModifyNetworkInterfaceAttribute: %w", err)
		}
	}
	return f, nil
}

// World is a backend, its fixture and two nodes "a" and "b" (a lab.World),
// each in its own network namespace with its own IMDS and its own recorded
// path to the backend.
type World struct {
	*lab.World
	Backend string      // "moto" or "ec2emu"
	EC2     *ec2.Client // the test's own client (not recorded)
	Fix     Fixture     // what the backend holds
	Rec     map[string]*Recorder
}

// NewWorld builds nodes a and b in front of backend (an http.Handler that
// answers the EC2 Query API), their directories under dir; client is the
// test's own view of the backend. Close tears it down.
func NewWorld(name string, backend http.Handler, client *ec2.Client, fix Fixture, dir string) (*World, error) {
	w := &World{Backend: name, EC2: client, Fix: fix, Rec: map[string]*Recorder{}}
	var nodes []lab.NodeSpec
	for _, nm := range []string{"a", "b"} {
		in := fix.Instance(nm)
		nodes = append(nodes, lab.NodeSpec{Name: nm, InstanceID: in.ID, ENI: in.ENI, MAC: in.MAC, IP: in.IP, AZ: in.AZ,
			Subnet: in.Subnet, VPC: fix.VPC, Region: fix.Region})
	}
	lw, err := lab.NewWorld(lab.Options{Backend: backend, Nodes: nodes, Dir: dir,
		Front: func(node string, next http.Handler) http.Handler {
			w.Rec[node] = &Recorder{Next: next}
			return w.Rec[node]
		}})
	if err != nil {
		return nil, err
	}
	w.World = lw
	return w, nil
}

// ErrorCode is the EC2 error code of err: "" for nil, the API's code, or a
// description of an answer that is not an EC2 error document.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return fmt.Sprintf("non-EC2 answer (HTTP %d)", re.HTTPStatusCode())
	}
	return "transport error: " + err.Error()
}

func target(id string) (inst, eni *string) {
	if strings.HasPrefix(id, "eni-") {
		return nil, aws.String(id)
	}
	return aws.String(id), nil
}

// SetRoute points dest in table at id (an instance or ENI id) behind the
// nodes' backs, creating the route if needed; an empty id deletes it.
func (w *World) SetRoute(ctx context.Context, table, dest, id string) error {
	if id == "" {
		_, err := w.EC2.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(dest)})
		if ErrorCode(err) == "InvalidRoute.NotFound" {
			return nil
		}
		return err
	}
	inst, eni := target(id)
	if cur, ok, err := w.Route(ctx, table, dest); err != nil {
		return err
	} else if ok && (cur.InstanceID != "" || cur.ENI != "") {
		_, err := w.EC2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(dest),
			InstanceId: inst, NetworkInterfaceId: eni})
		return err
	}
	_, err := w.EC2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(dest),
		InstanceId: inst, NetworkInterfaceId: eni})
	return err
}

// RouteView is a route as the backend describes it.
type RouteView struct {
	InstanceID, ENI, Gateway, State, Origin string
}

// Route returns the route for dest in table.
func (w *World) Route(ctx context.Context, table, dest string) (RouteView, bool, error) {
	out, err := w.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{table}})
	if err != nil {
		return RouteView{}, false, err
	}
	for _, t := range out.RouteTables {
		for _, r := range t.Routes {
			if aws.ToString(r.DestinationCidrBlock) == dest {
				return view(r), true, nil
			}
		}
	}
	return RouteView{}, false, nil
}

func view(r types.Route) RouteView {
	return RouteView{InstanceID: aws.ToString(r.InstanceId), ENI: aws.ToString(r.NetworkInterfaceId),
		Gateway: aws.ToString(r.GatewayId), State: string(r.State), Origin: string(r.Origin)}
}

// State is everything of the backend a routeha action may change: every
// route of every table of the VPC, and the Source/Dest check of the
// instances and ENIs. Two States compare equal with ==-like deep equality.
type State struct {
	Routes          []string
	SourceDestCheck []string
}

// Snapshot reads the State.
func (w *World) Snapshot(ctx context.Context) (State, error) {
	var st State
	out, err := w.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
		Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{w.Fix.VPC}}},
	})
	if err != nil {
		return st, err
	}
	for _, t := range out.RouteTables {
		for _, r := range t.Routes {
			dst := aws.ToString(r.DestinationCidrBlock) + aws.ToString(r.DestinationIpv6CidrBlock)
			st.Routes = append(st.Routes, fmt.Sprintf("%s %s -> %+v", aws.ToString(t.RouteTableId), dst, view(r)))
		}
	}
	sort.Strings(st.Routes)
	nis, err := w.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{w.Fix.A.ENI, w.Fix.B.ENI}})
	if err != nil {
		return st, err
	}
	for _, n := range nis.NetworkInterfaces {
		st.SourceDestCheck = append(st.SourceDestCheck, fmt.Sprintf("%s=%v", aws.ToString(n.NetworkInterfaceId), aws.ToBool(n.SourceDestCheck)))
	}
	for _, id := range []string{w.Fix.A.ID, w.Fix.B.ID} {
		a, err := w.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameSourceDestCheck})
		if err != nil {
			return st, err
		}
		v := "unset"
		if a.SourceDestCheck != nil {
			v = fmt.Sprint(aws.ToBool(a.SourceDestCheck.Value))
		}
		st.SourceDestCheck = append(st.SourceDestCheck, id+"="+v)
	}
	sort.Strings(st.SourceDestCheck)
	return st, nil
}
