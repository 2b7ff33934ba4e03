package awsec2

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/suzlab/routeha/agent"
)

// LoadOptions say which of the SDK's settings the resource overrides.
type LoadOptions struct {
	// Profile is the profile parameter; empty: the SDK's choice
	// (AWS_PROFILE, AWS_DEFAULT_PROFILE, default).
	Profile string
	// Region is the region parameter; empty: the SDK's (AWS_REGION, the
	// profile's region), else the caller's fallback (the instance's).
	Region string
	// InstanceProfile uses only the instance profile's credentials
	// (auth_type=role), ignoring the environment and shared files.
	InstanceProfile bool
	// SessionName names the sessions of a role the profile assumes when
	// the profile does not name them (role_session_name).
	SessionName string
	// AttemptTimeout bounds one HTTP attempt, so that one hung connection
	// cannot eat the whole action; retries continue until the deadline.
	AttemptTimeout time.Duration
	// IMDSHTTP is the HTTP client of the instance metadata service (the
	// token cache); nil: the SDK's.
	IMDSHTTP aws.HTTPClient
}

// Config is the SDK's configuration of this process (config.
// LoadDefaultConfig: environment, shared config and credentials files,
// credential chain), with routeha's HTTP client, and the IMDS client
// built from it.
type Config struct {
	aws  aws.Config
	imds *imds.Client
	// credentials are the configured credentials, named for errors.
	credentials aws.CredentialsProvider
	// personal is true when the configuration depends on SessionName (a
	// profile that assumes a role without naming its sessions).
	personal bool
}

