package ec2emu_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
)

const vip = "192.0.2.10/32"

type fixture struct {
	emu *ec2emu.Emulator
	srv *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	emu := ec2emu.New(nil)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &fixture{emu: emu, srv: srv}
}

func (f *fixture) client(akid string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:           ec2emu.DefaultRegion,
		BaseEndpoint:     aws.String(f.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(akid, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "not an API error: %v", err)
	return ae.ErrorCode()
}

func routeOf(t *testing.T, c *ec2.Client, table, dest string) *types.Route {
	t.Helper()
	out, err := c.DescribeRouteTables(context.Background(), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{table}})
	require.NoError(t, err)
	require.Len(t, out.RouteTables, 1)
	for _, r := range out.RouteTables[0].Routes {
		if aws.ToString(r.DestinationCidrBlock) == dest || aws.ToString(r.DestinationIpv6CidrBlock) == dest {
			r := r
			return &r
		}
	}
	return nil
}

func TestDescribeRouteTables(t *testing.T) {
	f := newFixture(t)
	c := f.client("AKIATEST")
	ctx := context.Background()

	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	require.NoError(t, err)
	require.Len(t, out.RouteTables, 3)
	rt := out.RouteTables[0]
	assert.Equal(t, ec2emu.FixtureRouteTable1, aws.ToString(rt.RouteTableId))
	assert.Equal(t, ec2emu.FixtureVPC, aws.ToString(rt.VpcId))
	require.Len(t, rt.Associations, 1)
	assert.Equal(t, ec2emu.FixtureSubnetA, aws.ToString(rt.Associations[0].SubnetId))
	var local, igw, eni bool
	for _, r := range rt.Routes {
		switch {
		case aws.ToString(r.DestinationCidrBlock) == "10.0.0.0/16":
			local = aws.ToString(r.GatewayId) == "local" && r.Origin == types.RouteOriginCreateRouteTable && r.State == types.RouteStateActive
		case aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0":
			igw = aws.ToString(r.GatewayId) == ec2emu.FixtureIGW
		case aws.ToString(r.DestinationCidrBlock) == "172.16.0.0/12":
			eni = aws.ToString(r.NetworkInterfaceId) == ec2emu.FixtureENIA && aws.ToString(r.InstanceId) == ec2emu.FixtureInstanceA &&
				aws.ToString(r.InstanceOwnerId) == ec2emu.DefaultAccount
		}
	}
	assert.True(t, local && igw && eni, "routes: %+v", rt.Routes)

	filt := func(name string, v ...string) types.Filter { return types.Filter{Name: aws.String(name), Values: v} }
	for _, tc := range []struct {
		f    types.Filter
		want int
	}{
		{filt("route-table-id", ec2emu.FixtureRouteTable2), 1},
		{filt("vpc-id", ec2emu.FixtureVPC), 3},
		{filt("vpc-id", "vpc-0000000000000000f"), 0},
		{filt("association.subnet-id", ec2emu.FixtureSubnetB), 1},
		{filt("route.destination-cidr-block", "172.16.0.0/12"), 1},
		{filt("route.destination-cidr-block", "0.0.0.0/0"), 2},
		{filt("association.main", "true"), 1},
	} {
		out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{tc.f}})
		require.NoError(t, err)
		assert.Len(t, out.RouteTables, tc.want, "%s=%v", aws.ToString(tc.f.Name), tc.f.Values)
	}

	_, err = c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-0123456789abcdef0"}})
	assert.Equal(t, "InvalidRouteTableID.NotFound", apiCode(t, err))
	_, err = c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-nope"}})
	assert.Equal(t, "InvalidRouteTableId.Malformed", apiCode(t, err))
	_, err = c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{filt("bogus", "x")}})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
}

