package awsec2

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/test/ec2emu"
)

// TestProfileRoleChainReachesEC2 runs a shared-config role chain (keys in
// one profile, role_arn with source_profile in another, then
// routing_table_role on top) against the emulator's STS stand-in, and
// checks who the emulator saw at each step.
func TestProfileRoleChainReachesEC2(t *testing.T) {
	emu := ec2emu.New(nil)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	const opsRole = "arn:aws:iam::111111111111:role/ops"
	const routesRole = "arn:aws:iam::222222222222:role/routes"

	IsolateEnv(t, "AKIAENV") // not used: a named profile wins over keys in the environment
	config := os.Getenv("AWS_CONFIG_FILE")
	require.NoError(t, os.WriteFile(config, []byte(`
[profile base]
aws_access_key_id = AKIABASE
aws_secret_access_key = base
[profile ops]
role_arn = `+opsRole+`
source_profile = base
external_id = ext-1
duration_seconds = 1800
services = emu
[services emu]
sts =
  endpoint_url = `+srv.URL+`
`), 0o600))
	emu.SetRoleMode(routesRole)
	cfg := LoadForTest(t, LoadOptions{Profile: "ops", Region: ec2emu.DefaultRegion, SessionName: "routeha-i-0test"})
	assert.True(t, cfg.Personal(), "the profile's role takes the session name")
	client, err := NewClient(context.Background(), cfg, Options{Endpoint: srv.URL, Role: routesRole, SessionName: "routeha-i-0test"})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	routes := NewRoutes(client)
	_, err = routes.Tables(ctx, []string{ec2emu.FixtureRouteTable1})
	require.NoError(t, err)
	// In role mode the emulator refuses route writes not made with the
	// role's temporary credentials.
	err = routes.Write(ctx, agent.Write{Table: ec2emu.FixtureRouteTable1, Create: true,
		Destination: netip.MustParsePrefix("198.51.100.0/24"), Target: agent.Target{InstanceID: ec2emu.FixtureInstanceA}})
	require.NoError(t, err)

	var assumes []ec2emu.LogEntry
	var describe ec2emu.LogEntry
	for _, e := range emu.Log() {
		switch e.Action {
		case "AssumeRole":
			assumes = append(assumes, e)
		case "DescribeRouteTables":
			describe = e
		}
	}
	require.Len(t, assumes, 2, "one AssumeRole per role, once per client")
	assert.Equal(t, "AKIABASE", assumes[0].Principal, "the source profile's keys assume the profile's role")
	assert.Equal(t, opsRole, assumes[0].Params["RoleArn"])
	assert.Equal(t, "ext-1", assumes[0].Params["ExternalId"])
	assert.Equal(t, "1800", assumes[0].Params["DurationSeconds"])
	assert.Equal(t, "routeha-i-0test", assumes[0].Params["RoleSessionName"])
	role, ok := emu.RoleOf(assumes[1].Principal)
	require.True(t, ok, "routing_table_role is assumed with the profile role's credentials")
	assert.Equal(t, opsRole, role)
	assert.Equal(t, routesRole, assumes[1].Params["RoleArn"])
	assert.Equal(t, "routeha-i-0test", assumes[1].Params["RoleSessionName"])
	role, ok = emu.RoleOf(describe.Principal)
	require.True(t, ok)
	assert.Equal(t, routesRole, role, "EC2 is called as routing_table_role")
}

// A profile that does not exist is a configuration error that names it
// (the agent exits 6), not a generic failure.
func TestMissingProfileIsAConfigurationError(t *testing.T) {
	IsolateEnv(t, "AKIATEST")
	_, err := Load(context.Background(), LoadOptions{Profile: "cluster"})
	var ae *agent.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, agent.KindConfig, ae.Kind)
	assert.Contains(t, err.Error(), `profile "cluster"`)

	// AWS_PROFILE naming a missing profile is the same mistake.
	t.Setenv("AWS_PROFILE", "gone")
	_, err = Load(context.Background(), LoadOptions{})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, agent.KindConfig, ae.Kind)
	assert.Contains(t, err.Error(), `profile "gone"`)
}

