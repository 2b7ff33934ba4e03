package awsec2

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

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
	// Requests bounds the requests the client makes over all its calls
	// (retries included); 0: only the context's deadline does.
	Requests int
	// MaxBackoff caps the wait between two attempts; 0: defaultMaxBackoff.
	MaxBackoff time.Duration
}

// NewClient builds an EC2 client whose retries (throttling, 5xx, timeouts,
// dropped connections) go on until the caller's context ends, with the SDK
// standard retryer's jittered back-off, and without a client-side retry
// quota, which would give up early under sustained throttling.
//
// The settings come from internal/awsconf rather than the SDK's config
// package (see there why); nothing here makes a request: credentials are
// fetched on the first call that needs them, within its context.
func NewClient(_ context.Context, o Options) (*Client, error) {
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
	endpoint := func(service, override string) (string, error) {
		if override == "" {
			override = settings.Endpoint(service)
		}
		if override != "" {
			u, err := url.Parse(override)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return "", fmt.Errorf("%s endpoint %q is not an http:// or https:// URL", service, override)
			}
			return override, nil
		}
		return endpointFor(service, o.Region, settings.UseFIPS, settings.UseDualStack)
	}
	ec2Endpoint, err := endpoint("ec2", o.Endpoint)
	if err != nil {
		return nil, err
	}
	usesSTS := o.Role != "" || len(settings.Credentials.Roles) > 0
	stsEndpoint := ""
	if usesSTS {
		if stsEndpoint, err = endpoint("sts", ""); err != nil {
			return nil, err
		}
	}
	// A CA bundle matters only for HTTPS; parsing one costs more than the
	// rest of a monitor, so http:// endpoints (a local proxy, a test) do
	// not pay for it.
	caBundle := settings.CABundle
	if strings.HasPrefix(ec2Endpoint, "http://") && (!usesSTS || strings.HasPrefix(stsEndpoint, "http://")) {
		caBundle = ""
	}
	httpClient, err := newHTTPClient(o.AttemptTimeout, caBundle)
	if err != nil {
		return nil, err
	}
	signer := v4.NewSigner()
	client := func(service, version, endpoint string, creds aws.CredentialsProvider) *Client {
		c := &Client{service: service, version: version, endpoint: endpoint, region: o.Region,
			creds: creds, http: httpClient, signer: signer, attempts: o.Attempts, maxBackoff: o.MaxBackoff}
		if o.Requests > 0 {
			c.budget = &atomic.Int64{}
			c.budget.Store(int64(o.Requests))
		}
		return c
	}
	// Assumed roles reach STS with the same region, endpoint settings,
	// transport and retries as EC2 (aws-vpc-move-ip loses its region here).
	assume := func(base aws.CredentialsProvider, role awsconf.Role) aws.CredentialsProvider {
		name := role.SessionName
		if name == "" {
			name = o.SessionName
		}
		if name == "" {
			name = "routeha"
		}
		return named("role "+role.ARN[strings.LastIndex(role.ARN, "/")+1:], aws.NewCredentialsCache(&assumeRole{
			sts: client("sts", stsVersion, stsEndpoint, base), arn: role.ARN, sessionName: name,
			externalID: role.ExternalID, duration: role.Duration,
		}))
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
	return client("ec2", ec2Version, ec2Endpoint, creds), nil
}

// newHTTPClient bounds every phase of one attempt, and trusts the roots of
// a CA bundle (AWS_CA_BUNDLE or ca_bundle), for sites whose proxy or VPC
// endpoint presents a private CA. As in the AWS CLI and SDKs, the bundle
// replaces the system's roots rather than adding to them.
func newHTTPClient(attempt time.Duration, caBundle string) (*http.Client, error) {
	if attempt <= 0 {
		attempt = 5 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: attempt, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   attempt,
		ResponseHeaderTimeout: attempt,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		// HTTP/1.1 only, as the AWS CLI: an action makes a request or
		// two, and setting up the HTTP/2 transport cost more than a
		// monitor's request itself.
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
		TLSClientConfig:   &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if caBundle != "" {
		pem, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", caBundle)
		}
		tr.TLSClientConfig.RootCAs = roots
	}
	return &http.Client{Transport: tr, Timeout: attempt}, nil
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
