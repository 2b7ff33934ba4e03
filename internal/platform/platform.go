// Package platform wires routeha's real adapters (EC2 and STS through
// internal/awsec2 on aws-sdk-go-v2, IMDSv2 through the SDK's imds client,
// netlink) into agent.Adapters.
package platform

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/awsec2"
	"github.com/suzlab/routeha/internal/imdsid"
	"github.com/suzlab/routeha/internal/netvip"
)

// AssetTagPath is where Nitro instances expose their instance id.
const AssetTagPath = "/sys/devices/virtual/dmi/id/board_asset_tag"

// Platform implements agent.Adapters on a real EC2 instance. One process
// runs one action, so it loads the AWS configuration once and keeps it.
type Platform struct {
	assetTag string

	mu     sync.Mutex
	loaded *awsec2.Config
	// loadedFor is the session name the configuration was loaded with.
	loadedFor string
}

// New returns the real adapters. The AWS settings come from the process
// environment and the shared files, as the SDK reads them.
func New() *Platform {
	return &Platform{assetTag: AssetTagPath}
}

var _ agent.Adapters = (*Platform)(nil)

// aws returns the SDK's configuration of this process, loaded on first
// use; sessionName names the sessions of a role the profile assumes, so a
// configuration that holds another name is loaded again.
func (p *Platform) aws(ctx context.Context, cfg *agent.Config, sessionName string) (*awsec2.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.loaded != nil && (!p.loaded.Personal() || p.loadedFor == sessionName || sessionName == "") {
		return p.loaded, nil
	}
	c, err := awsec2.Load(ctx, awsec2.LoadOptions{
		Profile:         cfg.Profile,
		Region:          cfg.Region,
		InstanceProfile: cfg.AuthType == agent.AuthRole,
		SessionName:     sessionName,
		AttemptTimeout:  attemptTimeout(ctx),
		// The IMDSv2 session token is reused across actions from a
		// 0600 file in HA_RSCTMP.
		IMDSHTTP: imdsid.NewTokenCache(awshttp.NewBuildableClient(), imdsid.TokenPath(cfg.RscTmp)),
	})
	if err != nil {
		return nil, err
	}
	p.loaded, p.loadedFor = c, sessionName
	return c, nil
}

// Identity returns the IMDS identity, cached per resource in HA_RSCTMP,
// with one DescribeInstances in the configured region as the fallback for
// a Nitro instance whose IMDS fails. The AWS configuration is loaded only
// when the cache cannot answer.
func (p *Platform) Identity(cfg *agent.Config) agent.Identity {
	id := imdsid.New(&lazyIMDS{p: p, cfg: cfg}, imdsid.CachePath(cfg.RscTmp, cfg.Resource), p.assetTag)
	return id.WithFallback(cfg.Region, func(ctx context.Context, region, instanceID string) (agent.Self, error) {
		// The instance's own credentials and account, never
		// routing_table_role: that role is for the route tables' account
		// (a shared VPC), which need not see this instance.
		c, err := p.aws(ctx, cfg, sessionName(instanceID))
		if err != nil {
			return agent.Self{}, err
		}
		client, err := awsec2.NewClient(ctx, c, awsec2.Options{Region: region, Endpoint: cfg.Endpoint, Attempts: &awsec2.Attempts{}})
		if err != nil {
			return agent.Self{}, err
		}
		return awsec2.Instance(ctx, client, region, instanceID)
	})
}

// lazyIMDS is the SDK's IMDS client of the loaded configuration, loading
// it on the first request.
type lazyIMDS struct {
	p   *Platform
	cfg *agent.Config
}

func (l *lazyIMDS) client(ctx context.Context) (*imds.Client, error) {
	c, err := l.p.aws(ctx, l.cfg, "")
	if err != nil {
		return nil, err
	}
	if c.IMDS() == nil {
		return nil, errors.New("no instance metadata client")
	}
	return c.IMDS(), nil
}

func (l *lazyIMDS) GetInstanceIdentityDocument(ctx context.Context, in *imds.GetInstanceIdentityDocumentInput, opts ...func(*imds.Options)) (*imds.GetInstanceIdentityDocumentOutput, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.GetInstanceIdentityDocument(ctx, in, opts...)
}

func (l *lazyIMDS) GetMetadata(ctx context.Context, in *imds.GetMetadataInput, opts ...func(*imds.Options)) (*imds.GetMetadataOutput, error) {
	c, err := l.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.GetMetadata(ctx, in, opts...)
}

// Routes returns the EC2 adapter, in the configured region (parameter,
// environment or profile) or else this instance's own.
func (p *Platform) Routes(ctx context.Context, cfg *agent.Config, self agent.Self, budget agent.Budget) (agent.Routes, error) {
	c, err := p.aws(ctx, cfg, sessionName(self.InstanceID))
	if err != nil {
		return nil, err
	}
	options := func(role string) awsec2.Options {
		return awsec2.Options{
			Region:      self.Region,
			Endpoint:    cfg.Endpoint,
			Role:        role,
			SessionName: sessionName(self.InstanceID),
			Attempts:    &awsec2.Attempts{},
			Requests:    budget.Requests,
			MaxBackoff:  budget.MaxBackoff,
		}
	}
	client, err := awsec2.NewClient(ctx, c, options(cfg.Role))
	if err != nil {
		return nil, err
	}
	routes := awsec2.NewRoutes(client)
	if cfg.Role == "" {
		return routes, nil
	}
	// routing_table_role is for the route tables' account (a shared VPC);
	// this instance's ENIs belong to its own account, as in Identity's
	// fallback: those calls keep the instance's own credentials.
	own, err := awsec2.NewClient(ctx, c, options(""))
	if err != nil {
		return nil, err
	}
	return routes.WithInstanceClient(own), nil
}

// sessionName names the STS sessions of this instance (CloudTrail shows
// it).
func sessionName(instanceID string) string { return "routeha-" + instanceID }

// VIP returns the netlink adapter.
func (p *Platform) VIP() agent.VIP { return netvip.New() }

// Host returns the node's root file system, read-only.
func (p *Platform) Host() fs.FS { return os.DirFS("/") }

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
