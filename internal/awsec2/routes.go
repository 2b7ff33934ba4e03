// Package awsec2 is the EC2 adapter: route tables, routes and the
// source/destination check, over aws-sdk-go-v2's EC2 client (and STS for
// routing_table_role), configured by the SDK's config package, with
// routeha's retry budget, clock-skew rule and answer checks as options and
// middleware of that client.
package awsec2

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/suzlab/routeha/agent"
)

// Routes implements agent.Routes over the EC2 API.
type Routes struct {
	api *Client
	// instance, when set, is the client for the calls about this
	// instance's own network interfaces: with routing_table_role the route
	// tables belong to the VPC owner's account, but the ENIs belong to
	// this instance's account, which the role need not see.
	instance *Client
}

// NewRoutes returns the adapter over an EC2 client; its errors say what
// the client's retries saw (Options.Attempts).
func NewRoutes(api *Client) *Routes { return &Routes{api: api} }

// WithInstanceClient makes the network interface calls (Interfaces,
// SetSourceDestCheck) go through own, the instance's own credentials,
// while the route table calls keep the adapter's client.
func (r *Routes) WithInstanceClient(own *Client) *Routes {
	r.instance = own
	return r
}

// interfaceAPI is the client for the calls about this instance's ENIs.
func (r *Routes) interfaceAPI() *Client {
	if r.instance != nil {
		return r.instance
	}
	return r.api
}

var _ agent.Routes = (*Routes)(nil)

// ClockSkew is how far EC2's clock is ahead of this machine's, as its
// answers showed (negative: behind); zero unless a request was refused for
// it.
func (r *Routes) ClockSkew() time.Duration { return r.api.ClockSkew() }

// fail classifies an error with what the client's retries saw.
func (r *Routes) fail(op string, err error) error { return fail(r.api.attempts, op, err) }

// Tables describes all tables in one DescribeRouteTables request.
func (r *Routes) Tables(ctx context.Context, ids []string) ([]agent.Table, error) {
	const op = "DescribeRouteTables"
	// EC2 answers InvalidRouteTableID.NotFound for an unknown id, never a
	// short list, and lists only the tables asked for. Any other list is
	// an answer that was not EC2's (a proxy's page, an endpoint that
	// ignores RouteTableId): unreadable and retried, and above all not
	// "the table does not exist", which is fatal, nor a table to write.
	check := checkResult(op, func(result any) error {
		out, ok := result.(*ec2.DescribeRouteTablesOutput)
		if !ok {
			return errors.New("no DescribeRouteTables answer")
		}
		return sameTables(ids, out.RouteTables)
	})
	out, err := r.api.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: ids},
		func(o *ec2.Options) { o.APIOptions = append(o.APIOptions, check) })
	if err != nil {
		return nil, r.fail(op, err)
	}
	return convertTables(out.RouteTables), nil
}

