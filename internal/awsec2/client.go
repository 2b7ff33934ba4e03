package awsec2

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/suzlab/routeha/internal/awsconf"
)

// Options say how to reach EC2.
type Options struct {
	Region   string
	Profile  string // shared config profile; empty: the default chain
	Endpoint string // EC2 endpoint URL; empty: AWS_ENDPOINT_URL_EC2 or AWS's
	// InstanceProfile uses only the instance profile's credentials
	// (auth_type=role), ignoring the environment and shared files.
	InstanceProfile bool
	// Role is a role ARN assumed for the EC2 calls (routing_table_role).
	Role string
	// IMDS is the client for instance-profile credentials.
	IMDS *imds.Client
	// AttemptTimeout bounds one HTTP attempt, so that one hung connection
	// cannot eat the whole action; retries continue until the deadline.
	AttemptTimeout time.Duration
	// SessionName names assumed-role sessions (CloudTrail shows it).
	SessionName string
	// Attempts, when set, records what the retries saw.
	Attempts *Attempts
	// Getenv reads the environment; nil means the process's own.
	Getenv func(string) string
}

// NewClient builds an EC2 client whose retries (throttling, 5xx, timeouts,
// dropped connections) go on until the caller's context ends, with
// exponential back-off and jitter, and without the SDK's client-side retry
// quota, which would give up early under sustained throttling.
//
// The settings come from internal/awsconf rather than the SDK's config
// package (see there why); nothing here makes a request: credentials are
// fetched on the first call that needs them, within its context.
func NewClient(_ context.Context, o Options) (*ec2.Client, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	settings, err := awsconf.Load(getenv, o.Profile)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if o.InstanceProfile {
		settings.Credentials = awsconf.Credentials{Kind: awsconf.InstanceProfile}
	}
	retryer := func() aws.Retryer {
		r := retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 1 << 20 // the context's deadline is the bound
			so.MaxBackoff = 2 * time.Second
			so.RateLimiter = ratelimit.None
		})
		if o.Attempts != nil {
			return o.Attempts.observe(r)
		}
		return r
	}
	endpoints := func(service, override string) (*string, ec2.EndpointResolverOptions) {
		opts := ec2.EndpointResolverOptions{}
		if settings.UseFIPS {
			opts.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
		}
		if settings.UseDualStack {
			opts.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
		}
		if override == "" {
			override = settings.Endpoint(service)
		}
		if override == "" {
			return nil, opts
		}
		return aws.String(override), opts
	}
	// A CA bundle matters only for HTTPS; parsing one costs more than the
	// rest of a monitor, so an http:// endpoint (a local proxy, a test)
	// does not pay for it.
	caBundle := settings.CABundle
	if ep, _ := endpoints("ec2", o.Endpoint); ep != nil && strings.HasPrefix(*ep, "http://") {
		stsEP, _ := endpoints("sts", "")
		usesSTS := o.Role != "" || len(settings.Credentials.Roles) > 0
		if !usesSTS || (stsEP != nil && strings.HasPrefix(*stsEP, "http://")) {
			caBundle = ""
		}
	}
	transport, err := newHTTPClient(o.AttemptTimeout, caBundle)
	if err != nil {
		return nil, err
	}
	httpClient := detachedBody{next: transport}
	// Assumed roles reach STS with the same region, endpoint settings,
	// transport and retries as EC2 (aws-vpc-move-ip loses its region here).
	assume := func(base aws.CredentialsProvider, role awsconf.Role) aws.CredentialsProvider {
		endpoint, eo := endpoints("sts", "")
		client := sts.New(sts.Options{
			Region: o.Region, Credentials: base, HTTPClient: httpClient, Retryer: retryer(),
			BaseEndpoint: endpoint, EndpointOptions: sts.EndpointResolverOptions(eo),
		})
		name := role.SessionName
		if name == "" {
			name = o.SessionName
		}
		if name == "" {
			name = "routeha"
		}
		return named("role "+role.ARN[strings.LastIndex(role.ARN, "/")+1:], aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, role.ARN, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = name
			if role.ExternalID != "" {
				ao.ExternalID = aws.String(role.ExternalID)
			}
			if role.Duration > 0 {
				ao.Duration = role.Duration
			}
		})))
	}

	var creds aws.CredentialsProvider
	switch c := settings.Credentials; c.Kind {
	case awsconf.Static:
		creds = credentials.NewStaticCredentialsProvider(c.Keys.AccessKeyID, c.Keys.SecretAccessKey, c.Keys.SessionToken)
	case awsconf.Process:
		creds = named("credential_process", aws.NewCredentialsCache(processcreds.NewProvider(c.Command)))
	default:
		creds = named("the instance profile", aws.NewCredentialsCache(ec2rolecreds.New(func(eo *ec2rolecreds.Options) { eo.Client = o.IMDS })))
	}
	for _, role := range settings.Credentials.Roles {
		creds = assume(creds, role)
	}
	if o.Role != "" {
		creds = assume(creds, awsconf.Role{ARN: o.Role})
	}

	endpoint, eo := endpoints("ec2", o.Endpoint)
	return ec2.New(ec2.Options{
		Region:          o.Region,
		Credentials:     creds,
		HTTPClient:      httpClient,
		Retryer:         retryer(),
		BaseEndpoint:    endpoint,
		EndpointOptions: eo,
	}), nil
}

// newHTTPClient bounds every phase of one attempt, and trusts the roots of
// a CA bundle (AWS_CA_BUNDLE or ca_bundle), for sites whose proxy or VPC
// endpoint presents a private CA. As in the AWS CLI and SDKs, the bundle
// replaces the system's roots rather than adding to them.
func newHTTPClient(attempt time.Duration, caBundle string) (*awshttp.BuildableClient, error) {
	if attempt <= 0 {
		attempt = 5 * time.Second
	}
	var roots *x509.CertPool
	if caBundle != "" {
		pem, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", caBundle)
		}
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
			if roots != nil {
				if tr.TLSClientConfig == nil {
					tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
				}
				tr.TLSClientConfig.RootCAs = roots
			}
		}), nil
}

// detachedBody is an HTTP client that gives the transport its own copy of
// the request body. smithy-go closes the request's body as soon as the
// response headers arrive; when the server answers quickly (a VPC endpoint,
// the emulator), net/http's writer may not yet have made its last read of
// the body, which then fails, and the writer closes the connection under
// the response still being read: "use of closed network connection",
// retried by the SDK, so one monitor made two requests. EC2 Query bodies
// are a few kilobytes; copying them is cheap.
type detachedBody struct{ next aws.HTTPClient }

func (d detachedBody) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return d.next.Do(req)
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	_ = req.Body.Close()
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	req.ContentLength = int64(len(b))
	return d.next.Do(req)
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
	return namedProvider{source: source, next: next}
}

func (n namedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := n.next.Retrieve(ctx)
	if err != nil {
		return c, &CredentialsError{Source: n.source, Err: err}
	}
	return c, nil
}
