package imdsid

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/suzlab/routeha/internal/rsctmp"
)

// TokenCache is an IMDS HTTP client that keeps the IMDSv2 session token in
// a 0600 file, so that the next process (each OCF action is one) reuses it
// within its TTL instead of asking for a new one. The SDK's imds client
// still runs the protocol; this only answers its token request from the
// file when the file's token has time left, and forgets the token when
// IMDS refuses it (401), after which the SDK asks again.
type TokenCache struct {
	next aws.HTTPClient
	path string
	now  func() time.Time
	mu   sync.Mutex
}

// NewTokenCache wraps next, the HTTP client the SDK's imds client would
// call; path is the token file in HA_RSCTMP.
func NewTokenCache(next aws.HTTPClient, path string) *TokenCache {
	return &TokenCache{next: next, path: path, now: time.Now}
}

const (
	tokenPath      = "/latest/api/token"
	ttlHeader      = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	tokenHeader    = "X-Aws-Ec2-Metadata-Token"
	tokenMargin    = 60 * time.Second // do not hand out a token about to expire
	maxTokenLength = 4096
)

type storedToken struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// Do serves the token request from the file when it can.
func (c *TokenCache) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.URL.Path == tokenPath {
		if tok, left, ok := c.load(); ok {
			return tokenResponse(req, tok, left), nil
		}
		resp, err := c.next.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			return resp, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenLength+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if ttl, err := strconv.Atoi(resp.Header.Get(ttlHeader)); err == nil && ttl > 0 && len(body) <= maxTokenLength {
			c.store(storedToken{Token: string(body), Expires: c.now().Add(time.Duration(ttl) * time.Second)})
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	resp, err := c.next.Do(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && req.Header.Get(tokenHeader) != "" {
		c.forget()
	}
	return resp, err
}

func tokenResponse(req *http.Request, token string, left time.Duration) *http.Response {
	h := http.Header{}
	h.Set(ttlHeader, strconv.Itoa(int(left/time.Second)))
	h.Set("Content-Type", "text/plain")
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(token)), ContentLength: int64(len(token)), Request: req,
	}
}

func (c *TokenCache) load() (string, time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Only a private file of this user (rsctmp.ReadPrivate): a token
	// planted by anyone else is not presented to IMDS.
	b, err := rsctmp.ReadPrivate(c.path, 2*maxTokenLength)
	if err != nil {
		return "", 0, false
	}
	var st storedToken
	if json.Unmarshal(b, &st) != nil || st.Token == "" {
		return "", 0, false
	}
	left := st.Expires.Sub(c.now()) - tokenMargin
	if left < time.Second {
		return "", 0, false
	}
	return st.Token, left, true
}

func (c *TokenCache) store(st storedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	_ = rsctmp.WritePrivate(c.path, b)
}

func (c *TokenCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = os.Remove(c.path)
}
