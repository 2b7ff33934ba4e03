// Package imdsid is the identity adapter: who this instance is, from the
// EC2 instance metadata service (IMDSv2), cached per resource so that a
// steady-state monitor asks IMDS nothing. Where IMDS fails (sites that
// disable it) on a Nitro instance, whose DMI asset tag names it, a
// fallback (the EC2 API, wired by the caller) describes it instead.
package imdsid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/rsctmp"
)

// Metadata is what Identity asks of the SDK's IMDS client (*imds.Client).
type Metadata interface {
	GetInstanceIdentityDocument(context.Context, *imds.GetInstanceIdentityDocumentInput, ...func(*imds.Options)) (*imds.GetInstanceIdentityDocumentOutput, error)
	GetMetadata(context.Context, *imds.GetMetadataInput, ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// Identity implements agent.Identity.
type Identity struct {
	client Metadata
	// cachePath is the per-resource cache file; empty disables caching.
	cachePath string
	// assetTag is the DMI file where Nitro instances keep their instance
	// id; a cache whose instance id differs from it is stale (an AMI
	// made from this instance, say, or a moved root volume).
	assetTag string
	// region and describe are the fallback (WithFallback); describe nil:
	// none.
	region   string
	describe Describe
	// warnings are what the operator should hear about the last call
	// (a cache ignored, and why); see Warnings.
	warnings []string
}

// Warnings returns what the last Self or VerifiedSelf found worth telling
// the operator, such as a cache file it did not believe (agent.Warner).
func (id *Identity) Warnings() []string { return id.warnings }

func (id *Identity) warnf(format string, args ...any) {
	id.warnings = append(id.warnings, fmt.Sprintf(format, args...))
}

// New returns the identity adapter.
func New(client Metadata, cachePath, assetTag string) *Identity {
	return &Identity{client: client, cachePath: cachePath, assetTag: assetTag}
}

// Describe builds this instance's identity from something other than IMDS
// (the EC2 API's DescribeInstances), given the region to ask in and the
// instance id, which only the instance itself knows.
type Describe func(ctx context.Context, region, instanceID string) (agent.Self, error)

// WithFallback returns a copy of id that, when IMDS fails on a Nitro
// instance (one whose DMI asset tag holds its instance id), builds the
// identity with describe in region instead, and caches it like one from
// IMDS. region is the configured one, "" when unset: the fallback cannot
// guess it (IMDS is what would have told it), so the error then says that
// setting it lets routeha run without IMDS.
func (id *Identity) WithFallback(region string, describe Describe) *Identity {
	c := *id
	c.region, c.describe = region, describe
	return &c
}

var (
	_ agent.Identity         = (*Identity)(nil)
	_ agent.IdentityVerifier = (*Identity)(nil)
	_ agent.Warner           = (*Identity)(nil)
)

// CachePath is where the identity of a resource is cached.
func CachePath(rscTmp, resource string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, resource)
	return filepath.Join(rscTmp, "routeha-"+safe+".identity")
}

// TokenPath is where the IMDSv2 token is kept between actions. It is per
// node, not per resource: every resource of the node may share it.
func TokenPath(rscTmp string) string { return filepath.Join(rscTmp, "routeha.imds-token") }

// cacheVersion changes whenever the cached fields change meaning (2: the
// ENIs' MAC addresses, to find the ENI behind a real NIC).
const cacheVersion = 2

type cached struct {
	Version int        `json:"version"`
	Self    agent.Self `json:"self"`
}

// Self returns this instance's identity, from the cache when it is there,
// is a private file of this user and still matches the hardware's asset
// tag, else from IMDS, else (IMDS failing, a fallback set, the asset tag
// naming the instance) from the fallback. IMDS comes first because it is
// local and free, and needs no IAM permission. It makes no request when
// the cache is good: a steady monitor asks IMDS nothing.
func (id *Identity) Self(ctx context.Context) (agent.Self, error) {
	return id.self(ctx, false)
}

// VerifiedSelf is Self for an action that acts on the identity (start
// points the routes at it). The cache is keyed to the instance: with the
// Nitro asset tag, by the tag, at no cost; without one (a Xen instance),
// by the instance id IMDS reports, one small request, bounded by
// verifyTimeout. A cache of another instance (a copied disk, a directory
// shared by mistake) is ignored with a warning. When IMDS cannot answer in
// time, the cache is used: it is this user's private file, and nothing
// contradicts it.
func (id *Identity) VerifiedSelf(ctx context.Context) (agent.Self, error) {
	return id.self(ctx, true)
}

// verifyTimeout bounds VerifiedSelf's request for the instance id.
const verifyTimeout = time.Second

func (id *Identity) self(ctx context.Context, verify bool) (agent.Self, error) {
	id.warnings = nil
	tag := readAssetTag(id.assetTag)
	if s, ok := id.load(); ok {
		switch {
		case tag != "" && tag == s.InstanceID:
			return s, nil
		case tag != "":
			id.warnf("ignoring the identity cache %s: it names %s, but this instance is %s by its DMI asset tag", id.cachePath, s.InstanceID, tag)
		case !verify:
			return s, nil
		default:
			vctx, cancel := context.WithTimeout(ctx, verifyTimeout)
			iid, err := id.get(vctx, "instance-id")
			cancel()
			if err != nil || iid == s.InstanceID {
				return s, nil
			}
			id.warnf("ignoring the identity cache %s: it names %s, but IMDS says this instance is %s", id.cachePath, s.InstanceID, iid)
		}
	}
	imdsCtx := ctx
	if tag != "" && id.region != "" && id.describe != nil {
		// Only when a fallback could follow does IMDS get less than
		// everything: without one, there is nothing to keep time for.
		var cancel context.CancelFunc
		imdsCtx, cancel = context.WithTimeout(ctx, imdsShare(ctx))
		defer cancel()
	}
	s, err := id.fetch(imdsCtx)
	if err != nil {
		return id.fallback(ctx, tag, err)
	}
	if tag != "" && tag != s.InstanceID {
		return agent.Self{}, fmt.Errorf("IMDS says this is %s but the DMI asset tag says %s", s.InstanceID, tag)
	}
	id.store(s)
	return s, nil
}

// noDeadlineShare bounds IMDS before a fallback when the caller set no
// deadline (OCF actions always have one).
const noDeadlineShare = 10 * time.Second

// imdsShare is how much of what is left of the action IMDS may take when
// a fallback could follow it: a third. A healthy IMDS answers in
// milliseconds, so a third never slows it; one that is disabled, hung or
// slow must not eat the whole action, because after it the fallback's
// DescribeInstances and then the action's own work (start's reads, writes
// and read-back, each retried until the deadline) still need time, and
// those take more than IMDS ever should.
func imdsShare(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl) / 3
	}
	return noDeadlineShare
}

