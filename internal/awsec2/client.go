package awsec2

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
}

// NewClient builds an EC2 client whose retries (throttling, 5xx, timeouts,
// dropped connections) go on until the caller's context ends, with
// exponential back-off and jitter, and without the SDK's client-side retry
// quota, which would give up early under sustained throttling.
func NewClient(ctx context.Context, o Options) (*ec2.Client, error) {
	attempt := o.AttemptTimeout
	if attempt <= 0 {
		attempt = 5 * time.Second
	}
	// The SDK's buildable client, so that a ca_bundle / AWS_CA_BUNDLE
	// setting can still add its roots to the transport.
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(attempt).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = attempt }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = attempt
			tr.ResponseHeaderTimeout = attempt
			tr.MaxIdleConnsPerHost = 64
		})
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
	loads := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(retryer),
	}
	if o.Region != "" {
		loads = append(loads, config.WithRegion(o.Region))
	}
	if o.Profile != "" && !o.InstanceProfile {
		loads = append(loads, config.WithSharedConfigProfile(o.Profile))
	}
	if o.InstanceProfile {
		loads = append(loads, config.WithCredentialsProvider(aws.NewCredentialsCache(
			ec2rolecreds.New(func(eo *ec2rolecreds.Options) { eo.Client = o.IMDS }))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if o.Role != "" {
		// The STS client inherits the region and the STS endpoint
		// (AWS_ENDPOINT_URL_STS), which aws-vpc-move-ip loses here.
		stsClient := sts.NewFromConfig(cfg)
		name := o.SessionName
		if name == "" {
			name = "routeha"
		}
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, o.Role,
			func(ao *stscreds.AssumeRoleOptions) { ao.RoleSessionName = name }))
	}
	return ec2.NewFromConfig(cfg, func(eo *ec2.Options) {
		if o.Endpoint != "" {
			eo.BaseEndpoint = aws.String(o.Endpoint)
		}
	}), nil
}