// Single sign-on is the SDK's now: a profile using it loads, and a
// session that was never started is named as the credentials' failure,
// without a request to anything.
func TestSSOProfileIsTheSDKs(t *testing.T) {
	IsolateEnv(t, "AKIATEST")
	t.Setenv("HOME", t.TempDir())
	require.NoError(t, os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(`
[profile corp]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ops
[sso-session corp]
sso_region = eu-west-1
sso_start_url = https://corp.awsapps.example/start
`), 0o600))
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	t.Cleanup(srv.Close)
	cfg := LoadForTest(t, LoadOptions{Profile: "corp", Region: "eu-west-1"})
	c, err := NewClient(context.Background(), cfg, Options{Endpoint: srv.URL, Requests: 1})
	require.NoError(t, err)
	_, err = NewRoutes(c).Tables(context.Background(), []string{"rtb-0123abcd"})
	var ae *agent.APIError
	require.ErrorAs(t, err, &ae)
	assert.Contains(t, ae.Code, "no credentials from single sign-on")
	assert.Zero(t, calls, "nothing unsigned reaches EC2")
}

// The SDK reads AWS_CA_BUNDLE (and ca_bundle): its roots are the ones an
// HTTPS endpoint is checked against; a bundle without a certificate is an
// error of the configuration.
func TestCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(describeOK))
	}))
	t.Cleanup(srv.Close)
	IsolateEnv(t, "AKIATEST")
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	require.NoError(t, os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	ids := []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"}

	// Without the bundle the test server's certificate is unknown, and
	// that is final: no retry mends it.
	c, err := NewClient(context.Background(), LoadForTest(t, LoadOptions{Region: "eu-west-1"}), Options{Endpoint: srv.URL})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = NewRoutes(c).Tables(ctx, ids)
	require.Error(t, err)
	require.NoError(t, ctx.Err(), "a certificate failure is not retried until the deadline")

	t.Setenv("AWS_CA_BUNDLE", bundle)
	c, err = NewClient(context.Background(), LoadForTest(t, LoadOptions{Region: "eu-west-1"}), Options{Endpoint: srv.URL})
	require.NoError(t, err)
	_, err = NewRoutes(c).Tables(ctx, ids)
	require.NoError(t, err, "the bundle's roots are trusted")

	require.NoError(t, os.WriteFile(bundle, []byte("not a certificate\n"), 0o600))
	_, err = Load(context.Background(), LoadOptions{Region: "eu-west-1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CA bundle")
}

// A role that IAM refuses to assume is a denial of the role, named as
// such, not of the EC2 call it stopped.
func TestRefusedAssumeRoleIsNamed(t *testing.T) {
	emu := ec2emu.New(nil)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.Deny(ec2emu.Deny{Principal: "*", Action: "AssumeRole"})
	IsolateEnv(t, "AKIABASE")
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	client, err := NewClient(context.Background(), LoadForTest(t, LoadOptions{}), Options{Region: ec2emu.DefaultRegion,
		Endpoint: srv.URL, Role: "arn:aws:iam::222222222222:role/routes"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = NewRoutes(client).Tables(ctx, []string{ec2emu.FixtureRouteTable1})
	var ae *agent.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, agent.KindDenied, ae.Kind)
	assert.Equal(t, "no credentials from role routes (AccessDenied)", ae.Code)
	assert.Zero(t, emu.Count("DescribeRouteTables"), "nothing unsigned reaches EC2")
	assert.Equal(t, 1, emu.Count("AssumeRole"), "a refusal is not retried")
}

// auth_type=role takes the instance profile's credentials only, from the
// IMDS the SDK's settings name, even with keys in the environment; its
// failures are named as the instance profile's.
func TestInstanceProfileOnly(t *testing.T) {
	IsolateEnv(t, "AKIAENV")
	imdsCalls := 0
	fakeIMDS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		imdsCalls++
		if r.Method == http.MethodPut {
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			_, _ = w.Write([]byte("token"))
			return
		}
		http.NotFound(w, r) // no role attached
	}))
	t.Cleanup(fakeIMDS.Close)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fakeIMDS.URL)
	ec2Calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ec2Calls++ }))
	t.Cleanup(srv.Close)
	cfg := LoadForTest(t, LoadOptions{Region: "eu-west-1", InstanceProfile: true})
	c, err := NewClient(context.Background(), cfg, Options{Endpoint: srv.URL, Requests: 1})
	require.NoError(t, err)
	_, err = NewRoutes(c).Tables(context.Background(), []string{"rtb-0123abcd"})
	var ae *agent.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "no credentials from the instance profile (HTTP 404)", ae.Code)
	assert.NotZero(t, imdsCalls, "asked the configured IMDS")
	assert.Zero(t, ec2Calls)
	var ce *CredentialsError
	assert.True(t, errors.As(err, &ce))
}