// sameTables says why a list of tables is not exactly the tables asked
// for, nil when it is.
func sameTables(ids []string, tables []types.RouteTable) error {
	asked := make(map[string]bool, len(ids))
	for _, id := range ids {
		asked[id] = true
	}
	got := make(map[string]bool, len(tables))
	var extra []string
	for _, t := range tables {
		id := aws.ToString(t.RouteTableId)
		got[id] = true
		if !asked[id] {
			extra = append(extra, id)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("the answer lists %s, which were not asked for; it is not a DescribeRouteTables response", clipList(extra))
	}
	var missing []string
	for _, id := range ids {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the answer does not list %s; it is not a DescribeRouteTables response", clipList(missing))
	}
	return nil
}

func clipList(ids []string) string {
	if len(ids) > 3 {
		return strings.Join(ids[:3], ", ") + fmt.Sprintf(" and %d more", len(ids)-3)
	}
	return strings.Join(ids, ", ")
}

func convertTables(in []types.RouteTable) []agent.Table {
	tables := make([]agent.Table, 0, len(in))
	for _, t := range in {
		table := agent.Table{ID: aws.ToString(t.RouteTableId), VPCID: aws.ToString(t.VpcId)}
		for _, rt := range t.Routes {
			if route, ok := convertRoute(rt); ok {
				table.Routes = append(table.Routes, route)
			}
		}
		tables = append(tables, table)
	}
	return tables
}

// convertRoute reduces a route to what the agent reads; false for one
// that is not an IP route (a prefix list destination and the like).
func convertRoute(rt types.Route) (agent.Route, bool) {
	s := aws.ToString(rt.DestinationCidrBlock)
	if s == "" {
		s = aws.ToString(rt.DestinationIpv6CidrBlock)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return agent.Route{}, false
	}
	route := agent.Route{Destination: p.Masked(), InstanceID: aws.ToString(rt.InstanceId),
		ENI: aws.ToString(rt.NetworkInterfaceId), Blackhole: rt.State == types.RouteStateBlackhole}
	// The first target present names the route's gateway.
	for _, g := range []*string{rt.GatewayId, rt.NatGatewayId, rt.TransitGatewayId, rt.VpcPeeringConnectionId,
		rt.EgressOnlyInternetGatewayId, rt.LocalGatewayId, rt.CarrierGatewayId, rt.CoreNetworkArn} {
		if g != nil && *g != "" {
			route.Gateway = *g
			break
		}
	}
	return route, true
}

// Write creates or replaces one route.
func (r *Routes) Write(ctx context.Context, w agent.Write) error {
	var dst4, dst6, instance, eni *string
	if w.Destination.Addr().Is4() {
		dst4 = aws.String(w.Destination.String())
	} else {
		dst6 = aws.String(w.Destination.String())
	}
	if w.Target.InstanceID != "" {
		instance = aws.String(w.Target.InstanceID)
	}
	if w.Target.ENI != "" {
		eni = aws.String(w.Target.ENI)
	}
	var dryRun *bool
	if w.DryRun {
		dryRun = aws.Bool(true)
	}
	op := "ReplaceRoute"
	var err error
	if w.Create {
		op = "CreateRoute"
		_, err = r.api.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(w.Table),
			DestinationCidrBlock: dst4, DestinationIpv6CidrBlock: dst6, InstanceId: instance, NetworkInterfaceId: eni, DryRun: dryRun})
	} else {
		_, err = r.api.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(w.Table),
			DestinationCidrBlock: dst4, DestinationIpv6CidrBlock: dst6, InstanceId: instance, NetworkInterfaceId: eni, DryRun: dryRun})
	}
	if w.DryRun && isDryRunOK(err) {
		return nil
	}
	if err != nil {
		return r.fail(op, err)
	}
	return nil
}

// VPCTables describes every route table of a VPC, page by page.
func (r *Routes) VPCTables(ctx context.Context, vpcID string) ([]agent.Table, error) {
	var tables []agent.Table
	var next *string
	for {
		out, err := r.api.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
			Filters:   []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}},
			NextToken: next,
		})
		if err != nil {
			return nil, r.fail("DescribeRouteTables", err)
		}
		tables = append(tables, convertTables(out.RouteTables)...)
		if aws.ToString(out.NextToken) == "" || aws.ToString(out.NextToken) == aws.ToString(next) {
			return tables, nil
		}
		next = out.NextToken
	}
}

// Interfaces describes network interfaces.
func (r *Routes) Interfaces(ctx context.Context, ids []string) ([]agent.Interface, error) {
	api := r.interfaceAPI()
	out, err := api.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: ids})
	if err != nil {
		return nil, fail(api.attempts, "DescribeNetworkInterfaces", err)
	}
	ifs := make([]agent.Interface, 0, len(out.NetworkInterfaces))
	for _, n := range out.NetworkInterfaces {
		i := agent.Interface{ID: aws.ToString(n.NetworkInterfaceId), AZ: aws.ToString(n.AvailabilityZone),
			SourceDestCheck: aws.ToBool(n.SourceDestCheck)}
		if n.Attachment != nil {
			i.InstanceID = aws.ToString(n.Attachment.InstanceId)
		}
		ifs = append(ifs, i)
	}
	return ifs, nil
}

// SetSourceDestCheck sets the check on an ENI.
func (r *Routes) SetSourceDestCheck(ctx context.Context, eni string, enabled, dryRun bool) error {
	in := &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eni),
		SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(enabled)}}
	if dryRun {
		in.DryRun = aws.Bool(true)
	}
	api := r.interfaceAPI()
	_, err := api.ec2.ModifyNetworkInterfaceAttribute(ctx, in)
	if dryRun && isDryRunOK(err) {
		return nil
	}
	if err != nil {
		return fail(api.attempts, "ModifyNetworkInterfaceAttribute", err)
	}
	return nil
}

func isDryRunOK(err error) bool {
	code, _, ok := apiCode(err)
	return ok && code == "DryRunOperation"
}
