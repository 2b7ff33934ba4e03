package moto_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/moto"
)

// errCheck marks a request's own check of the answer failing.
var errCheck = errors.New("check failed")

// missingTable is a well-formed route table id that neither backend has.
const missingTable = "rtb-0123456789abcdef0"

// outcome is what one request did: its error code ("" for success) and
// whether it changed the backend's State.
type outcome struct {
	Code    string
	Changed bool
}

func (o outcome) String() string {
	code := o.Code
	if code == "" {
		code = "success"
	}
	if o.Changed {
		return code + ", changed state"
	}
	return code + ", no change"
}

// request is one EC2 call against a world in which the first table routes
// the VIP to a's ENI and the second has no route for it.
type request func(ctx context.Context, c *ec2.Client, f moto.Fixture) error

func replace(table, id string, dry bool) request {
	return func(ctx context.Context, c *ec2.Client, f moto.Fixture) error {
		in, eni := splitTarget(id)
		_, err := c.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(vipCIDR),
			InstanceId: in, NetworkInterfaceId: eni, DryRun: aws.Bool(dry)})
		return err
	}
}

func create(table, id string, dry bool) request {
	return func(ctx context.Context, c *ec2.Client, f moto.Fixture) error {
		in, eni := splitTarget(id)
		_, err := c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(vipCIDR),
			InstanceId: in, NetworkInterfaceId: eni, DryRun: aws.Bool(dry)})
		return err
	}
}

func splitTarget(id string) (inst, eni *string) {
	if len(id) > 4 && id[:4] == "eni-" {
		return nil, aws.String(id)
	}
	return aws.String(id), nil
}

