package imdsfake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/imdsfake"
)

func cfg() imdsfake.Config {
	return imdsfake.Config{
		InstanceID: "i-0aaaaaaaaaaaaaaa1", Region: "eu-west-1", AZ: "eu-west-1a",
		Interfaces: []imdsfake.Interface{
			{MAC: "02:00:00:00:00:a9", ENI: "eni-0aaaaaaaaaaaaaaa9", DeviceIndex: 1, VPC: "vpc-1", Subnet: "subnet-1", IP: "10.0.1.99"},
			{MAC: "02:00:00:00:00:a1", ENI: "eni-0aaaaaaaaaaaaaaa1", DeviceIndex: 0, VPC: "vpc-1", Subnet: "subnet-1", IP: "10.0.1.10"},
		},
	}
}

func meta(t *testing.T, c *imds.Client, path string) string {
	t.Helper()
	out, err := c.GetMetadata(context.Background(), &imds.GetMetadataInput{Path: path})
	require.NoError(t, err, path)
	defer out.Content.Close()
	b, err := io.ReadAll(out.Content)
	require.NoError(t, err)
	return string(b)
}

func TestSDK(t *testing.T) {
	s := imdsfake.New(cfg())
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := imds.New(imds.Options{Endpoint: srv.URL})
	ctx := context.Background()

	reg, err := c.GetRegion(ctx, &imds.GetRegionInput{})
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", reg.Region)
	doc, err := c.GetInstanceIdentityDocument(ctx, &imds.GetInstanceIdentityDocumentInput{})
	require.NoError(t, err)
	assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", doc.InstanceID)
	assert.Equal(t, "eu-west-1a", doc.AvailabilityZone)
	assert.Equal(t, "123456789012", doc.AccountID)
	assert.Equal(t, "10.0.1.10", doc.PrivateIP)

	assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", meta(t, c, "instance-id"))
	assert.Equal(t, "eu-west-1", meta(t, c, "placement/region"))
	assert.Equal(t, "eu-west-1a", meta(t, c, "placement/availability-zone"))
	assert.Equal(t, "02:00:00:00:00:a1", meta(t, c, "mac"))
	assert.Equal(t, "02:00:00:00:00:a1/\n02:00:00:00:00:a9/", meta(t, c, "network/interfaces/macs/"))
	base := "network/interfaces/macs/02:00:00:00:00:a9/"
	assert.Equal(t, "eni-0aaaaaaaaaaaaaaa9", meta(t, c, base+"interface-id"))
	assert.Equal(t, "1", meta(t, c, base+"device-number"))
	assert.Equal(t, "vpc-1", meta(t, c, base+"vpc-id"))
	assert.Equal(t, "subnet-1", meta(t, c, base+"subnet-id"))
	assert.Equal(t, "10.0.1.99", meta(t, c, base+"local-ipv4s"))
	assert.Equal(t, "02:00:00:00:00:a9", meta(t, c, base+"mac"))
	_, err = c.GetMetadata(ctx, &imds.GetMetadataInput{Path: "nope"})
	assert.Error(t, err)

	counts := s.Counts()
	assert.Equal(t, 1, counts[imdsfake.TokenPath], "the SDK caches its token")
	assert.Equal(t, 1, counts["/latest/meta-data/instance-id"])
	assert.Equal(t, 2, counts["/latest/dynamic/instance-identity/document"])
	s.Reset()
	assert.Empty(t, s.Counts())

	// Expired tokens: the SDK gets a 401 and fetches a new token.
	s.ExpireTokens()
	assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", meta(t, c, "instance-id"))
	assert.Equal(t, 1, s.Counts()[imdsfake.TokenPath])
}

func TestIMDSv1Off(t *testing.T) {
	s := imdsfake.New(cfg())
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/latest/meta-data/instance-id")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)

	// A token with ttl 1 s expires.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "1")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/latest/meta-data/instance-id", nil)
		req.Header.Set("X-aws-ec2-metadata-token", string(tok))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, get())
	time.Sleep(1100 * time.Millisecond)
	assert.Equal(t, 401, get())
}

func TestFaultsAndAdmin(t *testing.T) {
	s := imdsfake.New(cfg())
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx := context.Background()
	c := imds.New(imds.Options{Endpoint: srv.URL, Retryer: aws.NopRetryer{}})

	post := func(path, body string) {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	}
	post("/_imds/fault", `{"down":true}`)
	_, err := c.GetRegion(ctx, &imds.GetRegionInput{})
	assert.Error(t, err)
	post("/_imds/fault", `{"down":true,"close":true}`)
	_, err = c.GetRegion(ctx, &imds.GetRegionInput{})
	assert.Error(t, err)
	post("/_imds/fault", `{"latency":"5s"}`)
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start := time.Now()
	_, err = c.GetRegion(cctx, &imds.GetRegionInput{})
	cancel()
	assert.Error(t, err)
	assert.Less(t, time.Since(start), 3*time.Second)
	post("/_imds/fault", `{}`)
	// After a failed token fetch the SDK tries IMDSv1 once, gets 401 and
	// re-enables tokens: a client with retries recovers.
	_, err = c.GetRegion(ctx, &imds.GetRegionInput{})
	assert.Error(t, err)
	_, err = c.GetRegion(ctx, &imds.GetRegionInput{})
	require.NoError(t, err)
	_, err = imds.New(imds.Options{Endpoint: srv.URL}).GetRegion(ctx, &imds.GetRegionInput{})
	require.NoError(t, err)

	resp, err := http.Get(srv.URL + "/_imds/counts")
	require.NoError(t, err)
	var counts map[string]int
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&counts))
	resp.Body.Close()
	assert.Positive(t, counts[imdsfake.TokenPath])
	post("/_imds/reset", "")
	assert.Zero(t, s.Total())
}
