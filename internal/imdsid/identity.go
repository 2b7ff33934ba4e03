// Package imdsid is the identity adapter: who this instance is, from the
// EC2 instance metadata service (IMDSv2), cached per resource so that a
// steady-state monitor asks IMDS nothing.
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
	"syscall"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/suzlab/routeha/agent"
)

// Identity implements agent.Identity.
type Identity struct {
	client *imds.Client
	// cachePath is the per-resource cache file; empty disables caching.
	cachePath string
	// assetTag is the DMI file where Nitro instances keep their instance
	// id; a cache whose instance id differs from it is stale (an AMI
	// made from this instance, say, or a moved root volume).
	assetTag string
}

// New returns the identity adapter.
func New(client *imds.Client, cachePath, assetTag string) *Identity {
	return &Identity{client: client, cachePath: cachePath, assetTag: assetTag}
}

var _ agent.Identity = (*Identity)(nil)

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

// cacheVersion changes whenever the cached fields change meaning.
const cacheVersion = 1

type cached struct {
	Version int        `json:"version"`
	Self    agent.Self `json:"self"`
}

// Self returns this instance's identity, from the cache when it is there
// and still matches the hardware's asset tag, else from IMDS.
func (id *Identity) Self(ctx context.Context) (agent.Self, error) {
	tag := readAssetTag(id.assetTag)
	if s, ok := id.load(); ok && (tag == "" || tag == s.InstanceID) {
		return s, nil
	}
	s, err := id.fetch(ctx)
	if err != nil {
		return agent.Self{}, err
	}
	if tag != "" && tag != s.InstanceID {
		return agent.Self{}, fmt.Errorf("IMDS says this is %s but the DMI asset tag says %s", s.InstanceID, tag)
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

// load reads the cache without following a symlink planted in its place.
func (id *Identity) load() (agent.Self, bool) {
	if id.cachePath == "" {
		return agent.Self{}, false
	}
	f, err := os.OpenFile(id.cachePath, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return agent.Self{}, false
	}
	defer f.Close()
	var c cached
	if err := json.NewDecoder(io.LimitReader(f, 1<<16)).Decode(&c); err != nil || c.Version != cacheVersion || c.Self.InstanceID == "" {
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
		_ = writePrivate(id.cachePath, b)
	}
}
