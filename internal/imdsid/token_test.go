package imdsid

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenReusedAcrossProcessesAndForgottenOn401(t *testing.T) {
	var puts atomic.Int64
	valid := atomic.Value{}
	valid.Store("token-1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			n := puts.Add(1)
			tok := "token-" + string(rune('0'+n))
			valid.Store(tok)
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			_, _ = w.Write([]byte(tok))
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != valid.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("i-0aaaaaaaaaaaaaaa1"))
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "routeha.imds-token")
	client := func() *imds.Client {
		return imds.New(imds.Options{Endpoint: srv.URL, HTTPClient: NewTokenCache(awshttp.NewBuildableClient(), path)})
	}
	get := func() {
		out, err := client().GetMetadata(context.Background(), &imds.GetMetadataInput{Path: "instance-id"})
		require.NoError(t, err)
		out.Content.Close()
	}

	get()
	assert.Equal(t, int64(1), puts.Load())
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	get() // a new client, as in the next action: the file's token is reused
	get()
	assert.Equal(t, int64(1), puts.Load())

	valid.Store("rotated") // IMDS restarted: the stored token is refused
	get()
	assert.Equal(t, int64(2), puts.Load(), "a refused token is replaced")
	get()
	assert.Equal(t, int64(2), puts.Load())
}
