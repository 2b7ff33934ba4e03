package awsec2

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// Options say how one action reaches EC2.
type Options struct {
	// Region is used when the configuration names none (the instance's
	// own, from its identity).
	Region string
	// Endpoint is the endpoint parameter; empty: the SDK's
	// (AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, the profile's services,
	// else AWS's own for the region).
	Endpoint string
	// Role is a role ARN assumed for the EC2 calls (routing_table_role).
	Role string
	// SessionName names the session of Role (CloudTrail shows it).
	SessionName string
	// Attempts, when set, records what the retries saw.
	Attempts *Attempts
	// Requests bounds the requests the client makes over all its calls
	// (retries included); 0: only the context's deadline does. An
	// assumed role's STS calls have a budget of their own, as large.
	Requests int
	// MaxBackoff caps the wait between two attempts; 0: defaultMaxBackoff.
	MaxBackoff time.Duration
}

// Client is the SDK's EC2 client with routeha's retry budget, answer
// checks and clock-skew bookkeeping.
type Client struct {
	ec2      *ec2.Client
	attempts *Attempts
	// skew is how far the services' clock was found ahead of this one
	// (nanoseconds) when a request refused for it was signed again.
	skew *atomic.Int64
}

// NewClient builds an EC2 client on the loaded configuration whose
// retries (throttling, 5xx, timeouts, dropped connections, answers that
// are not EC2's) go on until the caller's context ends or the budget is
// spent, with the SDK standard retryer's jittered back-off and without its
// client-side retry quota, which would give up early under sustained
// throttling. Nothing here makes a request.
func NewClient(_ context.Context, c *Config, o Options) (*Client, error) {
	skew := &atomic.Int64{}
	return newClient(c.aws, c.credentials, o, skew), nil
}

func newClient(cfg aws.Config, creds aws.CredentialsProvider, o Options, skew *atomic.Int64) *Client {
	httpClient := detachedBody{next: cfg.HTTPClient}
	apply := func(region *string, retryer *aws.Retryer, maxAttempts *int, api *[]func(*middleware.Stack) error) {
		if *region == "" {
			*region = o.Region
		}
		*retryer = newRetryer(o.Requests, o.MaxBackoff, o.Attempts, skew)
		// Set here, AWS_MAX_ATTEMPTS cannot shorten a start.
		*maxAttempts = unboundedAttempts
		*api = append(*api, addAnswerCheck)
	}
	if o.Role != "" {
		stsClient := sts.NewFromConfig(cfg, func(so *sts.Options) {
			so.Credentials = creds
			so.HTTPClient = httpClient
			apply(&so.Region, &so.Retryer, &so.RetryMaxAttempts, &so.APIOptions)
		})
		name := o.SessionName
		if name == "" {
			name = "routeha"
		}
		creds = named("role "+roleName(o.Role), aws.NewCredentialsCache(
			stscreds.NewAssumeRoleProvider(stsClient, o.Role, func(ao *stscreds.AssumeRoleOptions) { ao.RoleSessionName = name })))
	}
	client := ec2.NewFromConfig(cfg, func(eo *ec2.Options) {
		eo.Credentials = creds
		if o.Endpoint != "" {
			eo.BaseEndpoint = aws.String(o.Endpoint)
		}
		eo.HTTPClient = httpClient
		apply(&eo.Region, &eo.Retryer, &eo.RetryMaxAttempts, &eo.APIOptions)
	})
	return &Client{ec2: client, attempts: o.Attempts, skew: skew}
}

// ClockSkew is how far EC2's clock is ahead of this machine's, as its
// answers showed (negative: behind); zero unless a request was refused for
// it and signed again with the service's time.
func (c *Client) ClockSkew() time.Duration { return time.Duration(c.skew.Load()) }

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
