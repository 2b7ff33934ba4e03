// Package platform wires routeha's real adapters (EC2 and STS through
// internal/awsec2, IMDSv2 through the SDK's imds client, netlink) into
// agent.Adapters.
package platform

import (
	"context"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/awsec2"
	"github.com/suzlab/routeha/internal/imdsid"
	"github.com/suzlab/routeha/internal/netvip"
	"github.com/suzlab/routeha/metadata"
)

// AssetTagPath is where Nitro instances expose their instance id.
const AssetTagPath = "/sys/devices/virtual/dmi/id/board_asset_tag"

// Platform implements agent.Adapters on a real EC2 instance.
type Platform struct {
	getenv   func(string) string
	assetTag string
}

// New returns the real adapters; getenv reads the process environment
// (os.Getenv), passed in so that nothing here reads globals.
func New(getenv func(string) string) *Platform {
	return &Platform{getenv: getenv, assetTag: AssetTagPath}
}

var _ agent.Adapters = (*Platform)(nil)

// imds returns an IMDS client whose session token is reused across
// actions from a 0600 file in HA_RSCTMP.
func (p *Platform) imds(cfg *agent.Config) *imds.Client {
	return imds.New(imds.Options{
		// Empty means the SDK's default address, 169.254.169.254.
		Endpoint:   p.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
		HTTPClient: imdsid.NewTokenCache(awshttp.NewBuildableClient(), imdsid.TokenPath(cfg.RscTmp)),
	})
}

// Identity returns the IMDS identity, cached per resource in HA_RSCTMP,
// with one DescribeInstances in the configured region as the fallback for
// a Nitro instance whose IMDS fails.
func (p *Platform) Identity(cfg *agent.Config) agent.Identity {
	id := imdsid.New(p.imds(cfg), imdsid.CachePath(cfg.RscTmp, cfg.Resource), p.assetTag)
	return id.WithFallback(cfg.Region, func(ctx context.Context, region, instanceID string) (agent.Self, error) {
		// The instance's own credentials and account, never
		// routing_table_role: that role is for the route tables' account
		// (a shared VPC), which need not see this instance.
		o := p.ec2Options(ctx, cfg, region)
		client, err := awsec2.NewClient(ctx, o)
		if err != nil {
			return agent.Self{}, err
		}
		return awsec2.Instance(ctx, client, o.Attempts, region, instanceID)
	})
}

// Routes returns the EC2 adapter, in the configured region or this
// instance's own.
func (p *Platform) Routes(ctx context.Context, cfg *agent.Config, self agent.Self, budget agent.Budget) (agent.Routes, error) {
	region := cfg.Region
	if region == "" {
		region = self.Region
	}
	o := p.ec2Options(ctx, cfg, region)
	o.Role = cfg.Role
	o.Requests, o.MaxBackoff = budget.Requests, budget.MaxBackoff
	o.SessionName = "routeha-" + self.InstanceID
	client, err := awsec2.NewClient(ctx, o)
	if err != nil {
		return nil, err
	}
	return awsec2.NewObserved(client, o.Attempts), nil
}

// ec2Options are how this instance reaches EC2 with its own credentials
// (no role), in region, recording what the retries see.
func (p *Platform) ec2Options(ctx context.Context, cfg *agent.Config, region string) awsec2.Options {
	return awsec2.Options{
		Attempts:        &awsec2.Attempts{},
		Region:          region,
		Profile:         cfg.Profile,
		Endpoint:        cfg.Endpoint,
		InstanceProfile: cfg.AuthType == metadata.AuthRole,
		IMDS:            p.imds(cfg),
		AttemptTimeout:  attemptTimeout(ctx),
		Getenv:          p.getenv,
	}
}

// VIP returns the netlink adapter.
func (p *Platform) VIP() agent.VIP { return netvip.New() }

// attemptTimeout gives one HTTP attempt a quarter of what is left of the
// action, between 1 and 10 seconds, leaving room for retries.
func attemptTimeout(ctx context.Context) time.Duration {
	d := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl) / 4
	}
	switch {
	case d < time.Second:
		return time.Second
	case d > 10*time.Second:
		return 10 * time.Second
	}
	return d
}
