package awsconf

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// site is a node's environment and shared files, in a temporary directory.
type site struct {
	env map[string]string
}

func newSite(t *testing.T, config, credentials string) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{env: map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"HOME":                        dir,
	}}
	if config != "" {
		require.NoError(t, os.WriteFile(s.env["AWS_CONFIG_FILE"], []byte(config), 0o600))
	}
	if credentials != "" {
		require.NoError(t, os.WriteFile(s.env["AWS_SHARED_CREDENTIALS_FILE"], []byte(credentials), 0o600))
	}
	return s
}

func (s *site) getenv(k string) string { return s.env[k] }

func (s *site) load(t *testing.T, profile string) *Settings {
	t.Helper()
	got, err := Load(s.getenv, profile)
	require.NoError(t, err)
	return got
}

func TestNothingConfiguredIsTheInstanceProfile(t *testing.T) {
	got := newSite(t, "", "").load(t, "")
	assert.Equal(t, "default", got.Profile)
	assert.Equal(t, Credentials{Kind: InstanceProfile}, got.Credentials)
	assert.Empty(t, got.Endpoint("ec2"))
	assert.False(t, got.UseFIPS)

	// profile=default, the value aws-vpc-move-ip configurations carry,
	// means the same when there is no default profile.
	assert.Equal(t, Credentials{Kind: InstanceProfile}, newSite(t, "", "").load(t, "default").Credentials)
}

func TestEnvironmentKeysBeatTheDefaultProfileButNotANamedOne(t *testing.T) {
	s := newSite(t, "", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file\n[ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops\n")
	s.env["AWS_ACCESS_KEY_ID"], s.env["AWS_SECRET_ACCESS_KEY"], s.env["AWS_SESSION_TOKEN"] = "AKIAENV", "env", "tok"

	got := s.load(t, "")
	assert.Equal(t, Static, got.Credentials.Kind)
	assert.Equal(t, Keys{AccessKeyID: "AKIAENV", SecretAccessKey: "env", SessionToken: "tok", Origin: "the environment"}, got.Credentials.Keys)

	s.env["AWS_PROFILE"] = "ops"
	assert.Equal(t, "AKIAENV", s.load(t, "").Credentials.Keys.AccessKeyID, "AWS_PROFILE does not beat keys in the environment")

	got = s.load(t, "ops")
	assert.Equal(t, "AKIAOPS", got.Credentials.Keys.AccessKeyID, "the profile parameter does")
	assert.Equal(t, `profile "ops"`, got.Credentials.Keys.Origin)

	delete(s.env, "AWS_ACCESS_KEY_ID")
	assert.Equal(t, "AKIAOPS", s.load(t, "").Credentials.Keys.AccessKeyID, "AWS_PROFILE picks the profile")
}

func TestCredentialsFileWinsOverConfigFile(t *testing.T) {
	s := newSite(t,
		"# the site's config\n[profile cluster]\nregion = eu-west-1\naws_access_key_id = AKIACONFIG\naws_secret_access_key = fromconfig\n",
		"[cluster]\naws_access_key_id = AKIACREDS ; a comment\n")
	got := s.load(t, "cluster")
	assert.Equal(t, "AKIACREDS", got.Credentials.Keys.AccessKeyID)
	assert.Equal(t, "fromconfig", got.Credentials.Keys.SecretAccessKey, "keys merge per key")
}

func TestRoleChains(t *testing.T) {
	s := newSite(t, `
[profile base]
aws_access_key_id = AKIABASE
aws_secret_access_key = base

[profile ops]
role_arn = arn:aws:iam::111111111111:role/ops
source_profile = base
external_id = ext-1
role_session_name = node-a
duration_seconds = 1800

[profile shared-vpc]
role_arn = arn:aws:iam::222222222222:role/routes
source_profile = ops

[profile self]
aws_access_key_id = AKIASELF
aws_secret_access_key = self
role_arn = arn:aws:iam::111111111111:role/self
source_profile = self

[profile metadata]
role_arn = arn:aws:iam::111111111111:role/meta
credential_source = Ec2InstanceMetadata
`, "")
	got := s.load(t, "shared-vpc").Credentials
	assert.Equal(t, Static, got.Kind)
	assert.Equal(t, "AKIABASE", got.Keys.AccessKeyID)
	assert.Equal(t, []Role{
		{ARN: "arn:aws:iam::111111111111:role/ops", ExternalID: "ext-1", SessionName: "node-a", Duration: 30 * time.Minute},
		{ARN: "arn:aws:iam::222222222222:role/routes"},
	}, got.Roles, "assumed in order, source first")

	got = s.load(t, "self").Credentials
	assert.Equal(t, "AKIASELF", got.Keys.AccessKeyID)
	assert.Equal(t, []Role{{ARN: "arn:aws:iam::111111111111:role/self"}}, got.Roles)

	got = s.load(t, "metadata").Credentials
	assert.Equal(t, InstanceProfile, got.Kind)
	assert.Equal(t, []Role{{ARN: "arn:aws:iam::111111111111:role/meta"}}, got.Roles)
}

func TestCredentialProcess(t *testing.T) {
	got := newSite(t, "[default]\ncredential_process = /usr/local/bin/vault-aws --role ha\n", "").load(t, "").Credentials
	assert.Equal(t, Credentials{Kind: Process, Command: "/usr/local/bin/vault-aws --role ha"}, got)
}

func TestRefusals(t *testing.T) {
	config := `
[profile loop-a]
role_arn = arn:aws:iam::1:role/a
source_profile = loop-b
[profile loop-b]
role_arn = arn:aws:iam::1:role/b
source_profile = loop-a
[profile sso]
sso_session = corp
sso_account_id = 111111111111
[profile mfa]
role_arn = arn:aws:iam::1:role/a
source_profile = keys
mfa_serial = arn:aws:iam::1:mfa/op
[profile keys]
aws_access_key_id = AKIA
aws_secret_access_key = s
[profile orphan-role]
role_arn = arn:aws:iam::1:role/a
[profile empty-source]
role_arn = arn:aws:iam::1:role/a
source_profile = nothing
[profile nothing]
region = eu-west-1
[profile ecs]
role_arn = arn:aws:iam::1:role/a
credential_source = EcsContainer
[profile bad-duration]
role_arn = arn:aws:iam::1:role/a
source_profile = keys
duration_seconds = 60
[profile bad-fips]
use_fips_endpoint = yes
`
	for _, tc := range []struct {
		profile, want string
		unsupported   bool
	}{
		{"missing", `AWS profile "missing" is in neither`, false},
		{"loop-a", "loops back through loop-a → loop-b", false},
		{"sso", "single sign-on is not supported", true},
		{"mfa", "an agent cannot type an MFA code", true},
		{"orphan-role", "role_arn without source_profile or credential_source", false},
		{"empty-source", `"nothing", the source_profile of "empty-source", has no credentials`, false},
		{"ecs", "EcsContainer is not supported", true},
		{"bad-duration", "900 to 43200", false},
		{"bad-fips", `use_fips_endpoint = "yes" is neither true nor false`, false},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			_, err := Load(newSite(t, config, "").getenv, tc.profile)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, tc.unsupported, errors.Is(err, ErrUnsupported))
		})
	}

	s := newSite(t, "", "")
	s.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/token"
	_, err := Load(s.getenv, "")
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestEndpointPrecedence(t *testing.T) {
	config := `
[default]
endpoint_url = https://global.file.example
services = local
ca_bundle = /etc/ssl/corp.pem
use_fips_endpoint = true
use_dualstack_endpoint = false

[services local]
ec2 =
  endpoint_url = https://ec2.file.example
`
	s := newSite(t, config, "")
	got := s.load(t, "")
	assert.Equal(t, "https://ec2.file.example", got.Endpoint("ec2"), "the service's own setting first")
	assert.Equal(t, "https://global.file.example", got.Endpoint("sts"), "then the profile's global one")
	assert.Equal(t, "/etc/ssl/corp.pem", got.CABundle)
	assert.True(t, got.UseFIPS)
	assert.False(t, got.UseDualStack)

	s.env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1"
	got = s.load(t, "")
	assert.Equal(t, "https://ec2.file.example", got.Endpoint("ec2"))
	assert.Equal(t, "http://127.0.0.1:1", got.Endpoint("sts"), "the global environment beats the global file setting")

	s.env["AWS_ENDPOINT_URL_EC2"] = "http://127.0.0.1:2"
	s.env["AWS_CA_BUNDLE"] = "/tmp/other.pem"
	s.env["AWS_USE_FIPS_ENDPOINT"] = "false"
	got = s.load(t, "")
	assert.Equal(t, "http://127.0.0.1:2", got.Endpoint("ec2"), "the environment beats the file")
	assert.Equal(t, "/tmp/other.pem", got.CABundle)
	assert.False(t, got.UseFIPS)

	s.env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
	got = s.load(t, "")
	assert.Empty(t, got.Endpoint("ec2"))
	assert.Empty(t, got.Endpoint("sts"))
}

