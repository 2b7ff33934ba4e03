package imdsid

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestCacheIsNotReadOrWrittenThroughSymlink(t *testing.T) {
	srv, gets := imdsServer(t, twoENIs())
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	require.NoError(t, os.WriteFile(target, []byte(`{"version":1,"self":{"instance_id":"i-0evil"}}`), 0o644))
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
	require.NoError(t, os.WriteFile(cache, []byte(`{"version":1,"self":{"instance_id":"i-0old","primary_eni":"eni-0old"}}`), 0o600))
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