// TestDescribeFilters holds every Describe action to EC2's filter rules:
// values within a filter are alternatives, filters together must all match,
// * is a wildcard, and an item with no value for a filter never matches it.
func TestDescribeFilters(t *testing.T) {
	f := newFixture(t)
	c := f.client("AKIATEST")
	ctx := context.Background()
	filt := func(name string, v ...string) types.Filter { return types.Filter{Name: aws.String(name), Values: v} }
	tables := func(fs ...types.Filter) []string {
		out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: fs})
		require.NoError(t, err)
		var ids []string
		for _, rt := range out.RouteTables {
			ids = append(ids, aws.ToString(rt.RouteTableId))
		}
		return ids
	}
	instances := func(fs ...types.Filter) []string {
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: fs})
		require.NoError(t, err)
		var ids []string
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				ids = append(ids, aws.ToString(in.InstanceId))
			}
		}
		return ids
	}
	enis := func(fs ...types.Filter) []string {
		out, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: fs})
		require.NoError(t, err)
		var ids []string
		for _, en := range out.NetworkInterfaces {
			ids = append(ids, aws.ToString(en.NetworkInterfaceId))
		}
		return ids
	}
	vpcs := func(fs ...types.Filter) []string {
		out, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: fs})
		require.NoError(t, err)
		var ids []string
		for _, v := range out.Vpcs {
			ids = append(ids, aws.ToString(v.VpcId))
		}
		return ids
	}
	t1, t2, tm := ec2emu.FixtureRouteTable1, ec2emu.FixtureRouteTable2, ec2emu.FixtureMainTable
	ia, ib := ec2emu.FixtureInstanceA, ec2emu.FixtureInstanceB

	// Route tables.
	assert.Equal(t, []string{t1, t2}, tables(filt("route-table-id", t2, t1)), "values are alternatives")
	assert.Equal(t, []string{t1}, tables(filt("vpc-id", ec2emu.FixtureVPC), filt("route.gateway-id", ec2emu.FixtureIGW), filt("association.subnet-id", ec2emu.FixtureSubnetA)), "filters all apply")
	assert.Empty(t, tables(filt("association.subnet-id", ec2emu.FixtureSubnetA), filt("association.main", "true")))
	assert.Equal(t, []string{t1}, tables(filt("route.instance-id", "*")), "only a table with an instance route has a route.instance-id")
	assert.Equal(t, []string{t1, t2, tm}, tables(filt("route.state", "active")))
	assert.Equal(t, []string{t2}, tables(filt("route.destination-ipv6-cidr-block", "::/0")))
	assert.Equal(t, []string{t1, t2, tm}, tables(filt("route.origin", "CreateRouteTable")))
	assert.Equal(t, []string{t1, t2, tm}, tables(filt("owner-id", ec2emu.DefaultAccount)))
	assert.Equal(t, []string{t1}, tables(filt("route.network-interface-id", "eni-0aaa*")), "wildcard")
	assert.Equal(t, []string{tm}, tables(filt("association.route-table-id", "rtb-0ccc*")))

	// Instances.
	assert.Equal(t, []string{ia, ib}, instances(filt("instance-state-name", "running")))
	assert.Equal(t, []string{ib}, instances(filt("availability-zone", ec2emu.FixtureAZB)))
	assert.Equal(t, []string{ia}, instances(filt("network-interface.network-interface-id", ec2emu.FixtureENIA)))
	assert.Equal(t, []string{ia}, instances(filt("subnet-id", ec2emu.FixtureSubnetA), filt("vpc-id", ec2emu.FixtureVPC), filt("instance-id", ia, ib)))
	assert.Empty(t, instances(filt("subnet-id", ec2emu.FixtureSubnetA), filt("instance-id", ib)))

	// Network interfaces.
	assert.Equal(t, []string{ec2emu.FixtureENIB}, enis(filt("mac-address", ec2emu.FixtureMACB)))
	assert.Equal(t, []string{ec2emu.FixtureENIA}, enis(filt("attachment.instance-id", ia), filt("attachment.device-index", "0")))
	assert.Equal(t, []string{ec2emu.FixtureENIA, ec2emu.FixtureENIB}, enis(filt("vpc-id", ec2emu.FixtureVPC)))
	assert.Equal(t, []string{ec2emu.FixtureENIB}, enis(filt("addresses.private-ip-address", ec2emu.FixtureIPB)))
	assert.Empty(t, enis(filt("private-ip-address", ec2emu.FixtureIPA), filt("subnet-id", ec2emu.FixtureSubnetB)))

	// VPCs.
	assert.Equal(t, []string{ec2emu.FixtureVPC}, vpcs(filt("cidr", "10.0.0.0/16")))
	assert.Empty(t, vpcs(filt("cidr-block-association.cidr-block", "10.1.0.0/16")))

	// A detached interface has no attachment: an attachment filter never
	// matches it, even with a wildcard.
	st := f.emu.Snapshot()
	st.ENIs = append(st.ENIs, ec2emu.ENI{ID: "eni-0eeeeeeeeeeeeeee5", MAC: "02:00:00:00:00:e5", PrivateIP: "10.0.1.20", Subnet: ec2emu.FixtureSubnetA})
	require.NoError(t, f.emu.SetState(st))
	assert.Equal(t, []string{ec2emu.FixtureENIA, ec2emu.FixtureENIB}, enis(filt("attachment.instance-id", "*")))
	assert.Equal(t, []string{ec2emu.FixtureENIA, "eni-0eeeeeeeeeeeeeee5"}, enis(filt("subnet-id", ec2emu.FixtureSubnetA)))

	// Unknown filters are refused by every action.
	for name, call := range map[string]func() error{
		"DescribeInstances": func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{filt("bogus", "x")}})
			return err
		},
		"DescribeNetworkInterfaces": func() error {
			_, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filt("bogus", "x")}})
			return err
		},
		"DescribeVpcs": func() error {
			_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{filt("bogus", "x")}})
			return err
		},
	} {
		assert.Equal(t, "InvalidParameterValue", apiCode(t, call()), name)
	}
}

// With its clock skewed, the emulator refuses what AWS refuses: a request
// signed more than 5 minutes from its time; its Date header shows its time.
func TestClockSkewRefusesStaleSignatures(t *testing.T) {
	f := newFixture(t)
	c := f.client("AKIATEST")
	ctx := context.Background()
	f.emu.SetClockSkew(10 * time.Minute)
	_, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	assert.Equal(t, "RequestExpired", apiCode(t, err))

	resp, err := http.Post(f.srv.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=DescribeRouteTables&Version=2016-11-15"))
	require.NoError(t, err)
	_ = resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), date, 5*time.Second)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "an unsigned request is not checked")

	// A new client: the SDK's own takes its signing time from the Date of
	// the answers it has seen, now 10 minutes ahead.
	f.emu.SetClockSkew(4 * time.Minute)
	_, err = f.client("AKIATEST").DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	assert.NoError(t, err, "within the 5-minute window")
}

