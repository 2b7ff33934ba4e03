package awsec2

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// NewCannedClient returns an EC2 client that sends every request to h,
// with fixed credentials and a budget of a single request.
func NewCannedClient(h aws.HTTPClient) *Client {
	return newClient(aws.Config{Region: "eu-west-1", HTTPClient: h},
		credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), Options{Requests: 1}, &atomic.Int64{})
}

// CannedHTTP answers every request with one status and body, and keeps
// the form of the last request.
type CannedHTTP struct {
	status int
	body   []byte

	mu   sync.Mutex
	form url.Values
	n    int
}

func (c *CannedHTTP) Do(req *http.Request) (*http.Response, error) {
	var form url.Values
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		form, _ = url.ParseQuery(string(b))
	}
	c.mu.Lock()
	c.form = form
	c.n++
	c.mu.Unlock()
	return &http.Response{
		StatusCode:    c.status,
		Status:        http.StatusText(c.status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": []string{"text/xml;charset=UTF-8"}},
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       req,
	}, nil
}

// NewCannedHTTP answers every request with status and body.
func NewCannedHTTP(status int, body []byte) *CannedHTTP {
	return &CannedHTTP{status: status, body: body}
}

// Calls is the number of requests so far.
func (c *CannedHTTP) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Form is the form of the last request.
func (c *CannedHTTP) Form() url.Values {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.form
}

// IsolateEnv gives a test long-term keys in the environment and empty
// shared files, so that nothing of the host's AWS settings reaches it.
func IsolateEnv(t testing.TB, accessKeyID string) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN",
		"AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_STS", "AWS_MAX_ATTEMPTS",
		"AWS_RETRY_MODE", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", accessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
}

// LoadForTest is Load with a short attempt timeout, failing the test on
// an error.
func LoadForTest(t *testing.T, o LoadOptions) *Config {
	t.Helper()
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = time.Second
	}
	c, err := Load(t.Context(), o)
	if err != nil {
		t.Fatalf("loading the AWS configuration: %v", err)
	}
	return c
}
