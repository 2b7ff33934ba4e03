package awsec2_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
)

func ec2ErrorBody(code string) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>%s</Code><Message>m for %s</Message></Error></Errors><RequestID>r</RequestID></Response>`, code, code))
}

func apiErr(t *testing.T, err error) *agent.APIError {
	t.Helper()
	require.Error(t, err)
	var ae *agent.APIError
	require.True(t, errors.As(err, &ae), "%T: %v", err, err)
	return ae
}

func TestClassifyDescribeRouteTablesErrors(t *testing.T) {
	cases := []struct {
		code   string
		status int
		kind   agent.ErrorKind
	}{
		{"InvalidRouteTableID.NotFound", 400, agent.KindTableNotFound},
		{"InvalidRouteTableID.Malformed", 400, agent.KindTableNotFound},
		{"InvalidRouteTableId.Malformed", 400, agent.KindTableNotFound},
		{"UnauthorizedOperation", 403, agent.KindDenied},
		{"AuthFailure", 401, agent.KindDenied},
		{"AccessDenied", 403, agent.KindDenied},
		{"InvalidClientTokenId", 403, agent.KindDenied},
		{"RequestLimitExceeded", 503, agent.KindTransient},
		{"Throttling", 400, agent.KindTransient},
		{"InternalError", 500, agent.KindTransient},
		{"Unavailable", 503, agent.KindTransient},
		{"ServiceUnavailable", 503, agent.KindTransient},
		{"InvalidParameterValue", 400, agent.KindOther},
		{"DryRunOperation", 412, agent.KindOther},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			r, h := newRoutes(c.status, ec2ErrorBody(c.code))
			tables, err := r.Tables(context.Background(), []string{"rtb-0123abcd"})
			assert.Nil(t, tables)
			ae := apiErr(t, err)
			assert.Equal(t, c.kind, ae.Kind, "kind of %s", c.code)
			assert.Equal(t, c.kind, agent.KindOf(err))
			assert.Equal(t, "DescribeRouteTables", ae.Op)
			assert.Equal(t, c.code, ae.Code)
			assert.Contains(t, err.Error(), "m for "+c.code, "the service's message is kept")
			assert.Equal(t, 1, h.Calls(), "no retries here")
		})
	}
}

func TestClassifyWriteErrors(t *testing.T) {
	v4 := netip.MustParsePrefix("192.0.2.10/32")
	cases := []struct {
		code   string
		status int
		create bool
		kind   agent.ErrorKind
	}{
		{"RouteAlreadyExists", 400, true, agent.KindRouteExists},
		{"InvalidRoute.NotFound", 400, false, agent.KindRouteNotFound},
		{"InvalidRouteTableID.NotFound", 400, false, agent.KindTableNotFound},
		{"InvalidRouteTableID.NotFound", 400, true, agent.KindTableNotFound},
		{"UnauthorizedOperation", 403, false, agent.KindDenied},
		{"UnauthorizedOperation", 403, true, agent.KindDenied},
		{"InvalidNetworkInterfaceID.NotFound", 400, false, agent.KindOther},
		{"InvalidInstanceID.Malformed", 400, true, agent.KindOther},
		{"RequestLimitExceeded", 503, false, agent.KindTransient},
		{"InternalError", 500, true, agent.KindTransient},
		{"SomethingNew", 400, false, agent.KindOther},
	}
	for _, c := range cases {
		op := "ReplaceRoute"
		if c.create {
			op = "CreateRoute"
		}
		t.Run(op+"/"+c.code, func(t *testing.T) {
			r, h := newRoutes(c.status, ec2ErrorBody(c.code))
			err := r.Write(context.Background(), agent.Write{
				Table: "rtb-0123abcd", Destination: v4, Target: agent.Target{ENI: "eni-0123abcd"}, Create: c.create,
			})
			ae := apiErr(t, err)
			assert.Equal(t, c.kind, ae.Kind)
			assert.Equal(t, op, ae.Op)
			assert.Equal(t, c.code, ae.Code)
			assert.Equal(t, op, h.Form().Get("Action"))
			assert.Equal(t, 1, h.Calls())
		})
	}
}

func TestDryRunOperationOnDryRunWriteIsSuccess(t *testing.T) {
	for _, create := range []bool{false, true} {
		for _, dst := range []string{"192.0.2.10/32", "2001:db8::10/128"} {
			r, h := newRoutes(412, ec2ErrorBody("DryRunOperation"))
			err := r.Write(context.Background(), agent.Write{
				Table: "rtb-0123abcd", Destination: netip.MustParsePrefix(dst),
				Target: agent.Target{InstanceID: "i-0123abcd"}, Create: create, DryRun: true,
			})
			assert.NoError(t, err, "create=%v %s", create, dst)
			assert.Equal(t, "true", h.Form().Get("DryRun"), "the request is a dry run")
		}
	}
}

func TestDryRunOperationOnRealWriteIsAnError(t *testing.T) {
	// An endpoint that answers DryRunOperation to a real write did not
	// make the change: that must not read as success.
	r, _ := newRoutes(412, ec2ErrorBody("DryRunOperation"))
	err := r.Write(context.Background(), agent.Write{
		Table: "rtb-0123abcd", Destination: netip.MustParsePrefix("192.0.2.10/32"), Target: agent.Target{ENI: "eni-0123abcd"},
	})
	ae := apiErr(t, err)
	assert.Equal(t, "DryRunOperation", ae.Code)
	assert.Equal(t, agent.KindOther, ae.Kind)
}

func TestDryRunDeniedIsDenied(t *testing.T) {
	r, h := newRoutes(403, ec2ErrorBody("UnauthorizedOperation"))
	err := r.Write(context.Background(), agent.Write{
		Table: "rtb-0123abcd", Destination: netip.MustParsePrefix("192.0.2.10/32"), Target: agent.Target{ENI: "eni-0123abcd"}, DryRun: true,
	})
	assert.Equal(t, agent.KindDenied, apiErr(t, err).Kind)
	assert.Equal(t, "true", h.Form().Get("DryRun"))
}

func TestDryRunSuccessWithoutDryRunOperation(t *testing.T) {
	// moto performs dry-run writes and answers 200: no error either.
	r, _ := newRoutes(200, []byte(`<ReplaceRouteResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><return>true</return></ReplaceRouteResponse>`))
	err := r.Write(context.Background(), agent.Write{
		Table: "rtb-0123abcd", Destination: netip.MustParsePrefix("192.0.2.10/32"), Target: agent.Target{ENI: "eni-0123abcd"}, DryRun: true,
	})
	assert.NoError(t, err)
}

func TestUnreadableAnswerIsClassified(t *testing.T) {
	// 200 with a body that is not a DescribeRouteTables response (a proxy's
	// login page, a truncated or empty answer) must be an error of kind
	// "not an EC2 response", not an empty list: the agent reads "no tables" as
	// "route table does not exist", OCF_ERR_CONFIGURED, which Pacemaker
	// treats as fatal on every node.
	bodies := []string{
		"",
		"<html><body>proxy login</body></html>",
		`<?xml version="1.0"?><Response><Errors/></Response>`,
		"<DescribeRouteTablesResponse><routeTableSet><item>",
		"\x00\xff",
		"not xml at all",
	}
	for _, body := range bodies {
		t.Run(fmt.Sprintf("%q", body), func(t *testing.T) {
			r, _ := newRoutes(200, []byte(body))
			tables, err := r.Tables(context.Background(), []string{"rtb-0123abcd"})
			assert.Empty(t, tables)
			ae := apiErr(t, err)
			assert.Equal(t, agent.KindOther, ae.Kind, "%v", err)
			assert.Contains(t, ae.Code, "not an EC2 response")
			assert.Equal(t, "DescribeRouteTables", ae.Op)
		})
	}
}

func TestErrorWithoutBodyIsAnAPIError(t *testing.T) {
	for _, status := range []int{500, 502, 503, 403} {
		r, _ := newRoutes(status, nil)
		_, err := r.Tables(context.Background(), []string{"rtb-0123abcd"})
		ae := apiErr(t, err)
		assert.Equal(t, "DescribeRouteTables", ae.Op, "status %d", status)
		assert.NotEmpty(t, err.Error())
	}
}