func TestRouteWrites(t *testing.T) {
	f := newFixture(t)
	c := f.client("AKIATEST")
	ctx := context.Background()
	before := f.emu.Snapshot()
	t1 := aws.String(ec2emu.FixtureRouteTable1)

	// Replace on a missing route: AWS answers InvalidParameterValue.
	_, err := c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(ec2emu.FixtureENIA)})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))

	cr, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(ec2emu.FixtureENIA)})
	require.NoError(t, err)
	assert.True(t, aws.ToBool(cr.Return))
	r := routeOf(t, c, ec2emu.FixtureRouteTable1, vip)
	require.NotNil(t, r)
	assert.Equal(t, ec2emu.FixtureENIA, aws.ToString(r.NetworkInterfaceId))
	assert.Equal(t, ec2emu.FixtureInstanceA, aws.ToString(r.InstanceId), "an ENI route carries its instance")
	assert.Equal(t, types.RouteStateActive, r.State)
	assert.Equal(t, types.RouteOriginCreateRoute, r.Origin)

	_, err = c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(ec2emu.FixtureENIB)})
	assert.Equal(t, "RouteAlreadyExists", apiCode(t, err))

	_, err = c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(ec2emu.FixtureInstanceB)})
	require.NoError(t, err)
	r = routeOf(t, c, ec2emu.FixtureRouteTable1, vip)
	assert.Equal(t, ec2emu.FixtureInstanceB, aws.ToString(r.InstanceId))
	assert.Equal(t, ec2emu.FixtureENIB, aws.ToString(r.NetworkInterfaceId), "an instance route carries its ENI")

	d := ec2emu.Diff(before, f.emu.Snapshot())
	require.Len(t, d, 1)
	assert.Equal(t, ec2emu.Created, d[0].Kind)
	assert.Equal(t, ec2emu.FixtureRouteTable1, d[0].RouteTableID)
	assert.Equal(t, vip, d[0].Destination)
	assert.Equal(t, ec2emu.FixtureENIB, d[0].After.NetworkInterfaceID)

	mid := f.emu.Snapshot()
	_, err = c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip)})
	require.NoError(t, err)
	assert.Nil(t, routeOf(t, c, ec2emu.FixtureRouteTable1, vip))
	d = ec2emu.Diff(mid, f.emu.Snapshot())
	require.Len(t, d, 1)
	assert.Equal(t, ec2emu.Deleted, d[0].Kind)
	assert.Empty(t, ec2emu.Diff(before, f.emu.Snapshot()))

	_, err = c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip)})
	assert.Equal(t, "InvalidRoute.NotFound", apiCode(t, err))

	// Errors.
	cases := []struct {
		name string
		in   *ec2.CreateRouteInput
		code string
	}{
		{"unknown table", &ec2.CreateRouteInput{RouteTableId: aws.String("rtb-0123456789abcdef0"), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(ec2emu.FixtureInstanceA)}, "InvalidRouteTableID.NotFound"},
		{"unknown instance", &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip), InstanceId: aws.String("i-0123456789abcdef0")}, "InvalidInstanceID.NotFound"},
		{"unknown eni", &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String("eni-0123456789abcdef0")}, "InvalidNetworkInterfaceID.NotFound"},
		{"bad cidr", &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String("192.0.2.300/32"), InstanceId: aws.String(ec2emu.FixtureInstanceA)}, "InvalidParameterValue"},
		{"v6 as v4", &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String("2001:db8::1/128"), InstanceId: aws.String(ec2emu.FixtureInstanceA)}, "InvalidParameterValue"},
		{"no destination", &ec2.CreateRouteInput{RouteTableId: t1, InstanceId: aws.String(ec2emu.FixtureInstanceA)}, "MissingParameter"},
		{"no target", &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip)}, "MissingParameter"},
		{"two targets", &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(ec2emu.FixtureInstanceA), NetworkInterfaceId: aws.String(ec2emu.FixtureENIA)}, "InvalidParameterCombination"},
		{"local exists", &ec2.CreateRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String("10.0.0.0/16"), InstanceId: aws.String(ec2emu.FixtureInstanceA)}, "RouteAlreadyExists"},
	}
	for _, tc := range cases {
		_, err := c.CreateRoute(ctx, tc.in)
		assert.Equal(t, tc.code, apiCode(t, err), tc.name)
	}
	_, err = c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String("10.0.0.0/16"), InstanceId: aws.String(ec2emu.FixtureInstanceA)})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err), "local route cannot be replaced")
	_, err = c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: t1, DestinationCidrBlock: aws.String("10.0.0.0/16")})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err), "local route cannot be deleted")
	assert.Empty(t, ec2emu.Diff(before, f.emu.Snapshot()))
}

