// Package awsec2 is the EC2 adapter: route tables, routes and the
// source/destination check through aws-sdk-go-v2.
package awsec2

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/suzlab/routeha/agent"
)

// API is the part of *ec2.Client the adapter uses.
type API interface {
	DescribeRouteTables(context.Context, *ec2.DescribeRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	CreateRoute(context.Context, *ec2.CreateRouteInput, ...func(*ec2.Options)) (*ec2.CreateRouteOutput, error)
	ReplaceRoute(context.Context, *ec2.ReplaceRouteInput, ...func(*ec2.Options)) (*ec2.ReplaceRouteOutput, error)
	DescribeNetworkInterfaces(context.Context, *ec2.DescribeNetworkInterfacesInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
	ModifyNetworkInterfaceAttribute(context.Context, *ec2.ModifyNetworkInterfaceAttributeInput, ...func(*ec2.Options)) (*ec2.ModifyNetworkInterfaceAttributeOutput, error)
}

// Routes implements agent.Routes over the EC2 API.
type Routes struct {
	api      API
	attempts *Attempts
}

// New returns the adapter over an EC2 client.
func New(api API) *Routes { return &Routes{api: api} }

// NewObserved returns the adapter over a client built with
// Options.Attempts, so that errors say what the retries saw.
func NewObserved(api API, attempts *Attempts) *Routes { return &Routes{api: api, attempts: attempts} }

// fail classifies an error with what the adapter's retries saw.
func (r *Routes) fail(op string, err error) error { return fail(r.attempts, op, err) }

// fail classifies an error. One that ended in the deadline is explained
// with the last answer the retries saw (attempts may be nil), whose code
// it takes: "throttled until the deadline" is what the operator needs to
// read.
func fail(attempts *Attempts, op string, err error) error {
	explained, last := attempts.Explain(err)
	ae := classify(op, explained).(*agent.APIError)
	if last != nil {
		ae.Kind = agent.KindTransient
		if lastAE, ok := classify(op, last).(*agent.APIError); ok && lastAE.Code != "" {
			ae.Code = lastAE.Code
		} else {
			ae.Code = rootCause(last)
		}
	}
	return ae
}

// rootCause is the innermost message of an error chain ("connection reset
// by peer", "EOF"), short enough for an exit reason.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	msg := err.Error()
	if len(msg) > 48 {
		msg = msg[len(msg)-48:]
	}
	return msg
}

var _ agent.Routes = (*Routes)(nil)

// Tables describes all tables in one DescribeRouteTables request.
func (r *Routes) Tables(ctx context.Context, ids []string) ([]agent.Table, error) {
	out, err := r.api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: ids})
	if err != nil {
		return nil, r.fail("DescribeRouteTables", err)
	}
	tables := make([]agent.Table, 0, len(out.RouteTables))
	for _, t := range out.RouteTables {
		tables = append(tables, convertTable(t))
	}
	// EC2 answers InvalidRouteTableID.NotFound for an unknown id, never a
	// short list. A short list is an answer that was not EC2's (a proxy's
	// page, a truncated body the SDK read as empty): unreadable, transient,
	// and above all not "the table does not exist", which is fatal.
	if missing := missingIDs(ids, tables); len(missing) > 0 {
		return nil, &agent.APIError{Kind: agent.KindUnreadable, Op: "DescribeRouteTables",
			Err: fmt.Errorf("the answer does not list %s; it is not a DescribeRouteTables response", strings.Join(missing, ", "))}
	}
	return tables, nil
}

