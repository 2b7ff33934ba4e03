package awsec2

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/suzlab/routeha/test/ec2emu"
)

// BenchmarkMonitorRead is a monitor's EC2 work in one process: load the
// configuration, build the client, read n tables (one DescribeRouteTables
// against the emulator), as each monitor, a new process, does. For
// profiles: go test -run X -bench MonitorRead -cpuprofile cpu.out.
func BenchmarkMonitorRead(b *testing.B) {
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("tables=%d", n), func(b *testing.B) {
			st := ec2emu.StandardFixture()
			var ids []string
			for i := range n {
				id := fmt.Sprintf("rtb-%017x", i+1)
				ids = append(ids, id)
				st.RouteTables = append(st.RouteTables, ec2emu.RouteTable{ID: id, VPC: ec2emu.FixtureVPC, Routes: []ec2emu.Route{
					{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", Origin: "CreateRouteTable"},
					{DestinationCIDR: "0.0.0.0/0", GatewayID: ec2emu.FixtureIGW, Origin: "CreateRoute"},
					{DestinationCIDR: "192.0.2.10/32", InstanceID: ec2emu.FixtureInstanceB, NetworkInterfaceID: ec2emu.FixtureENIB, Origin: "CreateRoute"},
				}})
			}
			srv := httptest.NewServer(ec2emu.New(st))
			b.Cleanup(srv.Close)
			IsolateEnv(b, "AKIATEST")
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				cfg, err := Load(ctx, LoadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				c, err := NewClient(ctx, cfg, Options{Region: ec2emu.DefaultRegion, Endpoint: srv.URL, Requests: 3})
				if err != nil {
					b.Fatal(err)
				}
				tables, err := NewRoutes(c).Tables(ctx, ids)
				cancel()
				if err != nil || len(tables) != n {
					b.Fatal(err, len(tables))
				}
			}
		})
	}
}