func TestMultipleInterfacesAndBlackhole(t *testing.T) {
	st := ec2emu.StandardFixture()
	st.ENIs = append(st.ENIs, ec2emu.ENI{ID: "eni-0aaaaaaaaaaaaaaa9", Instance: ec2emu.FixtureInstanceA, DeviceIndex: 1, MAC: "02:00:00:00:00:a9", PrivateIP: "10.0.1.99", Subnet: ec2emu.FixtureSubnetA})
	emu := ec2emu.New(st)
	srv := httptest.NewServer(emu)
	defer srv.Close()
	f := &fixture{emu: emu, srv: srv}
	c := f.client("AKIATEST")
	ctx := context.Background()
	_, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable2), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(ec2emu.FixtureInstanceA)})
	assert.Equal(t, "InvalidInstanceID", apiCode(t, err))
	assert.Contains(t, err.Error(), "specify an interface ID")

	_, err = c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable2), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(ec2emu.FixtureENIB)})
	require.NoError(t, err)
	require.NoError(t, emu.SetInstanceState(ec2emu.FixtureInstanceB, "stopped"))
	assert.Equal(t, types.RouteStateBlackhole, routeOf(t, c, ec2emu.FixtureRouteTable2, vip).State)
	st2 := emu.Snapshot()
	st2.ENIs = st2.ENIs[:1] // ENI B is gone
	require.NoError(t, emu.SetState(st2))
	assert.Equal(t, types.RouteStateBlackhole, routeOf(t, c, ec2emu.FixtureRouteTable2, vip).State)
}

func TestIPv6Route(t *testing.T) {
	f := newFixture(t)
	c := f.client("AKIATEST")
	ctx := context.Background()
	dst := "2001:db8:ffff::10/128"
	_, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable1), DestinationIpv6CidrBlock: aws.String(dst), NetworkInterfaceId: aws.String(ec2emu.FixtureENIA)})
	require.NoError(t, err)
	_, err = c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable1), DestinationIpv6CidrBlock: aws.String(dst), NetworkInterfaceId: aws.String(ec2emu.FixtureENIB)})
	require.NoError(t, err)
	r := routeOf(t, c, ec2emu.FixtureRouteTable1, dst)
	require.NotNil(t, r)
	assert.Nil(t, r.DestinationCidrBlock)
	assert.Equal(t, ec2emu.FixtureENIB, aws.ToString(r.NetworkInterfaceId))
	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: aws.String("route.destination-ipv6-cidr-block"), Values: []string{dst}}}})
	require.NoError(t, err)
	assert.Len(t, out.RouteTables, 1)
	_, err = c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable1), DestinationIpv6CidrBlock: aws.String("192.0.2.1/32"), NetworkInterfaceId: aws.String(ec2emu.FixtureENIA)})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
}

func TestInstancesInterfacesAttributesVpcs(t *testing.T) {
	f := newFixture(t)
	c := f.client("AKIATEST")
	ctx := context.Background()

	di, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ec2emu.FixtureInstanceB}})
	require.NoError(t, err)
	require.Len(t, di.Reservations, 1)
	require.Len(t, di.Reservations[0].Instances, 1)
	in := di.Reservations[0].Instances[0]
	assert.Equal(t, ec2emu.FixtureInstanceB, aws.ToString(in.InstanceId))
	assert.Equal(t, ec2emu.FixtureAZB, aws.ToString(in.Placement.AvailabilityZone))
	assert.Equal(t, ec2emu.FixtureVPC, aws.ToString(in.VpcId))
	assert.Equal(t, ec2emu.FixtureSubnetB, aws.ToString(in.SubnetId))
	assert.True(t, aws.ToBool(in.SourceDestCheck))
	assert.Equal(t, types.InstanceStateNameRunning, in.State.Name)
	require.Len(t, in.NetworkInterfaces, 1)
	ni := in.NetworkInterfaces[0]
	assert.Equal(t, ec2emu.FixtureENIB, aws.ToString(ni.NetworkInterfaceId))
	assert.Equal(t, ec2emu.FixtureMACB, aws.ToString(ni.MacAddress))
	assert.Equal(t, ec2emu.FixtureIPB, aws.ToString(ni.PrivateIpAddress))
	assert.Equal(t, int32(0), aws.ToInt32(ni.Attachment.DeviceIndex))
	assert.True(t, aws.ToBool(ni.SourceDestCheck))

	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	assert.Equal(t, "InvalidInstanceID.NotFound", apiCode(t, err))

	dn, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{ec2emu.FixtureInstanceA}}}})
	require.NoError(t, err)
	require.Len(t, dn.NetworkInterfaces, 1)
	assert.Equal(t, ec2emu.FixtureENIA, aws.ToString(dn.NetworkInterfaces[0].NetworkInterfaceId))
	assert.Equal(t, ec2emu.FixtureInstanceA, aws.ToString(dn.NetworkInterfaces[0].Attachment.InstanceId))
	assert.Equal(t, ec2emu.FixtureAZA, aws.ToString(dn.NetworkInterfaces[0].AvailabilityZone))
	dn, err = c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{ec2emu.FixtureENIB}})
	require.NoError(t, err)
	require.Len(t, dn.NetworkInterfaces, 1)
	_, err = c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-0123456789abcdef0"}})
	assert.Equal(t, "InvalidNetworkInterfaceID.NotFound", apiCode(t, err))

	attr, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(ec2emu.FixtureInstanceA), Attribute: types.InstanceAttributeNameSourceDestCheck})
	require.NoError(t, err)
	assert.True(t, aws.ToBool(attr.SourceDestCheck.Value))
	_, err = c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(ec2emu.FixtureInstanceA), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	require.NoError(t, err)
	attr, err = c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(ec2emu.FixtureInstanceA), Attribute: types.InstanceAttributeNameSourceDestCheck})
	require.NoError(t, err)
	assert.False(t, aws.ToBool(attr.SourceDestCheck.Value))
	assert.False(t, f.emu.Snapshot().ENIs[0].SourceDestCheck, "primary ENI follows the instance")
	_, err = c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String("i-0123456789abcdef0"), Attribute: types.InstanceAttributeNameSourceDestCheck})
	assert.Equal(t, "InvalidInstanceID.NotFound", apiCode(t, err))

	_, err = c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(ec2emu.FixtureENIB), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	require.NoError(t, err)
	di, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ec2emu.FixtureInstanceB}})
	require.NoError(t, err)
	assert.False(t, aws.ToBool(di.Reservations[0].Instances[0].NetworkInterfaces[0].SourceDestCheck))
	assert.False(t, aws.ToBool(di.Reservations[0].Instances[0].SourceDestCheck))
	_, err = c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-0123456789abcdef0"), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	assert.Equal(t, "InvalidNetworkInterfaceID.NotFound", apiCode(t, err))

	dv, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{ec2emu.FixtureVPC}})
	require.NoError(t, err)
	require.Len(t, dv.Vpcs, 1)
	assert.Equal(t, "10.0.0.0/16", aws.ToString(dv.Vpcs[0].CidrBlock))
	require.Len(t, dv.Vpcs[0].CidrBlockAssociationSet, 1)
	assert.Equal(t, "10.0.0.0/16", aws.ToString(dv.Vpcs[0].CidrBlockAssociationSet[0].CidrBlock))
	require.Len(t, dv.Vpcs[0].Ipv6CidrBlockAssociationSet, 1)
	assert.Equal(t, "2001:db8:1234:1a00::/56", aws.ToString(dv.Vpcs[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock))
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0123456789abcdef0"}})
	assert.Equal(t, "InvalidVpcID.NotFound", apiCode(t, err))
}

