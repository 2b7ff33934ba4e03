package awsec2_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/awsec2"
)

// newRoutes returns the adapter over an EC2 client whose HTTP client
// answers with status and body, without retries.
func newRoutes(status int, body []byte) (*awsec2.Routes, *awsec2.CannedHTTP) {
	h := awsec2.NewCannedHTTP(status, body)
	return awsec2.NewRoutes(awsec2.NewCannedClient(h)), h
}

const describeOK = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>req-1</requestId>
  <routeTableSet>
    <item>
      <routeTableId>rtb-0123abcd</routeTableId>
      <vpcId>vpc-0123abcd</vpcId>
      <ownerId>123456789012</ownerId>
      <routeSet>
        <item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state><origin>CreateRouteTable</origin></item>
        <item><destinationCidrBlock>192.0.2.10/32</destinationCidrBlock><instanceId>i-0123abcd</instanceId><instanceOwnerId>123456789012</instanceOwnerId><networkInterfaceId>eni-0123abcd</networkInterfaceId><state>active</state><origin>CreateRoute</origin></item>
        <item><destinationIpv6CidrBlock>2001:db8::10/128</destinationIpv6CidrBlock><networkInterfaceId>eni-4567abcd</networkInterfaceId><state>blackhole</state><origin>CreateRoute</origin></item>
        <item><destinationPrefixListId>pl-0123abcd</destinationPrefixListId><gatewayId>vpce-0123abcd</gatewayId><state>active</state><origin>CreateRoute</origin></item>
        <item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><natGatewayId>nat-0123abcd</natGatewayId><state>active</state><origin>CreateRoute</origin></item>
      </routeSet>
      <associationSet>
        <item><routeTableAssociationId>rtbassoc-1</routeTableAssociationId><routeTableId>rtb-0123abcd</routeTableId><main>true</main></item>
        <item><routeTableAssociationId>rtbassoc-2</routeTableAssociationId><routeTableId>rtb-0123abcd</routeTableId><subnetId>subnet-0123abcd</subnetId><main>false</main></item>
      </associationSet>
    </item>
    <item>
      <routeTableId>rtb-4567abcd</routeTableId>
      <vpcId>vpc-0123abcd</vpcId>
      <routeSet/>
      <associationSet/>
    </item>
  </routeTableSet>
</DescribeRouteTablesResponse>`

// The valid seed must go all the way through conversion, so that the
// fuzzer starts from inputs that reach convertTables.
func TestDescribeRouteTablesConverts(t *testing.T) {
	r, h := newRoutes(200, []byte(describeOK))
	tables, err := r.Tables(context.Background(), []string{"rtb-0123abcd", "rtb-4567abcd"})
	require.NoError(t, err)
	assert.Equal(t, "DescribeRouteTables", h.Form().Get("Action"))
	assert.Equal(t, "rtb-0123abcd", h.Form().Get("RouteTableId.1"))
	assert.Equal(t, "rtb-4567abcd", h.Form().Get("RouteTableId.2"))
	require.Len(t, tables, 2)
	t0 := tables[0]
	assert.Equal(t, "rtb-0123abcd", t0.ID)
	assert.Equal(t, "vpc-0123abcd", t0.VPCID)
	assert.Equal(t, []agent.Route{
		{Destination: netip.MustParsePrefix("10.0.0.0/16"), Gateway: "local"},
		{Destination: netip.MustParsePrefix("192.0.2.10/32"), InstanceID: "i-0123abcd", ENI: "eni-0123abcd"},
		{Destination: netip.MustParsePrefix("2001:db8::10/128"), ENI: "eni-4567abcd", Blackhole: true},
		{Destination: netip.MustParsePrefix("0.0.0.0/0"), Gateway: "nat-0123abcd"},
	}, t0.Routes, "the prefix-list route is skipped")
	assert.Equal(t, agent.Table{ID: "rtb-4567abcd", VPCID: "vpc-0123abcd"}, tables[1])
}

// FuzzDescribeRouteTables feeds arbitrary bytes as the HTTP body of a
// DescribeRouteTables answer (status 200 or 500) to the real SDK client
// and the adapter. It must never panic; it returns an *agent.APIError or
// tables that include the requested one, whose routes have valid, masked
// destinations.
func FuzzDescribeRouteTables(f *testing.F) {
	f.Add(true, []byte(describeOK))
	f.Add(false, []byte(`<Response><Errors><Error><Code>InternalError</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>`))
	f.Add(true, []byte(""))
	f.Fuzz(func(t *testing.T, ok bool, body []byte) {
		status := 500
		if ok {
			status = 200
		}
		r, h := newRoutes(status, body)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tables, err := r.Tables(ctx, []string{"rtb-0123abcd"})
		if h.Calls() != 1 {
			t.Fatalf("%d HTTP attempts, want 1", h.Calls())
		}
		if err != nil {
			if tables != nil {
				t.Fatalf("tables and error: %v", err)
			}
			var ae *agent.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not an *agent.APIError: %v", err, err)
			}
			if ae.Op != "DescribeRouteTables" || err.Error() == "" {
				t.Fatalf("error without operation: %#v", ae)
			}
			return
		}
		if status != 200 {
			t.Fatalf("status %d gave no error", status)
		}
		if tables == nil {
			t.Fatal("no tables and no error")
		}
		// An answer without the requested table is not EC2's: it must be
		// an error, never "the table does not exist" by omission.
		found := false
		for _, tb := range tables {
			found = found || tb.ID == "rtb-0123abcd"
		}
		if !found {
			t.Fatalf("success without the requested table: %+v", tables)
		}
		for _, tb := range tables {
			for _, rt := range tb.Routes {
				if !rt.Destination.IsValid() || rt.Destination.Masked() != rt.Destination {
					t.Fatalf("route destination %v", rt.Destination)
				}
			}
		}
	})
}