func missingIDs(ids []string, tables []agent.Table) []string {
	got := make(map[string]bool, len(tables))
	for _, t := range tables {
		got[t.ID] = true
	}
	var missing []string
	for _, id := range ids {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	return missing
}

func convertTable(t types.RouteTable) agent.Table {
	at := agent.Table{ID: aws.ToString(t.RouteTableId), VPCID: aws.ToString(t.VpcId)}
	for _, a := range t.Associations {
		if aws.ToBool(a.Main) {
			at.Main = true
		}
		if a.SubnetId != nil {
			at.Subnets = append(at.Subnets, *a.SubnetId)
		}
	}
	for _, rt := range t.Routes {
		dst, ok := destination(rt)
		if !ok {
			continue // prefix lists and the like: not an IP route
		}
		ar := agent.Route{
			Destination: dst,
			InstanceID:  aws.ToString(rt.InstanceId),
			ENI:         aws.ToString(rt.NetworkInterfaceId),
			Blackhole:   rt.State == types.RouteStateBlackhole,
		}
		for _, g := range []*string{rt.GatewayId, rt.NatGatewayId, rt.TransitGatewayId,
			rt.VpcPeeringConnectionId, rt.EgressOnlyInternetGatewayId, rt.LocalGatewayId,
			rt.CarrierGatewayId, rt.CoreNetworkArn} {
			if g != nil && *g != "" {
				ar.Gateway = *g
				break
			}
		}
		at.Routes = append(at.Routes, ar)
	}
	return at
}

func destination(rt types.Route) (netip.Prefix, bool) {
	s := aws.ToString(rt.DestinationCidrBlock)
	if s == "" {
		s = aws.ToString(rt.DestinationIpv6CidrBlock)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

// Write creates or replaces one route.
func (r *Routes) Write(ctx context.Context, w agent.Write) error {
	var v4, v6 *string
	if w.Destination.Addr().Is4() {
		v4 = aws.String(w.Destination.String())
	} else {
		v6 = aws.String(w.Destination.String())
	}
	target := func(s string) *string {
		if s == "" {
			return nil
		}
		return aws.String(s)
	}
	dry := aws.Bool(w.DryRun)
	var err error
	op := "ReplaceRoute"
	if w.Create {
		op = "CreateRoute"
		_, err = r.api.CreateRoute(ctx, &ec2.CreateRouteInput{
			RouteTableId: aws.String(w.Table), DestinationCidrBlock: v4, DestinationIpv6CidrBlock: v6,
			InstanceId: target(w.Target.InstanceID), NetworkInterfaceId: target(w.Target.ENI), DryRun: dry,
		})
	} else {
		_, err = r.api.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{
			RouteTableId: aws.String(w.Table), DestinationCidrBlock: v4, DestinationIpv6CidrBlock: v6,
			InstanceId: target(w.Target.InstanceID), NetworkInterfaceId: target(w.Target.ENI), DryRun: dry,
		})
	}
	if w.DryRun && isDryRunOK(err) {
		return nil
	}
	if err != nil {
		return r.fail(op, err)
	}
	return nil
}

// VPCTables describes every route table of a VPC.
func (r *Routes) VPCTables(ctx context.Context, vpcID string) ([]agent.Table, error) {
	var tables []agent.Table
	p := ec2.NewDescribeRouteTablesPaginator(r.api, &ec2.DescribeRouteTablesInput{
		Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, r.fail("DescribeRouteTables", err)
		}
		for _, t := range out.RouteTables {
			tables = append(tables, convertTable(t))
		}
	}
	return tables, nil
}

// Interfaces describes network interfaces.
func (r *Routes) Interfaces(ctx context.Context, ids []string) ([]agent.Interface, error) {
	out, err := r.api.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: ids})
	if err != nil {
		return nil, r.fail("DescribeNetworkInterfaces", err)
	}
	ifs := make([]agent.Interface, 0, len(out.NetworkInterfaces))
	for _, n := range out.NetworkInterfaces {
		i := agent.Interface{
			ID:              aws.ToString(n.NetworkInterfaceId),
			AZ:              aws.ToString(n.AvailabilityZone),
			SourceDestCheck: aws.ToBool(n.SourceDestCheck),
		}
		if n.Attachment != nil {
			i.InstanceID = aws.ToString(n.Attachment.InstanceId)
		}
		ifs = append(ifs, i)
	}
	return ifs, nil
}