func TestDryRunAndDeny(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client("AKIANODEA")
	before := f.emu.Snapshot()
	t1 := aws.String(ec2emu.FixtureRouteTable1)
	t2 := aws.String(ec2emu.FixtureRouteTable2)
	replace := func(c *ec2.Client, table *string, dry bool) error {
		_, err := c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{DryRun: aws.Bool(dry), RouteTableId: table, DestinationCidrBlock: aws.String("172.16.0.0/12"), NetworkInterfaceId: aws.String(ec2emu.FixtureENIB)})
		return err
	}
	assert.Equal(t, "DryRunOperation", apiCode(t, replace(c, t1, true)))
	_, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{DryRun: aws.Bool(true), RouteTableId: t1, DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(ec2emu.FixtureInstanceA)})
	assert.Equal(t, "DryRunOperation", apiCode(t, err))
	_, err = c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{DryRun: aws.Bool(true)})
	assert.Equal(t, "DryRunOperation", apiCode(t, err))
	_, err = c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{DryRun: aws.Bool(true), InstanceId: aws.String(ec2emu.FixtureInstanceA), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	assert.Equal(t, "DryRunOperation", apiCode(t, err))
	assert.Empty(t, ec2emu.Diff(before, f.emu.Snapshot()))
	assert.True(t, f.emu.Snapshot().Instances[0].SourceDestCheck)

	f.emu.Deny(ec2emu.Deny{Principal: "AKIANODEA", Action: "ReplaceRoute", RouteTableID: ec2emu.FixtureRouteTable2})
	assert.Equal(t, "DryRunOperation", apiCode(t, replace(c, t1, true)))
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, replace(c, t2, true)))
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, replace(c, t2, false)))
	assert.Equal(t, "DryRunOperation", apiCode(t, replace(f.client("AKIANODEB"), t2, true)))
	f.emu.Deny(ec2emu.Deny{Principal: "*", Action: "DescribeInstances"})
	_, err = f.client("AKIAOTHER").DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, err))
	assert.Empty(t, ec2emu.Diff(before, f.emu.Snapshot()))

	log := f.emu.Log()
	require.NotEmpty(t, log)
	assert.Equal(t, "ReplaceRoute", log[0].Action)
	assert.True(t, log[0].DryRun)
	assert.Equal(t, "AKIANODEA", log[0].Principal)
	assert.Equal(t, "DryRunOperation", log[0].Code)
	assert.Equal(t, 412, log[0].Status)
	assert.Equal(t, 5, f.emu.Count("ReplaceRoute"))
	f.emu.ResetLog()
	assert.Empty(t, f.emu.Log())
	assert.Zero(t, f.emu.Count("ReplaceRoute"))
}

