package awsec2

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
)

const describeOK = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <routeTableSet>
    <item>
      <routeTableId>rtb-0123456789abcdef0</routeTableId>
      <vpcId>vpc-01234567</vpcId>
      <routeSet>
        <item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state><origin>CreateRouteTable</origin></item>
        <item><destinationCidrBlock>192.0.2.10/32</destinationCidrBlock><instanceId>i-0aaaaaaaaaaaaaaa1</instanceId><networkInterfaceId>eni-0aaaaaaaaaaaaaaa1</networkInterfaceId><state>active</state><origin>CreateRoute</origin></item>
        <item><destinationCidrBlock>198.51.100.0/24</destinationCidrBlock><networkInterfaceId>eni-0dead</networkInterfaceId><state>blackhole</state><origin>CreateRoute</origin></item>
      </routeSet>
      <associationSet><item><main>true</main></item><item><subnetId>subnet-1</subnetId><main>false</main></item></associationSet>
    </item>
    <item><routeTableId>rtb-0fedcba9876543210</routeTableId><vpcId>vpc-01234567</vpcId><routeSet></routeSet></item>
  </routeTableSet>
</DescribeRouteTablesResponse>`

func ec2Error(code string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>` + code +
		`</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>`
}

// newTestClient points a client built by NewClient at a handler, with
// credentials from the environment and no shared config files of the host.
func newTestClient(t *testing.T, h http.HandlerFunc) *Routes {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	IsolateEnv(t, "AKIDTEST")
	cfg := LoadForTest(t, LoadOptions{AttemptTimeout: 500 * time.Millisecond})
	c, err := NewClient(context.Background(), cfg, Options{Region: "eu-west-1", Endpoint: srv.URL})
	require.NoError(t, err)
	return NewRoutes(c)
}

func TestTablesOneRequestForAllTables(t *testing.T) {
	var calls atomic.Int64
	var ids []string
	r := newTestClient(t, func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		_ = req.ParseForm()
		for k, v := range req.PostForm {
			if strings.HasPrefix(k, "RouteTableId.") {
				ids = append(ids, v...)
			}
		}
		_, _ = w.Write([]byte(describeOK))
	})
	tables, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), calls.Load())
	assert.ElementsMatch(t, []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"}, ids)
	require.Len(t, tables, 2)
	tb := tables[0]
	assert.Equal(t, "vpc-01234567", tb.VPCID)
	require.Len(t, tb.Routes, 3)
	assert.Equal(t, "local", tb.Routes[0].Gateway)
	assert.Equal(t, agent.Route{Destination: tb.Routes[1].Destination, InstanceID: "i-0aaaaaaaaaaaaaaa1", ENI: "eni-0aaaaaaaaaaaaaaa1"}, tb.Routes[1])
	assert.True(t, tb.Routes[2].Blackhole)
}

func TestThrottlingIsRetriedUntilSuccess(t *testing.T) {
	var calls atomic.Int64
	r := newTestClient(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 4 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(ec2Error("RequestLimitExceeded")))
			return
		}
		_, _ = w.Write([]byte(describeOK))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := r.Tables(ctx, []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	require.NoError(t, err)
	assert.Equal(t, int64(5), calls.Load(), "more attempts than the SDK's default of 3")
}

func TestEndlessThrottlingEndsAtTheDeadline(t *testing.T) {
	r := newTestClient(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(ec2Error("RequestLimitExceeded")))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Tables(ctx, []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "bounded by the context, not by a retry count")
	assert.Equal(t, agent.KindTransient, agent.KindOf(err))
}

func TestHungServerEndsAtTheDeadline(t *testing.T) {
	r := newTestClient(t, func(w http.ResponseWriter, req *http.Request) {
		// Read the body so the server notices the client hanging up.
		_, _ = io.Copy(io.Discard, req.Body)
		select {
		case <-req.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	_, err := r.Tables(ctx, []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	require.Error(t, err)
	require.Error(t, ctx.Err(), "returned only when the deadline came")
}

func TestHTMLErrorBodyIsClassified(t *testing.T) {
	var calls atomic.Int64
	r := newTestClient(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!doctype html><html><body><h1>Internal Server Error</h1></body></html>"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := r.Tables(ctx, []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	require.Error(t, err)
	assert.Greater(t, calls.Load(), int64(1), "a 500 is retried")
	k := agent.KindOf(err)
	assert.True(t, k == agent.KindTransient || k == agent.KindOther, "kind %v: %v", k, err)
}

func TestWriteShapesTheRequest(t *testing.T) {
	var form url.Values
	r := newTestClient(t, func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		form = req.PostForm
		_, _ = w.Write([]byte(`<ReplaceRouteResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><return>true</return></ReplaceRouteResponse>`))
	})
	err := r.Write(context.Background(), agent.Write{Table: "rtb-0123456789abcdef0", Destination: mustPrefix("2001:db8::10/128"), Target: agent.Target{ENI: "eni-0aaaaaaaaaaaaaaa1"}})
	require.NoError(t, err)
	assert.Equal(t, "ReplaceRoute", form.Get("Action"))
	assert.Equal(t, "2001:db8::10/128", form.Get("DestinationIpv6CidrBlock"))
	assert.Empty(t, form.Get("DestinationCidrBlock"))
	assert.Equal(t, "eni-0aaaaaaaaaaaaaaa1", form.Get("NetworkInterfaceId"))
	assert.Empty(t, form.Get("InstanceId"))
}

func TestDryRunAnswers(t *testing.T) {
	for code, want := range map[string]agent.ErrorKind{"DryRunOperation": -1, "UnauthorizedOperation": agent.KindDenied} {
		r := newTestClient(t, func(w http.ResponseWriter, req *http.Request) {
			_ = req.ParseForm()
			assert.Equal(t, "true", req.PostForm.Get("DryRun"))
			w.WriteHeader(http.StatusPreconditionFailed)
			_, _ = w.Write([]byte(ec2Error(code)))
		})
		err := r.Write(context.Background(), agent.Write{Table: "rtb-0123456789abcdef0", Destination: mustPrefix("192.0.2.10/32"), Target: agent.Target{InstanceID: "i-0aaaaaaaaaaaaaaa1"}, Create: true, DryRun: true})
		if want < 0 {
			assert.NoError(t, err, code)
		} else {
			assert.Equal(t, want, agent.KindOf(err), code)
		}
	}
}
