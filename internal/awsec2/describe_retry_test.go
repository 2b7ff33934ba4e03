package awsec2

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/ec2emu"
)

// TestOneRequestPerDescribe reads 50 tables, each time with a new client
// as each action is a new process, and wants no retry at all: a server
// that answers within microseconds used to race smithy-go closing the
// request body (see detachedBody), about one read in twenty here.
func TestOneRequestPerDescribe(t *testing.T) {
	st := ec2emu.StandardFixture()
	var ids []string
	for i := range 50 {
		id := fmt.Sprintf("rtb-%017x", i+1)
		ids = append(ids, id)
		st.RouteTables = append(st.RouteTables, ec2emu.RouteTable{ID: id, VPC: ec2emu.FixtureVPC, Routes: []ec2emu.Route{
			{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", Origin: "CreateRouteTable"},
			{DestinationCIDR: "192.0.2.10/32", InstanceID: ec2emu.FixtureInstanceB, NetworkInterfaceID: ec2emu.FixtureENIB, Origin: "CreateRoute"},
		}})
	}
	emu := ec2emu.New(st)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	IsolateEnv(t, "AKIATEST")
	const reads = 300
	retried := 0
	for range reads {
		a := &Attempts{}
		c, err := NewClient(context.Background(), LoadForTest(t, LoadOptions{}),
			Options{Region: ec2emu.DefaultRegion, Endpoint: srv.URL, Attempts: a})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		tables, err := NewRoutes(c).Tables(ctx, ids)
		cancel()
		require.NoError(t, err)
		require.Len(t, tables, 50)
		if a.retries > 0 {
			retried++
			t.Logf("retried: %v", a.last)
		}
	}
	assert.Zero(t, retried)
	assert.Equal(t, reads, emu.Count("DescribeRouteTables"))
}