func TestRoleMode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	role := "arn:aws:iam::123456789012:role/routeha"
	f.emu.SetRoleMode(role)
	plain := f.client("AKIANODEA")
	_, err := plain.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable1), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(ec2emu.FixtureInstanceA)})
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, err))
	_, err = plain.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	require.NoError(t, err, "reads need no role")

	stsc := sts.New(sts.Options{Region: ec2emu.DefaultRegion, BaseEndpoint: aws.String(f.srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIANODEA", "s", ""), RetryMaxAttempts: 1})
	out, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("routeha")})
	require.NoError(t, err)
	key := aws.ToString(out.Credentials.AccessKeyId)
	assert.True(t, strings.HasPrefix(key, "ASIA"))
	assert.NotEmpty(t, aws.ToString(out.Credentials.SessionToken))
	assert.WithinDuration(t, time.Now().Add(time.Hour), aws.ToTime(out.Credentials.Expiration), time.Minute)
	got, ok := f.emu.RoleOf(key)
	assert.True(t, ok)
	assert.Equal(t, role, got)

	assumed := ec2.New(ec2.Options{Region: ec2emu.DefaultRegion, BaseEndpoint: aws.String(f.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))})
	_, err = assumed.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable1), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(ec2emu.FixtureInstanceA)})
	require.NoError(t, err)

	other, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/other"), RoleSessionName: aws.String("x")})
	require.NoError(t, err)
	wrong := f.client(aws.ToString(other.Credentials.AccessKeyId))
	_, err = wrong.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable1), DestinationCidrBlock: aws.String(vip)})
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, err))

	_, err = stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("nonsense"), RoleSessionName: aws.String("x")})
	assert.Equal(t, "ValidationError", apiCode(t, err))
	f.emu.Deny(ec2emu.Deny{Principal: "AKIANODEA", Action: "AssumeRole"})
	_, err = stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("x")})
	assert.Equal(t, "AccessDenied", apiCode(t, err))
}

func TestFaults(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client("AKIATEST")
	describe := func(c *ec2.Client) error {
		_, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
		return err
	}

	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Count: 2})
	assert.Equal(t, "RequestLimitExceeded", apiCode(t, describe(c)))
	assert.Equal(t, "RequestLimitExceeded", apiCode(t, describe(c)))
	require.NoError(t, describe(c))

	// Only for one action, for all calls until cleared.
	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Action: "ReplaceRoute"})
	require.NoError(t, describe(c))
	_, err := c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable1), DestinationCidrBlock: aws.String("172.16.0.0/12"), NetworkInterfaceId: aws.String(ec2emu.FixtureENIB)})
	assert.Equal(t, "RequestLimitExceeded", apiCode(t, err))
	f.emu.ClearFaults()

	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.InternalError, Count: 1})
	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable, Count: 2})
	assert.Equal(t, "InternalError", apiCode(t, describe(c)))
	assert.Equal(t, "Unavailable", apiCode(t, describe(c)))
	require.NoError(t, describe(c))

	// The SDK's default retryer rides out a short burst.
	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.Unavailable, Count: 2})
	retrying := ec2.New(ec2.Options{Region: ec2emu.DefaultRegion, BaseEndpoint: aws.String(f.srv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "s", "")})
	require.NoError(t, describe(retrying))

	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.AuthFailure, Count: 1})
	assert.Equal(t, "AuthFailure", apiCode(t, describe(c)))
	require.NoError(t, describe(c))

	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.HTMLError, Count: 1})
	err = describe(c)
	require.Error(t, err)
	var he interface{ HTTPStatusCode() int }
	require.True(t, errors.As(err, &he), "%v", err)
	assert.Equal(t, 500, he.HTTPStatusCode())

	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.Drop, Count: 1})
	err = describe(c)
	require.Error(t, err)
	var ae smithy.APIError
	assert.False(t, errors.As(err, &ae), "a dropped connection is no API error: %v", err)
	require.NoError(t, describe(c))

	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.Latency, Delay: 200 * time.Millisecond, Count: 1})
	start := time.Now()
	require.NoError(t, describe(c))
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)

	// A 30 s delay ends when the client gives up.
	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.Latency, Delay: 30 * time.Second})
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start = time.Now()
	_, err = c.DescribeRouteTables(cctx, &ec2.DescribeRouteTablesInput{})
	cancel()
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.Eventually(t, func() bool {
		l := f.emu.Log()
		return l[len(l)-1].Code == "Aborted"
	}, 5*time.Second, 20*time.Millisecond, "the handler saw the client go away")
	f.emu.ClearFaults()
	assert.Empty(t, f.emu.Faults())
}

func TestStaleReads(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client("AKIATEST")
	f.emu.SetStaleReads(2)
	for _, table := range []string{ec2emu.FixtureRouteTable1, ec2emu.FixtureRouteTable2} {
		_, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(ec2emu.FixtureENIA)})
		require.NoError(t, err)
	}
	assert.Nil(t, routeOf(t, c, ec2emu.FixtureRouteTable1, vip), "stale read 1")
	assert.Nil(t, routeOf(t, c, ec2emu.FixtureRouteTable2, vip), "stale read 2")
	assert.NotNil(t, routeOf(t, c, ec2emu.FixtureRouteTable1, vip))
	assert.NotNil(t, routeOf(t, c, ec2emu.FixtureRouteTable2, vip))
}

func TestAdminAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client("AKIATEST")
	do := func(method, path, body string, out any) {
		t.Helper()
		req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "%s %s", method, path)
		if out != nil {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
		}
	}
	do("POST", "/_emu/route", `{"routeTableId":"`+ec2emu.FixtureRouteTable1+`","destination":"`+vip+`","target":"`+ec2emu.FixtureInstanceB+`"}`, nil)
	r := routeOf(t, c, ec2emu.FixtureRouteTable1, vip)
	require.NotNil(t, r)
	assert.Equal(t, ec2emu.FixtureENIB, aws.ToString(r.NetworkInterfaceId))

	var st ec2emu.State
	do("GET", "/_emu/state", "", &st)
	assert.NotNil(t, st.RouteTable(ec2emu.FixtureRouteTable1).Route(vip))
	st.RouteTable(ec2emu.FixtureRouteTable1).Routes = st.RouteTable(ec2emu.FixtureRouteTable1).Routes[:2]
	b, _ := json.Marshal(st)
	do("PUT", "/_emu/state", string(b), nil)
	assert.Nil(t, routeOf(t, c, ec2emu.FixtureRouteTable1, vip))

	do("POST", "/_emu/faults", `{"kind":"throttle","count":1,"action":"DescribeVpcs"}`, nil)
	do("POST", "/_emu/faults", `{"faults":[{"kind":"latency","delay":"1ms","count":1}],"staleReads":0}`, nil)
	var faults []ec2emu.Fault
	do("GET", "/_emu/faults", "", &faults)
	assert.Len(t, faults, 2)
	_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	assert.Equal(t, "RequestLimitExceeded", apiCode(t, err))
	do("DELETE", "/_emu/faults", "", nil)
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	require.NoError(t, err)

	var counts map[string]int
	do("GET", "/_emu/counts", "", &counts)
	assert.Equal(t, 2, counts["DescribeVpcs"])
	var log []ec2emu.LogEntry
	do("GET", "/_emu/log", "", &log)
	assert.Len(t, log, 4)
	do("POST", "/_emu/log/reset", "", nil)
	var after map[string]int
	do("GET", "/_emu/counts", "", &after)
	assert.Empty(t, after)

	do("PUT", "/_emu/iam", `{"denies":[{"principal":"*","action":"DescribeVpcs"}]}`, nil)
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, err))
}

func TestLoadStateAndOnChange(t *testing.T) {
	dir := t.TempDir()
	st := ec2emu.StandardFixture()
	st.RouteTables[0].Routes = st.RouteTables[0].Routes[2:] // drop the local routes: loading adds them
	b, err := json.MarshalIndent(st, "", " ")
	require.NoError(t, err)
	p := dir + "/s.json"
	require.NoError(t, writeFile(p, b))
	got, err := ec2emu.LoadState(p)
	require.NoError(t, err)
	assert.NotNil(t, got.RouteTable(ec2emu.FixtureRouteTable1).Route("10.0.0.0/16"))

	var seen []*ec2emu.State
	emu := ec2emu.New(got, ec2emu.WithOnChange(func(s *ec2emu.State) { seen = append(seen, s) }))
	require.NoError(t, emu.SetRoute(ec2emu.FixtureRouteTable1, vip, ec2emu.FixtureENIA))
	require.Len(t, seen, 1)
	assert.NotNil(t, seen[0].RouteTable(ec2emu.FixtureRouteTable1).Route(vip))
	assert.Error(t, emu.SetRoute("rtb-0000000000000000f", vip, ""))

	// Snapshot is deep.
	s1 := emu.Snapshot()
	s1.RouteTables[0].Routes[0].GatewayID = "changed"
	assert.NotEqual(t, "changed", emu.Snapshot().RouteTables[0].Routes[0].GatewayID)
}

func TestDiffChanged(t *testing.T) {
	a := ec2emu.StandardFixture()
	b := a.Snapshot()
	b.RouteTable(ec2emu.FixtureRouteTable1).Route("172.16.0.0/12").NetworkInterfaceID = ec2emu.FixtureENIB
	d := ec2emu.Diff(a, b)
	require.Len(t, d, 1)
	assert.Equal(t, ec2emu.Changed, d[0].Kind)
	assert.Contains(t, d[0].String(), "changed")
}

