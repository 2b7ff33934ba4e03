package imdsid

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
)

// imdsServer is a minimal IMDSv2: a token is required for every GET.
func imdsServer(t *testing.T, paths map[string]string) (*httptest.Server, *atomic.Int64) {
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			_, _ = w.Write([]byte("token-abc"))
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != "token-abc" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		gets.Add(1)
		body, ok := paths[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &gets
}

func twoENIs() map[string]string {
	return map[string]string{
		"/latest/dynamic/instance-identity/document":                                `{"instanceId":"i-0aaaaaaaaaaaaaaa1","region":"eu-west-1","availabilityZone":"eu-west-1a","accountId":"123456789012"}`,
		"/latest/meta-data/mac":                                                     "02:00:00:00:00:01",
		"/latest/meta-data/network/interfaces/macs/":                                "02:00:00:00:00:02/\n02:00:00:00:00:01/",
		"/latest/meta-data/network/interfaces/macs/02:00:00:00:00:01/interface-id":  "eni-0aaaaaaaaaaaaaaa1",
		"/latest/meta-data/network/interfaces/macs/02:00:00:00:00:01/device-number": "0",
		"/latest/meta-data/network/interfaces/macs/02:00:00:00:00:01/vpc-id":        "vpc-01234567",
		"/latest/meta-data/network/interfaces/macs/02:00:00:00:00:02/interface-id":  "eni-0aaaaaaaaaaaaaaa2",
		"/latest/meta-data/network/interfaces/macs/02:00:00:00:00:02/device-number": "1",
		"/latest/meta-data/network/interfaces/macs/02:00:00:00:00:02/vpc-id":        "vpc-01234567",
	}
}

func TestSelfFromIMDSThenCache(t *testing.T) {
	srv, gets := imdsServer(t, twoENIs())
	cache := filepath.Join(t.TempDir(), "rsc", "routeha-vip.identity")
	id := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, "")
	s, err := id.Self(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", s.InstanceID)
	assert.Equal(t, "eu-west-1", s.Region)
	assert.Equal(t, "eu-west-1a", s.AZ)
	assert.Equal(t, "eni-0aaaaaaaaaaaaaaa1", s.PrimaryENI, "the ENI of the instance's own MAC")
	assert.Equal(t, []string{"eni-0aaaaaaaaaaaaaaa1", "eni-0aaaaaaaaaaaaaaa2"}, s.ENIs, "device order")
	assert.Equal(t, "vpc-01234567", s.VPCID)
	assert.Equal(t, map[string]string{"02:00:00:00:00:01": "eni-0aaaaaaaaaaaaaaa1", "02:00:00:00:00:02": "eni-0aaaaaaaaaaaaaaa2"},
		s.MACs, "each ENI by its MAC, to find the ENI behind a real NIC")

	fi, err := os.Lstat(cache)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// A second process (a new Identity) asks IMDS nothing.
	before := gets.Load()
	again, err := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, "").Self(context.Background())
	require.NoError(t, err)
	assert.Equal(t, s, again)
	assert.Equal(t, before, gets.Load())
}

// A cache written before the MACs were kept (version 1) is not used: it
// cannot tell the ENI behind a real NIC.
func TestCacheOfVersion1IsRefreshed(t *testing.T) {
	srv, gets := imdsServer(t, twoENIs())
	cache := filepath.Join(t.TempDir(), "routeha-vip.identity")
	require.NoError(t, os.WriteFile(cache, []byte(`{"version":1,"self":{"instance_id":"i-0aaaaaaaaaaaaaaa1","primary_eni":"eni-0aaaaaaaaaaaaaaa1"}}`), 0o600))
	s, err := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, "").Self(context.Background())
	require.NoError(t, err)
	assert.NotZero(t, gets.Load(), "IMDS was not asked")
	assert.Len(t, s.MACs, 2)
}

