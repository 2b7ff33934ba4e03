package imdsid

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
)

// other is another instance's identity, as a planted cache claims it.
var otherSelf = agent.Self{InstanceID: "i-0bbbbbbbbbbbbbbb2", Region: "eu-west-1", AZ: "eu-west-1b",
	PrimaryENI: "eni-0bbbbbbbbbbbbbbb2", ENIs: []string{"eni-0bbbbbbbbbbbbbbb2"}, VPCID: "vpc-01234567"}

func plantCache(t *testing.T, path string, s agent.Self, perm os.FileMode) {
	t.Helper()
	b, err := json.Marshal(cached{Version: cacheVersion, Self: s})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o600))
	require.NoError(t, os.Chmod(path, perm))
}

// A cache is believed only as a regular 0600 file of this user; anything
// else is ignored, with a warning, and IMDS is asked again.
func TestCacheNotBelievedUnlessPrivate(t *testing.T) {
	for name, plant := range map[string]func(t *testing.T, path string){
		"mode 0666": func(t *testing.T, path string) { plantCache(t, path, otherSelf, 0o666) },
		"mode 0640": func(t *testing.T, path string) { plantCache(t, path, otherSelf, 0o640) },
		"another owner": func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("changing a file's owner needs root")
			}
			plantCache(t, path, otherSelf, 0o600)
			require.NoError(t, os.Chown(path, 65534, 65534))
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv, gets := imdsServer(t, twoENIs())
			cache := filepath.Join(t.TempDir(), "routeha-vip.identity")
			plant(t, cache)
			id := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, "")
			s, err := id.Self(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", s.InstanceID, "the planted identity was believed")
			assert.NotZero(t, gets.Load())
			require.Len(t, id.Warnings(), 1)
			assert.Contains(t, id.Warnings()[0], "ignoring the identity cache")
			fi, err := os.Stat(cache)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "rewritten as a private file")
		})
	}
}

// Without an asset tag, VerifiedSelf (start's) keys the cache to the
// instance id IMDS reports, with one request; Self (monitor's) asks
// nothing. With the asset tag, neither asks anything.
func TestCacheKeyedToInstanceID(t *testing.T) {
	srv, gets := imdsServer(t, withInstanceID(twoENIs()))
	dir := t.TempDir()
	cache := filepath.Join(dir, "routeha-vip.identity")
	plantCache(t, cache, otherSelf, 0o600) // a genuine cache of another instance

	id := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, "")
	s, err := id.Self(context.Background())
	require.NoError(t, err)
	assert.Equal(t, otherSelf.InstanceID, s.InstanceID, "monitor's Self trusts a private cache without asking")
	assert.Zero(t, gets.Load())

	s, err = id.VerifiedSelf(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", s.InstanceID, "IMDS's instance id disagrees with the cache")
	require.NotEmpty(t, id.Warnings())
	assert.Contains(t, strings.Join(id.Warnings(), "\n"), otherSelf.InstanceID)

	// Now the cache is this instance's: one request to confirm it.
	n := gets.Load()
	id = New(imds.New(imds.Options{Endpoint: srv.URL}), cache, "")
	s, err = id.VerifiedSelf(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "i-0aaaaaaaaaaaaaaa1", s.InstanceID)
	assert.Equal(t, int64(1), gets.Load()-n, "one request: the instance id")
	assert.Empty(t, id.Warnings())

	// With the asset tag naming this instance, none.
	tag := filepath.Join(dir, "board_asset_tag")
	require.NoError(t, os.WriteFile(tag, []byte("i-0aaaaaaaaaaaaaaa1\n"), 0o444))
	n = gets.Load()
	id = New(imds.New(imds.Options{Endpoint: srv.URL}), cache, tag)
	_, err = id.VerifiedSelf(context.Background())
	require.NoError(t, err)
	_, err = id.Self(context.Background())
	require.NoError(t, err)
	assert.Equal(t, n, gets.Load())
}

// IMDS unreachable, no asset tag: start uses its own private cache rather
// than fail (the identity cannot be confirmed, and nothing contradicts it).
func TestVerifiedSelfWithIMDSDownUsesCache(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	cache := filepath.Join(t.TempDir(), "routeha-vip.identity")
	plantCache(t, cache, otherSelf, 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	s, err := New(imds.New(imds.Options{Endpoint: srv.URL}), cache, "").VerifiedSelf(ctx)
	require.NoError(t, err)
	assert.Equal(t, otherSelf.InstanceID, s.InstanceID)
	assert.Less(t, time.Since(start), 2*time.Second, "the check is bounded")
}

// The token file is read through rsctmp.ReadPrivate: a planted one is not
// presented to IMDS.
func TestTokenFileMustBePrivate(t *testing.T) {
	var presented atomic.Value
	presented.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			_, _ = w.Write([]byte("token-real"))
			return
		}
		if tok := r.Header.Get("X-Aws-Ec2-Metadata-Token"); tok != "token-real" {
			presented.Store(tok)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("i-0aaaaaaaaaaaaaaa1"))
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "routeha.imds-token")
	b, err := json.Marshal(storedToken{Token: "token-planted", Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	require.NoError(t, os.Chmod(path, 0o644))
	c := imds.New(imds.Options{Endpoint: srv.URL, HTTPClient: NewTokenCache(awshttp.NewBuildableClient(), path)})
	_, err = c.GetMetadata(context.Background(), &imds.GetMetadataInput{Path: "instance-id"})
	require.NoError(t, err)
	assert.Equal(t, "", presented.Load(), "the planted token was presented")
}

func withInstanceID(m map[string]string) map[string]string {
	m["/latest/meta-data/instance-id"] = "i-0aaaaaaaaaaaaaaa1"
	return m
}