// TestErrorCodesAgree runs one list of requests against moto and our
// emulator and compares what each answered and whether it changed anything
// with what AWS does. Where moto is known to differ from AWS the case says
// so (and the test fails if moto stops differing, so doc/moto.md stays
// true); our emulator must follow AWS everywhere.
func TestErrorCodesAgree(t *testing.T) {
	worlds := map[string]*moto.World{}
	for _, b := range backends {
		worlds[b.name] = b.world(t) // skips the whole comparison without moto
	}
	// The table, ENI and instance ids differ per backend, so each request
	// is built from the backend's fixture.
	type tc struct {
		name string
		req  func(f moto.Fixture) request
		aws  outcome
		moto *outcome // set where moto is known to differ from AWS
	}
	t1 := func(f moto.Fixture) string { return f.Tables[0] }
	t2 := func(f moto.Fixture) string { return f.Tables[1] }
	cases := []tc{
		{name: "ReplaceRoute of a missing route",
			req: func(f moto.Fixture) request { return replace(t2(f), f.A.ENI, false) },
			aws: outcome{Code: "InvalidParameterValue"}},
		{name: "ReplaceRoute in a missing table",
			req: func(f moto.Fixture) request { return replace(missingTable, f.A.ENI, false) },
			aws: outcome{Code: "InvalidRouteTableID.NotFound"}},
		{name: "ReplaceRoute to a missing instance",
			req: func(f moto.Fixture) request { return replace(t1(f), "i-0123456789abcdef0", false) },
			aws: outcome{Code: "InvalidInstanceID.NotFound"}},
		{name: "ReplaceRoute to a missing ENI",
			req: func(f moto.Fixture) request { return replace(t1(f), "eni-0123456789abcdef0", false) },
			aws: outcome{Code: "InvalidNetworkInterfaceID.NotFound"}},
		{name: "ReplaceRoute to b",
			req: func(f moto.Fixture) request { return replace(t1(f), f.B.ENI, false) },
			aws: outcome{Changed: true}},
		{name: "ReplaceRoute with the current target",
			req: func(f moto.Fixture) request { return replace(t1(f), f.A.ENI, false) },
			aws: outcome{}},
		{name: "ReplaceRoute to b with DryRun",
			req:  func(f moto.Fixture) request { return replace(t1(f), f.B.ENI, true) },
			aws:  outcome{Code: "DryRunOperation"},
			moto: &outcome{Changed: true}},
		{name: "ReplaceRoute with the current target and DryRun",
			req:  func(f moto.Fixture) request { return replace(t1(f), f.A.ENI, true) },
			aws:  outcome{Code: "DryRunOperation"},
			moto: &outcome{}},
		{name: "ReplaceRoute of a missing route with DryRun",
			req:  func(f moto.Fixture) request { return replace(t2(f), f.B.ENI, true) },
			aws:  outcome{Code: "DryRunOperation"},
			moto: &outcome{Code: "InvalidParameterValue"}},
		{name: "CreateRoute of an existing route, instance target",
			req: func(f moto.Fixture) request { return create(t1(f), f.B.ID, false) },
			aws: outcome{Code: "RouteAlreadyExists"}},
		{name: "CreateRoute of an existing route, ENI target",
			req:  func(f moto.Fixture) request { return create(t1(f), f.B.ENI, false) },
			aws:  outcome{Code: "RouteAlreadyExists"},
			moto: &outcome{Changed: true}}, // moto overwrites the route
		{name: "CreateRoute of an existing route, ENI target, DryRun",
			req:  func(f moto.Fixture) request { return create(t1(f), f.B.ENI, true) },
			aws:  outcome{Code: "DryRunOperation"},
			moto: &outcome{Changed: true}},
		{name: "CreateRoute in a missing table",
			req: func(f moto.Fixture) request { return create(missingTable, f.A.ENI, false) },
			aws: outcome{Code: "InvalidRouteTableID.NotFound"}},
		{name: "CreateRoute to a missing instance",
			req: func(f moto.Fixture) request { return create(t2(f), "i-0123456789abcdef0", false) },
			aws: outcome{Code: "InvalidInstanceID.NotFound"}},
		{name: "CreateRoute to a missing ENI",
			req: func(f moto.Fixture) request { return create(t2(f), "eni-0123456789abcdef0", false) },
			aws: outcome{Code: "InvalidNetworkInterfaceID.NotFound"}},
		{name: "CreateRoute of a missing route",
			req: func(f moto.Fixture) request { return create(t2(f), f.A.ENI, false) },
			aws: outcome{Changed: true}},
		{name: "CreateRoute of a missing route with DryRun",
			req:  func(f moto.Fixture) request { return create(t2(f), f.A.ENI, true) },
			aws:  outcome{Code: "DryRunOperation"},
			moto: &outcome{Changed: true}},
		{name: "DeleteRoute of a missing route",
			req: func(f moto.Fixture) request {
				return func(ctx context.Context, c *ec2.Client, f2 moto.Fixture) error {
					_, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(t2(f)), DestinationCidrBlock: aws.String(vipCIDR)})
					return err
				}
			},
			aws: outcome{Code: "InvalidRoute.NotFound"}},
		{name: "DescribeRouteTables of a missing table",
			req: func(f moto.Fixture) request {
				return func(ctx context.Context, c *ec2.Client, _ moto.Fixture) error {
					_, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{t1(f), missingTable}})
					return err
				}
			},
			aws: outcome{Code: "InvalidRouteTableID.NotFound"}},
		{name: "DescribeRouteTables filtered by route.instance-id",
			req: func(f moto.Fixture) request {
				return func(ctx context.Context, c *ec2.Client, _ moto.Fixture) error {
					_, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
						Filters: []types.Filter{{Name: aws.String("route.instance-id"), Values: []string{f.A.ID}}}})
					return err
				}
			},
			aws:  outcome{},
			moto: &outcome{Code: "non-EC2 answer (HTTP 500)"}}, // an HTML error page
		{name: "DescribeNetworkInterfaces of a missing ENI",
			req: func(f moto.Fixture) request {
				return func(ctx context.Context, c *ec2.Client, _ moto.Fixture) error {
					_, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-0123456789abcdef0"}})
					return err
				}
			},
			aws: outcome{Code: "InvalidNetworkInterfaceID.NotFound"}},
		{name: "ModifyNetworkInterfaceAttribute with DryRun",
			req: func(f moto.Fixture) request {
				return func(ctx context.Context, c *ec2.Client, _ moto.Fixture) error {
					_, err := c.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(f.A.ENI),
						SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(true)}, DryRun: aws.Bool(true)})
					return err
				}
			},
			aws: outcome{Code: "DryRunOperation"}},
		{name: "ModifyInstanceAttribute leaves the ENI's Source/Dest check",
			req: func(f moto.Fixture) request {
				return func(ctx context.Context, c *ec2.Client, _ moto.Fixture) error {
					_, err := c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(f.A.ID),
						SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
					if err != nil {
						return err
					}
					ni, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{f.A.ENI}})
					if err != nil {
						return err
					}
					if !aws.ToBool(ni.NetworkInterfaces[0].SourceDestCheck) {
						return fmt.Errorf("%w: the primary ENI's check stayed off", errCheck)
					}
					return nil
				}
			},
			// In AWS the instance attribute is the primary ENI's.
			aws:  outcome{Changed: true},
			moto: &outcome{Code: "check failed: the primary ENI's check stayed off", Changed: true}},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]outcome{}
			for name, w := range worlds {
				ctx := ctxT(t)
				f := w.Fix
				require.NoError(t, w.SetRoute(ctx, f.Tables[0], vipCIDR, f.A.ENI))
				require.NoError(t, w.SetRoute(ctx, f.Tables[1], vipCIDR, ""))
				require.NoError(t, setSourceDest(ctx, w, false))
				before, err := w.Snapshot(ctx)
				require.NoError(t, err)
				err = c.req(f)(ctx, w.EC2, f)
				after, serr := w.Snapshot(ctx)
				require.NoError(t, serr)
				o := outcome{Code: moto.ErrorCode(err), Changed: !reflect.DeepEqual(before, after)}
				if errors.Is(err, errCheck) {
					o.Code = err.Error()
				}
				got[name] = o
			}
			assert.Equal(t, c.aws.String(), got["ec2emu"].String(), "our emulator must follow AWS")
			want := c.aws
			if c.moto != nil {
				want = *c.moto
			}
			assert.Equal(t, want.String(), got["moto"].String(), "moto (a change here means doc/moto.md is out of date)")
			if c.moto == nil {
				assert.Equal(t, got["moto"].Code, got["ec2emu"].Code, "where moto follows AWS, our emulator must agree with it")
			}
		})
	}
}

func setSourceDest(ctx context.Context, w *moto.World, on bool) error {
	for _, in := range []moto.Instance{w.Fix.A, w.Fix.B} {
		if _, err := w.EC2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(in.ID),
			SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(on)}}); err != nil {
			return err
		}
		if _, err := w.EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(in.ENI),
			SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(on)}}); err != nil {
			return err
		}
	}
	return nil
}