func TestCacheIsNotReadOrWrittenThroughSymlink(t *testing.T) {
	srv, gets := imdsServer(t, twoENIs())
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	require.NoError(t, os.WriteFile(target, []byte(`{"version":2,"self":{"instance_id":"i-0evil"}}`), 0o644))
	cache := filepath.Join(dir, "routeha-vip.identity")
	require.NoError(t, os.Symlink(target, cache))

	s, err := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, "").Self(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", s.InstanceID, "the planted file is not believed")
	assert.NotZero(t, gets.Load())
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Contains(t, string(b), "i-0evil", "the symlink's target is not overwritten")
}

func TestCacheRefreshedWhenAssetTagDiffers(t *testing.T) {
	srv, gets := imdsServer(t, twoENIs())
	dir := t.TempDir()
	cache := filepath.Join(dir, "routeha-vip.identity")
	tag := filepath.Join(dir, "board_asset_tag")
	require.NoError(t, os.WriteFile(cache, []byte(`{"version":2,"self":{"instance_id":"i-0old","primary_eni":"eni-0old"}}`), 0o600))
	require.NoError(t, os.WriteFile(tag, []byte("i-0aaaaaaaaaaaaaaa1\n"), 0o444))

	s, err := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, tag).Self(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", s.InstanceID)
	assert.NotZero(t, gets.Load())

	// With the cache now matching the tag, IMDS is not asked again.
	before := gets.Load()
	_, err = New(imds.New(imds.Options{Endpoint: srv.URL}), cache, tag).Self(context.Background())
	require.NoError(t, err)
	assert.Equal(t, before, gets.Load())
}

func TestIMDSDownIsAnErrorNotAPanic(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	srv.Close() // nothing listens any more
	ctx, cancel := context.WithTimeout(context.Background(), 3e9)
	defer cancel()
	_, err := New(imds.New(imds.Options{Endpoint: srv.URL}), "", "").Self(ctx)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "instance identity document"), err.Error())
}

func TestCachePathKeepsResourcesApart(t *testing.T) {
	assert.NotEqual(t, CachePath("/run/x", "vip1"), CachePath("/run/x", "vip2"))
	assert.Equal(t, "/run/x", filepath.Dir(CachePath("/run/x", "../../etc/passwd")), "no escape from HA_RSCTMP")
}

// fallbackRecorder is a Describe that records its calls.
type fallbackRecorder struct {
	self  agent.Self
	err   error
	calls []string // "region instance-id"
	left  []time.Duration
}

func (f *fallbackRecorder) describe(ctx context.Context, region, instanceID string) (agent.Self, error) {
	f.calls = append(f.calls, region+" "+instanceID)
	if dl, ok := ctx.Deadline(); ok {
		f.left = append(f.left, time.Until(dl))
	}
	return f.self, f.err
}

var nitroSelf = agent.Self{InstanceID: "i-0aaaaaaaaaaaaaaa1", Region: "eu-west-1", AZ: "eu-west-1a",
	PrimaryENI: "eni-0aaaaaaaaaaaaaaa1", ENIs: []string{"eni-0aaaaaaaaaaaaaaa1", "eni-0aaaaaaaaaaaaaaa2"}, VPCID: "vpc-01234567"}

// imdsUnavailable answers every request 503 and counts them.
func imdsUnavailable(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func assetTag(t *testing.T, id string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "board_asset_tag")
	require.NoError(t, os.WriteFile(p, []byte(id+"\n"), 0o444))
	return p
}

func TestIMDSDownNitroFallbackIsCached(t *testing.T) {
	srv, requests := imdsUnavailable(t)
	cache := filepath.Join(t.TempDir(), "routeha-vip.identity")
	tag := assetTag(t, nitroSelf.InstanceID)
	fb := &fallbackRecorder{self: nitroSelf}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()

	s, err := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, tag).WithFallback("eu-west-1", fb.describe).Self(ctx)
	require.NoError(t, err)
	assert.Equal(t, nitroSelf, s)
	assert.Equal(t, []string{"eu-west-1 " + nitroSelf.InstanceID}, fb.calls, "one fallback, in the configured region, for the asset tag's instance")
	assert.NotZero(t, requests.Load(), "IMDS is asked first")

	// The next action (a new process: a new Identity) asks neither.
	before := requests.Load()
	again, err := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, tag).WithFallback("eu-west-1", fb.describe).Self(ctx)
	require.NoError(t, err)
	assert.Equal(t, nitroSelf, again)
	assert.Len(t, fb.calls, 1)
	assert.Equal(t, before, requests.Load())
}

