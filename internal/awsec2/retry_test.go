package awsec2

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
)

// A Query request as EC2 expects it: a signed form POST naming the action
// and the API version.
func TestRequestIsASignedQueryPost(t *testing.T) {
	var req *http.Request
	var body string
	r := newTestClient(t, func(w http.ResponseWriter, rq *http.Request) {
		b, _ := io.ReadAll(rq.Body)
		req, body = rq, string(b)
		_, _ = w.Write([]byte(describeOK))
	})
	_, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, req.Method)
	assert.Equal(t, "/", req.URL.Path)
	assert.True(t, strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded"), req.Header.Get("Content-Type"))
	form, err := url.ParseQuery(body)
	require.NoError(t, err)
	assert.Equal(t, url.Values{"Action": {"DescribeRouteTables"}, "Version": {"2016-11-15"},
		"RouteTableId.1": {"rtb-0123456789abcdef0"}, "RouteTableId.2": {"rtb-0fedcba9876543210"}}, form)
	assert.Regexp(t, regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDTEST/\d{8}/eu-west-1/ec2/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`),
		req.Header.Get("Authorization"))
	assert.Regexp(t, `^\d{8}T\d{6}Z$`, req.Header.Get("X-Amz-Date"))
	assert.Empty(t, req.Header.Get("X-Amz-Security-Token"), "long-term keys have no session token")
}

// The back-off between attempts is capped by the budget's MaxBackoff,
// throttled or not, and jittered.
func TestBackoffCappedByTheBudget(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "RequestLimitExceeded"}
	r := newRetryer(0, 100*time.Millisecond, nil, nil)
	seen := map[time.Duration]bool{}
	for attempt := 1; attempt < 30; attempt++ {
		d, err := r.RetryDelay(attempt, throttled)
		require.NoError(t, err)
		assert.LessOrEqual(t, d, 100*time.Millisecond, "attempt %d", attempt)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 1, "jittered")
	d, err := newRetryer(0, 0, nil, nil).RetryDelay(30, throttled)
	require.NoError(t, err)
	assert.LessOrEqual(t, d, defaultMaxBackoff)
}

// AWS_MAX_ATTEMPTS, which the SDK reads, cannot shorten an action that
// retries until its deadline.
func TestMaxAttemptsFromTheEnvironmentIsIgnored(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 4 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(ec2Error("RequestLimitExceeded")))
			return
		}
		_, _ = w.Write([]byte(describeOK))
	}))
	t.Cleanup(srv.Close)
	IsolateEnv(t, "AKIDTEST")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	t.Setenv("AWS_RETRY_MODE", "adaptive")
	cfg := LoadForTest(t, LoadOptions{})
	c, err := NewClient(context.Background(), cfg, Options{Region: "eu-west-1", Endpoint: srv.URL})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = NewRoutes(c).Tables(ctx, []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	require.NoError(t, err)
	assert.Equal(t, int64(5), calls.Load())
}

// faults are the ways an endpoint fails to give an answer, each of which
// a monitor's budget of 3 requests must bound.
func faults() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"throttled": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(ec2Error("RequestLimitExceeded")))
		},
		"html 500": func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("<html><body>Internal Server Error</body></html>"))
		},
		"200 not XML": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("proxy login")) },
		"200 error body": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(ec2Error("RequestLimitExceeded")))
		},
		"200 empty": func(http.ResponseWriter, *http.Request) {},
		"cut short": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(describeOK)))
			_, _ = w.Write([]byte(describeOK[:len(describeOK)/2]))
		},
		"extra table": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(strings.Replace(describeOK, "rtb-0fedcba9876543210", "rtb-0999999999999999a", 1)))
		},
		"skewed": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Date", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(ec2Error("RequestExpired")))
		},
		"hung": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		},
		"reset": func(w http.ResponseWriter, _ *http.Request) {
			hj, ok := w.(http.Hijacker)
			if !ok {
				return
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.Close()
			}
		},
	}
}

// A budget of 3 requests is 3 requests over all calls of the client,
// whatever the fault; the error names the last answer's code.
func TestBudgetBoundsRequestsWhateverTheFault(t *testing.T) {
	for name, h := range faults() {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				h(w, r)
			}))
			t.Cleanup(srv.Close)
			IsolateEnv(t, "AKIDTEST")
			c, err := NewClient(context.Background(), LoadForTest(t, LoadOptions{AttemptTimeout: 300 * time.Millisecond}),
				Options{Region: "eu-west-1", Endpoint: srv.URL, Requests: 3, MaxBackoff: 50 * time.Millisecond, Attempts: &Attempts{}})
			require.NoError(t, err)
			r := NewRoutes(c)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ids := []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"}
			_, err = r.Tables(ctx, ids)
			var ae *agent.APIError
			require.ErrorAs(t, err, &ae)
			_, err2 := r.Tables(ctx, ids)
			require.Error(t, err2, "the budget is spent")
			assert.Equal(t, int64(3), calls.Load(), "3 requests over both calls")
			t.Logf("%s: kind %v code %q; then %v", name, ae.Kind, ae.Code, err2)
			assert.NotEmpty(t, ae.Code, "the reason has the last answer's code")
		})
	}
}

// An answer that is not EC2's (issue 18 item 7) or that lists tables not
// asked for (item 4) is retried like a body cut short, and the next
// answer counts.
func TestAnswersThatAreNotEC2sAreRetried(t *testing.T) {
	for name, h := range faults() {
		switch name {
		case "200 not XML", "200 error body", "200 empty", "cut short", "extra table":
		default:
			continue
		}
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int64
			r := newTestClient(t, func(w http.ResponseWriter, req *http.Request) {
				if calls.Add(1) == 1 {
					h(w, req)
					return
				}
				_, _ = w.Write([]byte(describeOK))
			})
			tables, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
			require.NoError(t, err)
			assert.Len(t, tables, 2)
			assert.Equal(t, int64(2), calls.Load())
		})
	}
}

// The same answers, when they persist, are "not an EC2 response" (or, cut
// short, a transient failure), never an empty success.
func TestAnswersThatAreNotEC2sAreUnreadable(t *testing.T) {
	want := map[string]agent.ErrorKind{"200 not XML": agent.KindOther, "200 error body": agent.KindOther,
		"200 empty": agent.KindOther, "extra table": agent.KindOther, "cut short": agent.KindTransient}
	for name, h := range faults() {
		kind, ok := want[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			r := NewRoutes(NewCannedClient(srvClient{srv}))
			_, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
			var ae *agent.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, kind, ae.Kind, "%v", err)
		})
	}
}

// srvClient sends every request to one test server.
type srvClient struct{ srv *httptest.Server }

func (s srvClient) Do(req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(s.srv.URL)
	req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, u.Host
	return s.srv.Client().Do(req)
}

// VPCTables follows NextToken to the last page.
func TestVPCTablesReadsEveryPage(t *testing.T) {
	var calls atomic.Int64
	var tokens []string
	r := newTestClient(t, func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		n := calls.Add(1)
		tokens = append(tokens, req.PostForm.Get("NextToken"))
		assert.Equal(t, "vpc-01234567", req.PostForm.Get("Filter.1.Value.1"))
		next := ""
		if n < 3 {
			next = fmt.Sprintf("<nextToken>page%d</nextToken>", n+1)
		}
		fmt.Fprintf(w, `<DescribeRouteTablesResponse><routeTableSet><item><routeTableId>rtb-%017d</routeTableId><vpcId>vpc-01234567</vpcId></item></routeTableSet>%s</DescribeRouteTablesResponse>`, n, next)
	})
	tables, err := r.VPCTables(context.Background(), "vpc-01234567")
	require.NoError(t, err)
	require.Len(t, tables, 3)
	assert.Equal(t, []string{"", "page2", "page3"}, tokens)
	assert.Equal(t, "rtb-00000000000000003", tables[2].ID)
}

// skewedEC2 answers as EC2 does from a clock ahead of this machine's by
// ahead (negative: behind): RequestExpired, dated with its own time, for a
// request signed more than 5 minutes away from it, and the route tables
// otherwise. Without date, its answers carry no Date header. signed gets
// every request's signing time.
func skewedEC2(ahead time.Duration, date bool, signed *[]time.Time) http.HandlerFunc {
	var mu sync.Mutex
	return func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Add(ahead)
		at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		mu.Lock()
		*signed = append(*signed, at)
		mu.Unlock()
		if date {
			w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
		} else {
			w.Header()["Date"] = nil
		}
		if err != nil || at.Sub(now).Abs() > 5*time.Minute {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `<Response><Errors><Error><Code>RequestExpired</Code><Message>Request has expired.</Message></Error></Errors><RequestID>r-1</RequestID></Response>`)
			return
		}
		_, _ = w.Write([]byte(describeOK))
	}
}

// A clock minutes off (NTP down, a resumed instance) does not stop the
// agent: the refused request is signed again with EC2's time, from the
// answer's Date, as the AWS SDKs and CLI do; the next requests of the
// process use it from the start.
func TestClockSkewCorrected(t *testing.T) {
	for _, ahead := range []time.Duration{10 * time.Minute, -10 * time.Minute, 3 * time.Hour} {
		t.Run(ahead.String(), func(t *testing.T) {
			var signed []time.Time
			r := newTestClient(t, skewedEC2(ahead, true, &signed))
			for range 2 {
				_, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
				require.NoError(t, err)
			}
			require.Len(t, signed, 3, "one refused request, then two accepted")
			assert.InDelta(t, float64(ahead), float64(r.ClockSkew()), float64(2*time.Second), "the adapter reports the skew")
			assert.WithinDuration(t, time.Now(), signed[0], time.Minute, "first signed with this machine's clock")
			assert.WithinDuration(t, time.Now().Add(ahead), signed[1], time.Minute, "signed again with EC2's")
			assert.WithinDuration(t, time.Now().Add(ahead), signed[2], time.Minute, "and then from the start")
		})
	}
}

// Without a Date to go by, or with a clock that agrees with the service's,
// a refused signature is final: no retry, the code kept, as before.
func TestClockSkewNeedsEvidence(t *testing.T) {
	var signed []time.Time
	r := newTestClient(t, skewedEC2(10*time.Minute, false, &signed))
	_, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	require.Error(t, err)
	assert.Len(t, signed, 1)
	var ae *agent.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "RequestExpired", ae.Code)
	assert.NotContains(t, err.Error(), "clock")
	assert.Zero(t, r.ClockSkew())

	calls := 0
	r = newTestClient(t, func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>r-2</RequestID></Response>`)
	})
	_, err = r.Tables(context.Background(), []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	assert.Equal(t, 1, calls, "a real AuthFailure is not retried")
	assert.Equal(t, agent.KindDenied, agent.KindOf(err))
	assert.NotContains(t, err.Error(), "clock")
}

// A refusal that persists once signed with the service's time is final,
// and says how far off this machine's clock is, for the operator.
func TestClockSkewNamedWhenRefusalPersists(t *testing.T) {
	ahead := 20 * time.Minute
	calls := 0
	r := newTestClient(t, func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.Header().Set("Date", time.Now().Add(ahead).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>r-3</RequestID></Response>`)
	})
	_, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0", "rtb-0fedcba9876543210"})
	assert.Equal(t, 2, calls, "signed again once with EC2's time, then final")
	assert.Equal(t, agent.KindDenied, agent.KindOf(err))
	// The Date header has whole seconds: 20 minutes, or a second less.
	assert.Regexp(t, `this node's clock is (19m59s|20m0s) behind the service's`, err.Error())
	var ae *agent.APIError
	require.ErrorAs(t, err, &ae)
	assert.InDelta(t, float64(ahead), float64(ae.Skew), float64(2*time.Second), "the skew is data of the error")
}