func TestTableStaleness(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client("AKIATEST")
	const vip = "192.0.2.10/32"
	write := func(table, eni string) {
		t.Helper()
		_, err := c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eni)})
		require.NoError(t, err)
	}
	target := func(table string) string {
		t.Helper()
		r := routeOf(t, c, table, vip)
		if r == nil {
			return ""
		}
		return aws.ToString(r.NetworkInterfaceId)
	}
	require.NoError(t, f.emu.SetRoute(ec2emu.FixtureRouteTable1, vip, ec2emu.FixtureENIA))
	require.NoError(t, f.emu.SetRoute(ec2emu.FixtureRouteTable2, vip, ec2emu.FixtureENIA))

	// Ten stale reads of table 1 only; table 2 is fresh at once.
	f.emu.SetTableStaleness(ec2emu.FixtureRouteTable1, ec2emu.Staleness{Reads: 10})
	write(ec2emu.FixtureRouteTable1, ec2emu.FixtureENIB)
	write(ec2emu.FixtureRouteTable2, ec2emu.FixtureENIB)
	for i := 0; i < 5; i++ { // routeOf reads both tables: 2 reads each time
		assert.Equal(t, ec2emu.FixtureENIA, target(ec2emu.FixtureRouteTable1), "stale read %d", i)
		assert.Equal(t, ec2emu.FixtureENIB, target(ec2emu.FixtureRouteTable2))
	}
	assert.Equal(t, ec2emu.FixtureENIB, target(ec2emu.FixtureRouteTable1), "fresh after 10 reads")

	// Alternating: old, new, old, new, then new.
	f.emu.SetTableStaleness(ec2emu.FixtureRouteTable1, ec2emu.Staleness{Reads: 4, Alternate: true})
	write(ec2emu.FixtureRouteTable1, ec2emu.FixtureENIA)
	var seen []string
	for i := 0; i < 6; i++ {
		out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{ec2emu.FixtureRouteTable1}})
		require.NoError(t, err)
		for _, r := range out.RouteTables[0].Routes {
			if aws.ToString(r.DestinationCidrBlock) == vip {
				seen = append(seen, aws.ToString(r.NetworkInterfaceId))
			}
		}
	}
	B, A := ec2emu.FixtureENIB, ec2emu.FixtureENIA
	assert.Equal(t, []string{B, A, B, A, A, A}, seen)

	// For a duration.
	f.emu.SetTableStaleness(ec2emu.FixtureRouteTable2, ec2emu.Staleness{For: 300 * time.Millisecond})
	write(ec2emu.FixtureRouteTable2, ec2emu.FixtureENIA)
	assert.Equal(t, B, target(ec2emu.FixtureRouteTable2))
	time.Sleep(350 * time.Millisecond)
	assert.Equal(t, A, target(ec2emu.FixtureRouteTable2))

	f.emu.ClearFaults()
	write(ec2emu.FixtureRouteTable1, ec2emu.FixtureENIB)
	assert.Equal(t, B, target(ec2emu.FixtureRouteTable1), "ClearFaults ends staleness")
}

func TestIgnoreTableIDsAndSlowAnswer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client("AKIATEST")
	f.emu.SetIgnoreTableIDs(true)
	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{ec2emu.FixtureRouteTable1}})
	require.NoError(t, err)
	assert.Len(t, out.RouteTables, 3, "every table, whatever was asked")
	f.emu.SetIgnoreTableIDs(false)

	f.emu.AddFault(ec2emu.Fault{Kind: ec2emu.SlowAnswer, Action: "ReplaceRoute", Delay: time.Hour, Count: 1})
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = c.ReplaceRoute(short, &ec2.ReplaceRouteInput{RouteTableId: aws.String(ec2emu.FixtureRouteTable1), DestinationCidrBlock: aws.String("0.0.0.0/0"), NetworkInterfaceId: aws.String(ec2emu.FixtureENIB)})
	require.Error(t, err, "the answer never came")
	r := f.emu.Snapshot().RouteTable(ec2emu.FixtureRouteTable1).Route("0.0.0.0/0")
	require.NotNil(t, r)
	assert.Equal(t, ec2emu.FixtureENIB, r.NetworkInterfaceID, "performed all the same")
	// The request is logged once the emulator sees the client gone.
	require.Eventually(t, func() bool { return f.emu.MaxInFlight("ReplaceRoute") == 1 }, 5*time.Second, 10*time.Millisecond)
}

// An allow-only policy (the vendor guides' DescribeRouteTables and
// ReplaceRoute): every other action is refused, DryRun or not, for that
// principal only; "*" covers principals without their own.
func TestAllowOnlyPolicy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emu.SetPolicy("AKIANODEA", []string{"ec2:DescribeRouteTables", "ec2:ReplaceRoute"})
	a, b := f.client("AKIANODEA"), f.client("AKIANODEB")
	_, err := a.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	assert.NoError(t, err)
	_, err = a.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{DryRun: aws.Bool(true), RouteTableId: aws.String(ec2emu.FixtureRouteTable1),
		DestinationCidrBlock: aws.String("172.16.0.0/12"), NetworkInterfaceId: aws.String(ec2emu.FixtureENIB)})
	assert.Equal(t, "DryRunOperation", apiCode(t, err))
	_, err = a.CreateRoute(ctx, &ec2.CreateRouteInput{DryRun: aws.Bool(true), RouteTableId: aws.String(ec2emu.FixtureRouteTable1),
		DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(ec2emu.FixtureENIA)})
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, err))
	_, err = a.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, err))
	_, err = b.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	assert.NoError(t, err, "another principal keeps its permissions")

	f.emu.SetPolicy("*", []string{"DescribeRouteTables"})
	_, err = b.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	assert.Equal(t, "UnauthorizedOperation", apiCode(t, err))
	f.emu.SetPolicy("*", nil)
	f.emu.SetPolicy("AKIANODEA", nil)
	_, err = a.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	assert.NoError(t, err)
}