func TestINIDialect(t *testing.T) {
	f, err := parseINI(strings.NewReader("top = ignored\r\n" +
		"; a comment\r\n" +
		"  # an indented comment\n" +
		"[ profile   spaced ] # header comment\n" +
		"Region: eu-west-1\n" +
		"aws_secret_access_key = \"quoted#value\"\n" +
		"note = a;b#c\n" +
		"s3 =\n" +
		"  max_concurrent_requests = 10\n" +
		"not a property\n"))
	require.NoError(t, err)
	sec := f["profile spaced"]
	require.NotNil(t, sec)
	assert.Equal(t, map[string]string{
		"region": "eu-west-1", "aws_secret_access_key": "quoted#value", "note": "a;b#c", "s3": "",
	}, sec.props, "keys lower-cased, quotes removed, # and ; kept inside values")
	assert.Equal(t, map[string]string{"max_concurrent_requests": "10"}, sec.sub["s3"])
	assert.Len(t, f, 1, "properties before any section belong to none")

	_, err = parseINI(strings.NewReader("[default\nregion = x\n"))
	assert.ErrorContains(t, err, "lacks its ]")
}

func TestUnreadableFileIsAnError(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads a 0000 file; a directory in the file's place is
		// unreadable for everyone.
		s := newSite(t, "", "")
		require.NoError(t, os.Mkdir(s.env["AWS_CONFIG_FILE"], 0o700))
		_, err := Load(s.getenv, "")
		require.Error(t, err)
		return
	}
	s := newSite(t, "[default]\n", "")
	require.NoError(t, os.Chmod(s.env["AWS_CONFIG_FILE"], 0))
	_, err := Load(s.getenv, "")
	require.Error(t, err)
}

func TestHomeWithoutHOME(t *testing.T) {
	u, err := user.Current()
	require.NoError(t, err)
	assert.Equal(t, u.HomeDir, homeDir(func(string) string { return "" }),
		"Pacemaker's execd may have no HOME; the password database's home is used, as the AWS CLI does")
	assert.Equal(t, "/x", homeDir(func(k string) string { return map[string]string{"HOME": "/x"}[k] }))
}