// needRegion is the exit reason when IMDS failed on a Nitro instance and
// only the region parameter is missing for the fallback (under the 127
// bytes Pacemaker keeps).
const needRegion = "the instance metadata service failed; setting region lets routeha run without it on this Nitro instance"

// fallback answers for a failed IMDS: the IMDS error itself when there is
// no fallback (no asset tag: not Nitro, or none wired), an error that
// names the missing region parameter, or the fallback's identity, cached.
func (id *Identity) fallback(ctx context.Context, tag string, imdsErr error) (agent.Self, error) {
	switch {
	case tag == "" || id.describe == nil:
		return agent.Self{}, imdsErr
	case id.region == "":
		return agent.Self{}, &agent.ReasonError{Reason: needRegion,
			Err: fmt.Errorf("IMDS failed and region is not set, so this instance (%s by its DMI asset tag) cannot describe itself through EC2 instead: %w", tag, imdsErr)}
	case ctx.Err() != nil:
		return agent.Self{}, imdsErr // no time left to try anything else
	}
	s, err := id.describe(ctx, id.region, tag)
	if err != nil {
		return agent.Self{}, fmt.Errorf("IMDS failed (%v), and describing %s in %s instead failed too: %w", imdsErr, tag, id.region, err)
	}
	if s.InstanceID != tag {
		return agent.Self{}, fmt.Errorf("IMDS failed (%v), and describing %s in %s gave instance %q instead", imdsErr, tag, id.region, s.InstanceID)
	}
	id.store(s)
	return s, nil
}

