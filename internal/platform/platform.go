// Package platform wires routeha's real adapters (EC2 through
// aws-sdk-go-v2, IMDSv2, netlink) into agent.Adapters.
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

// Identity returns the IMDS identity, cached per resource in HA_RSCTMP.
func (p *Platform) Identity(cfg *agent.Config) agent.Identity {
	return imdsid.New(p.imds(cfg), imdsid.CachePath(cfg.RscTmp, cfg.Resource), p.assetTag)
}

// Routes returns the EC2 adapter, in the configured region or this
// instance's own.
func (p *Platform) Routes(ctx context.Context, cfg *agent.Config, self agent.Self) (agent.Routes, error) {
	region := cfg.Region
	if region == "" {
		region = self.Region
	}
	attempts := &awsec2.Attempts{}
	client, err := awsec2.NewClient(ctx, awsec2.Options{
		Attempts:        attempts,
		Region:          region,
		Profile:         cfg.Profile,
		Endpoint:        cfg.Endpoint,
		InstanceProfile: cfg.AuthType == metadata.AuthRole,
		Role:            cfg.Role,
		IMDS:            p.imds(cfg),
		AttemptTimeout:  attemptTimeout(ctx),
		SessionName:     "routeha-" + self.InstanceID,
		Getenv:          p.getenv,
	})
	if err != nil {
		return nil, err
	}
	return awsec2.NewObserved(client, attempts), nil
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
