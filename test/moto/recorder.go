package moto

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/suzlab/routeha/test/lab"
)

// Call is one EC2 Query request a node made.
type Call struct {
	Action string
	Params url.Values
	Status int
}

// DryRun reports whether the request asked for a dry run.
func (c Call) DryRun() bool { return strings.EqualFold(c.Params.Get("DryRun"), "true") }

// Target is the route target the request names (instance or ENI id).
func (c Call) Target() string {
	if v := c.Params.Get("NetworkInterfaceId"); v != "" {
		return v
	}
	return c.Params.Get("InstanceId")
}

// Recorder is an http.Handler in front of an EC2 endpoint that logs every
// EC2 Query request (action and parameters) and may rewrite requests.
type Recorder struct {
	Next http.Handler
	// Rewrite, when set, may change a request's parameters before it is
	// forwarded (as the SDK signed none of them in a way moto checks).
	Rewrite func(action string, params url.Values)

	mu    sync.Mutex
	calls []Call
}

// NewProxy returns a handler that forwards to target over transport.
func NewProxy(target string, transport http.RoundTripper) http.Handler {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = transport
	return p
}

// Calls returns the requests so far.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Reset forgets the requests so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// Actions returns the action names of the requests so far.
func (r *Recorder) Actions() []string {
	var out []string
	for _, c := range r.Calls() {
		out = append(out, c.Action)
	}
	return out
}

// ServeHTTP implements http.Handler.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	_ = req.Body.Close()
	params, _ := url.ParseQuery(string(body))
	if req.URL.RawQuery != "" {
		if q, err := url.ParseQuery(req.URL.RawQuery); err == nil {
			for k, v := range q {
				params[k] = append(params[k], v...)
			}
		}
	}
	action := params.Get("Action")
	if r.Rewrite != nil && action != "" {
		before := params.Encode()
		r.Rewrite(action, params)
		if after := params.Encode(); after != before {
			body = []byte(after)
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	sw := &lab.StatusWriter{ResponseWriter: w}
	r.Next.ServeHTTP(sw, req)
	if action != "" {
		r.mu.Lock()
		r.calls = append(r.calls, Call{Action: action, Params: params, Status: sw.Status})
		r.mu.Unlock()
	}
}