func readAssetTag(path string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	tag := strings.TrimSpace(string(b))
	if !strings.HasPrefix(tag, "i-") {
		return "" // not a Nitro instance (Xen, or not EC2 at all)
	}
	return tag
}

func (id *Identity) fetch(ctx context.Context) (agent.Self, error) {
	doc, err := id.client.GetInstanceIdentityDocument(ctx, &imds.GetInstanceIdentityDocumentInput{})
	if err != nil {
		return agent.Self{}, fmt.Errorf("instance identity document: %w", err)
	}
	s := agent.Self{InstanceID: doc.InstanceID, Region: doc.Region, AZ: doc.AvailabilityZone}
	if s.InstanceID == "" || s.Region == "" {
		return agent.Self{}, errors.New("instance identity document lacks instanceId or region")
	}
	primaryMAC, err := id.get(ctx, "mac")
	if err != nil {
		return agent.Self{}, err
	}
	list, err := id.get(ctx, "network/interfaces/macs/")
	if err != nil {
		return agent.Self{}, err
	}
	var macs []string
	for _, l := range strings.Fields(list) {
		macs = append(macs, strings.TrimSuffix(l, "/"))
	}
	type eni struct {
		mac    string
		id     string
		device int
		vpc    string
		err    error
	}
	enis := make([]eni, len(macs))
	var wg sync.WaitGroup
	for i, mac := range macs {
		wg.Add(1)
		go func(i int, mac string) {
			defer wg.Done()
			e := &enis[i]
			e.mac = mac
			base := "network/interfaces/macs/" + mac + "/"
			if e.id, e.err = id.get(ctx, base+"interface-id"); e.err != nil {
				return
			}
			if d, err := id.get(ctx, base+"device-number"); err == nil {
				e.device, _ = strconv.Atoi(d)
			}
			if mac == primaryMAC {
				e.vpc, _ = id.get(ctx, base+"vpc-id")
			}
		}(i, mac)
	}
	wg.Wait()
	sort.SliceStable(enis, func(a, b int) bool { return enis[a].device < enis[b].device })
	for _, e := range enis {
		if e.err != nil {
			return agent.Self{}, e.err
		}
		s.ENIs = append(s.ENIs, e.id)
		if s.MACs == nil {
			s.MACs = map[string]string{}
		}
		s.MACs[strings.ToLower(e.mac)] = e.id
		// The ENI of the instance's own MAC is the primary one.
		if e.mac == primaryMAC {
			s.PrimaryENI = e.id
			s.VPCID = e.vpc
		}
	}
	if s.PrimaryENI == "" {
		return agent.Self{}, fmt.Errorf("IMDS lists no network interface for MAC %s", primaryMAC)
	}
	return s, nil
}

func (id *Identity) get(ctx context.Context, path string) (string, error) {
	out, err := id.client.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", fmt.Errorf("IMDS %s: %w", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 1<<20))
	if err != nil {
		return "", fmt.Errorf("IMDS %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// load reads the cache, believing it only as a regular file of this user
// with mode 0600 (never through a symlink); a file that is there but not
// such is ignored with a warning.
func (id *Identity) load() (agent.Self, bool) {
	if id.cachePath == "" {
		return agent.Self{}, false
	}
	b, err := rsctmp.ReadPrivate(id.cachePath, 1<<16)
	if err != nil {
		if errors.Is(err, rsctmp.ErrUntrusted) {
			id.warnf("ignoring the identity cache: %v; asking the instance metadata service instead", err)
		}
		return agent.Self{}, false
	}
	var c cached
	if err := json.Unmarshal(b, &c); err != nil || c.Version != cacheVersion || c.Self.InstanceID == "" {
		return agent.Self{}, false
	}
	return c.Self, true
}

// store writes the cache atomically, mode 0600, never through a symlink.
func (id *Identity) store(s agent.Self) {
	if id.cachePath == "" {
		return
	}
	if b, err := json.Marshal(cached{Version: cacheVersion, Self: s}); err == nil {
		_ = rsctmp.WritePrivate(id.cachePath, b)
	}
}
