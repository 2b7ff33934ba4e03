package awsec2

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/awsconf"
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

	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(config, []byte(`
[profile base]
aws_access_key_id = AKIABASE
aws_secret_access_key = base
[profile ops]
role_arn = `+opsRole+`
source_profile = base
external_id = ext-1
duration_seconds = 1800
[services emu]
sts =
  endpoint_url = `+srv.URL+`
[profile ops]
services = emu
`), 0o600))
	env := map[string]string{
		"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		// Not used: a named profile wins over keys in the environment.
		"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env",
	}
	emu.SetRoleMode(routesRole)
	client, err := NewClient(context.Background(), Options{
		Region: ec2emu.DefaultRegion, Profile: "ops", Endpoint: srv.URL, Role: routesRole,
		SessionName: "routeha-i-0test", AttemptTimeout: time.Second,
		Getenv: func(k string) string { return env[k] },
	})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	routes := New(client)
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
	role, ok = emu.RoleOf(describe.Principal)
	require.True(t, ok)
	assert.Equal(t, routesRole, role, "EC2 is called as routing_table_role")
}

func TestUnsupportedProfileIsAConfigurationError(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(config, []byte("[profile corp]\nsso_session = corp\n"), 0o600))
	env := map[string]string{"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none")}
	_, err := NewClient(context.Background(), Options{Region: "eu-west-1", Profile: "corp", Getenv: func(k string) string { return env[k] }})
	require.ErrorIs(t, err, awsconf.ErrUnsupported)
	assert.Contains(t, err.Error(), "AWS configuration")
}

func TestCABundleMustHoldACertificate(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	require.NoError(t, os.WriteFile(bundle, []byte("not a certificate\n"), 0o600))
	env := map[string]string{"AWS_CA_BUNDLE": bundle, "AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none")}
	getenv := func(k string) string { return env[k] }
	_, err := NewClient(context.Background(), Options{Region: "eu-west-1", Getenv: getenv})
	require.ErrorContains(t, err, "holds no PEM certificate", "AWS's own endpoints are HTTPS")

	// An http:// endpoint never reads the bundle.
	_, err = NewClient(context.Background(), Options{Region: "eu-west-1", Endpoint: "http://127.0.0.1:1", Getenv: getenv})
	require.NoError(t, err)
	// Unless a role is assumed at an HTTPS STS.
	_, err = NewClient(context.Background(), Options{Region: "eu-west-1", Endpoint: "http://127.0.0.1:1",
		Role: "arn:aws:iam::111111111111:role/r", Getenv: getenv})
	require.ErrorContains(t, err, "holds no PEM certificate")
}

// A role that IAM refuses to assume is a denial of the role, named as
// such, not of the EC2 call it stopped.
func TestRefusedAssumeRoleIsNamed(t *testing.T) {
	emu := ec2emu.New(nil)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.Deny(ec2emu.Deny{Principal: "*", Action: "AssumeRole"})
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIABASE", "AWS_SECRET_ACCESS_KEY": "s",
		"AWS_ENDPOINT_URL_STS": srv.URL, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
	client, err := NewClient(context.Background(), Options{Region: ec2emu.DefaultRegion, Endpoint: srv.URL,
		Role: "arn:aws:iam::222222222222:role/routes", Getenv: func(k string) string { return env[k] }})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = New(client).Tables(ctx, []string{ec2emu.FixtureRouteTable1})
	var ae *agent.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, agent.KindDenied, ae.Kind)
	assert.Equal(t, "no credentials from role routes (AccessDenied)", ae.Code)
	assert.Zero(t, emu.Count("DescribeRouteTables"), "nothing unsigned reaches EC2")
}