// Load reads the AWS configuration as the SDK does. Nothing here makes a
// request: credentials are fetched on the first call that needs them,
// within its context. A profile that does not exist is an error of kind
// agent.KindConfig that names it.
func Load(ctx context.Context, o LoadOptions) (*Config, error) {
	c := &Config{}
	// The instance profile's IMDS client is built from the loaded
	// configuration (endpoint and mode settings), after the load that
	// needs a client to hand to the provider.
	viaIMDS := &lazyIMDS{}
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(newHTTPClient(o.AttemptTimeout)),
		config.WithEC2RoleCredentialOptions(func(eo *ec2rolecreds.Options) { eo.Client = viaIMDS }),
		config.WithAssumeRoleCredentialOptions(func(ao *stscreds.AssumeRoleOptions) {
			if ao.RoleSessionName == "" && o.SessionName != "" {
				ao.RoleSessionName = o.SessionName
				c.personal = true
			}
		}),
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.InstanceProfile {
		opts = append(opts, config.WithCredentialsProvider(aws.NewCredentialsCache(
			ec2rolecreds.New(func(eo *ec2rolecreds.Options) { eo.Client = viaIMDS }))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var missing config.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			return nil, &agent.APIError{Kind: agent.KindConfig, Op: "AWS configuration", Err: message{
				text: fmt.Sprintf("profile %q is not in the shared config or credentials file; check profile", missing.Profile), err: err}}
		}
		return nil, &agent.APIError{Kind: agent.KindOther, Op: "AWS configuration", Err: err}
	}
	c.aws = cfg
	c.imds = imds.NewFromConfig(cfg, func(mo *imds.Options) {
		if o.IMDSHTTP != nil {
			mo.HTTPClient = o.IMDSHTTP
		}
	})
	viaIMDS.client = c.imds
	c.credentials = named(credentialSource(cfg), cfg.Credentials)
	return c, nil
}

// IMDS is the instance metadata service's client, configured as the SDK
// configures it (AWS_EC2_METADATA_SERVICE_ENDPOINT, ..._ENDPOINT_MODE,
// AWS_EC2_METADATA_DISABLED and their shared config keys).
func (c *Config) IMDS() *imds.Client { return c.imds }

// Region is the configured region (parameter, environment or profile);
// empty when none is.
func (c *Config) Region() string { return c.aws.Region }

// Personal says whether the configuration holds SessionName, so that a
// caller with another session name must load its own.
func (c *Config) Personal() bool { return c.personal }

// lazyIMDS hands the instance profile provider the IMDS client once the
// configuration it is built from is loaded.
type lazyIMDS struct{ client *imds.Client }

func (l *lazyIMDS) GetMetadata(ctx context.Context, in *imds.GetMetadataInput, opts ...func(*imds.Options)) (*imds.GetMetadataOutput, error) {
	if l.client == nil {
		return nil, errors.New("the instance metadata client is not configured yet")
	}
	return l.client.GetMetadata(ctx, in, opts...)
}

// credentialSource names what the SDK resolved the credentials from, for
// errors ("no AWS credentials from the instance profile: ...").
func credentialSource(cfg aws.Config) string {
	var sources []aws.CredentialSource
	if ps, ok := cfg.Credentials.(aws.CredentialProviderSource); ok {
		sources = ps.ProviderSources()
	}
	if len(sources) == 0 {
		return "the AWS configuration"
	}
	switch sources[len(sources)-1] {
	case aws.CredentialSourceIMDS:
		return "the instance profile"
	case aws.CredentialSourceHTTP:
		return "the container credentials endpoint"
	case aws.CredentialSourceProcess, aws.CredentialSourceProfileProcess:
		return "credential_process"
	case aws.CredentialSourceSSO, aws.CredentialSourceProfileSSO, aws.CredentialSourceSSOLegacy, aws.CredentialSourceProfileSSOLegacy:
		return "single sign-on"
	case aws.CredentialSourceLogin, aws.CredentialSourceProfileLogin:
		return "the aws login session"
	case aws.CredentialSourceSTSAssumeRoleWebID, aws.CredentialSourceEnvVarsSTSWebIDToken, aws.CredentialSourceProfileSTSWebIDToken:
		return "web identity"
	case aws.CredentialSourceSTSAssumeRole:
		for _, s := range cfg.ConfigSources {
			if sc, ok := s.(config.SharedConfig); ok && sc.RoleARN != "" {
				return "role " + roleName(sc.RoleARN)
			}
		}
		return "an assumed role"
	}
	return "static keys"
}

func roleName(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// newHTTPClient bounds every phase of one attempt. The SDK's
// configuration adds the roots of a CA bundle (AWS_CA_BUNDLE or
// ca_bundle) to it, for sites whose proxy or VPC endpoint presents a
// private CA.
func newHTTPClient(attempt time.Duration) *awshttp.BuildableClient {
	if attempt <= 0 {
		attempt = 5 * time.Second
	}
	return awshttp.NewBuildableClient().
		WithTimeout(attempt).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = attempt }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = attempt
			tr.ResponseHeaderTimeout = attempt
			tr.MaxIdleConnsPerHost = 64
			// HTTP/1.1 only, as the AWS CLI: an action makes a request
			// or two, and setting up the HTTP/2 transport cost more
			// than a monitor's request itself.
			tr.ForceAttemptHTTP2 = false
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		})
}

// CredentialsError is a failure to obtain credentials. It is kept apart
// from the API call it stopped, so that the exit reason says "no
// credentials from the instance profile (HTTP 404)" rather than
// "DescribeRouteTables HTTP 404", which would send the operator to EC2.
type CredentialsError struct {
	Source string // "the instance profile", "role NAME", "credential_process"
	Err    error
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("no AWS credentials from %s: %v", e.Source, e.Err)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// namedProvider marks its provider's failures as a CredentialsError.
type namedProvider struct {
	source string
	next   aws.CredentialsProvider
}

func named(source string, next aws.CredentialsProvider) aws.CredentialsProvider {
	if next == nil {
		return nil
	}
	return namedProvider{source: source, next: next}
}

func (n namedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := n.next.Retrieve(ctx)
	if err != nil {
		return c, &CredentialsError{Source: n.source, Err: err}
	}
	return c, nil
}
