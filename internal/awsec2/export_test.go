package awsec2

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// NewCannedClient returns an EC2 client that sends every request to h,
// with fixed credentials and a single attempt per call.
func NewCannedClient(h HTTPDoer) *Client {
	return &Client{service: "ec2", version: ec2Version, endpoint: "https://ec2.eu-west-1.amazonaws.com",
		region: "eu-west-1", creds: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		http: h, signer: v4.NewSigner(), maxAttempts: 1}
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
func IsolateEnv(t *testing.T, accessKeyID string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", accessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_ENDPOINT_URL_EC2", "")
}