// A hung IMDS gets a third of the time left, so that the fallback gets
// most of the action's time rather than none.
func TestHungIMDSLeavesTimeForTheFallback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	fb := &fallbackRecorder{self: nitroSelf}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	id := New(imds.New(imds.Options{Endpoint: srv.URL}), "", assetTag(t, nitroSelf.InstanceID)).WithFallback("eu-west-1", fb.describe)
	s, err := id.Self(ctx)
	require.NoError(t, err)
	assert.Equal(t, nitroSelf, s)
	assert.Less(t, time.Since(start), 1500*time.Millisecond, "IMDS was given about a third of 3 s")
	require.Len(t, fb.left, 1)
	assert.Greater(t, fb.left[0], 1500*time.Millisecond, "the fallback has the rest of the action's time")
}

func TestIMDSDownNitroWithoutRegionSaysSetRegion(t *testing.T) {
	srv, _ := imdsUnavailable(t)
	fb := &fallbackRecorder{self: nitroSelf}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := New(imds.New(imds.Options{Endpoint: srv.URL}), "", assetTag(t, nitroSelf.InstanceID)).WithFallback("", fb.describe).Self(ctx)
	require.Error(t, err)
	var re *agent.ReasonError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Reason, "instance metadata service failed")
	assert.Contains(t, re.Reason, "setting region")
	assert.Contains(t, re.Reason, "Nitro")
	assert.LessOrEqual(t, len(re.Reason), 127, "an exit reason Pacemaker keeps whole")
	assert.Contains(t, err.Error(), "instance identity document", "the IMDS error is kept for the log")
	assert.Contains(t, err.Error(), nitroSelf.InstanceID)
	assert.Empty(t, fb.calls)
}

func TestIMDSDownWithoutAssetTagIsTheIMDSError(t *testing.T) {
	srv, _ := imdsUnavailable(t)
	fb := &fallbackRecorder{self: nitroSelf}
	for name, tag := range map[string]string{"no file": filepath.Join(t.TempDir(), "absent"), "not Nitro": assetTag(t, "Xen-1234")} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := New(imds.New(imds.Options{Endpoint: srv.URL}), "", tag).WithFallback("eu-west-1", fb.describe).Self(ctx)
		require.Error(t, err, name)
		assert.True(t, strings.HasPrefix(err.Error(), "instance identity document"), "%s: %v", name, err)
		var re *agent.ReasonError
		assert.False(t, errors.As(err, &re), name)
		cancel()
	}
	assert.Empty(t, fb.calls, "no instance id to describe")
}

func TestFallbackFailureKeepsBothErrors(t *testing.T) {
	srv, _ := imdsUnavailable(t)
	cache := filepath.Join(t.TempDir(), "routeha-vip.identity")
	denied := &agent.APIError{Kind: agent.KindDenied, Op: "DescribeInstances", Code: "UnauthorizedOperation", Err: errors.New("not authorized")}
	fb := &fallbackRecorder{err: denied}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, assetTag(t, nitroSelf.InstanceID)).WithFallback("eu-west-1", fb.describe).Self(ctx)
	require.Error(t, err)
	assert.Equal(t, agent.KindDenied, agent.KindOf(err), "the agent sees the API's answer")
	assert.Contains(t, err.Error(), "instance identity document")
	assert.NoFileExists(t, cache, "nothing cached from a failure")
}

// IMDS answering with another instance than the asset tag is an error even
// with a fallback: it is not IMDS failing, and neither source is believed.
func TestAssetTagDisagreesWithIMDSEvenWithFallback(t *testing.T) {
	srv, _ := imdsServer(t, twoENIs())
	fb := &fallbackRecorder{self: nitroSelf}
	_, err := New(imds.New(imds.Options{Endpoint: srv.URL}), "", assetTag(t, "i-0ccccccccccccccc3")).WithFallback("eu-west-1", fb.describe).Self(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DMI asset tag says i-0ccccccccccccccc3")
	assert.Empty(t, fb.calls)
}