// SetSourceDestCheck sets the check on an ENI.
func (r *Routes) SetSourceDestCheck(ctx context.Context, eni string, enabled, dryRun bool) error {
	_, err := r.api.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: aws.String(eni),
		SourceDestCheck:    &types.AttributeBooleanValue{Value: aws.Bool(enabled)},
		DryRun:             aws.Bool(dryRun),
	})
	if dryRun && isDryRunOK(err) {
		return nil
	}
	if err != nil {
		return r.fail("ModifyNetworkInterfaceAttribute", err)
	}
	return nil
}

func isDryRunOK(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "DryRunOperation"
}

// classify maps EC2's error codes onto what they mean for the agent.
func classify(op string, err error) error {
	if ce := innermostCredentialsError(err); ce != nil {
		// The step of the credential chain that failed, with its own
		// code or HTTP status; IAM refusing an AssumeRole is a denial.
		cause := classify(op, ce.Err).(*agent.APIError)
		kind := agent.KindOther
		if cause.Kind == agent.KindDenied || cause.Kind == agent.KindTransient {
			kind = cause.Kind
		}
		code := "no credentials from " + ce.Source
		if cause.Code != "" {
			code += " (" + cause.Code + ")"
		}
		return &agent.APIError{Kind: kind, Op: op, Code: code, Err: err}
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		// No EC2 error in the body: name the HTTP status, if there was one.
		code := ""
		var st interface{ HTTPStatusCode() int }
		if errors.As(err, &st) && st.HTTPStatusCode() != 0 {
			code = fmt.Sprintf("HTTP %d", st.HTTPStatusCode())
		}
		var de *smithy.DeserializationError
		if errors.As(err, &de) {
			if code != "" {
				code += ", not an EC2 response"
			}
			return &agent.APIError{Kind: agent.KindUnreadable, Op: op, Code: code,
				Err: fmt.Errorf("the endpoint's answer is not an EC2 response (%w)", err)}
		}
		return &agent.APIError{Kind: agent.KindTransient, Op: op, Code: code, Err: err}
	}
	code := ae.ErrorCode()
	kind := agent.KindOther
	switch {
	case strings.HasPrefix(code, "InvalidRouteTableID.") || strings.HasPrefix(code, "InvalidRouteTableId."):
		kind = agent.KindTableNotFound
	case code == "UnauthorizedOperation" || code == "AccessDenied" || code == "AuthFailure" ||
		code == "AccessDeniedException" || code == "InvalidClientTokenId":
		kind = agent.KindDenied
	case code == "RouteAlreadyExists":
		kind = agent.KindRouteExists
	case code == "InvalidRoute.NotFound",
		// ReplaceRoute on a missing route: "There is no route defined for
		// '192.0.2.10/32' in the route table. Use CreateRoute instead."
		code == "InvalidParameterValue" && strings.Contains(ae.ErrorMessage(), "no route defined"):
		kind = agent.KindRouteNotFound
	case strings.HasPrefix(code, "InvalidInstanceID") || strings.HasPrefix(code, "InvalidNetworkInterfaceID"):
		kind = agent.KindBadTarget
	case code == "RequestLimitExceeded" || code == "Throttling" || code == "ThrottlingException" ||
		code == "InternalError" || code == "Unavailable" || code == "ServiceUnavailable" || code == "InternalFailure":
		kind = agent.KindTransient
	}
	return &agent.APIError{Kind: kind, Op: op, Code: code, Err: errors.New(ae.ErrorMessage())}
}

// innermostCredentialsError is the credential step nearest the cause: an
// assumed role's source may itself have failed.
func innermostCredentialsError(err error) *CredentialsError {
	var found *CredentialsError
	for err != nil {
		var ce *CredentialsError
		if !errors.As(err, &ce) {
			break
		}
		found = ce
		err = ce.Err
	}
	return found
}
