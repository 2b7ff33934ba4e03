package awsec2

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
	assert.Equal(t, "application/x-www-form-urlencoded; charset=utf-8", req.Header.Get("Content-Type"))
	assert.Equal(t, "Action=DescribeRouteTables&RouteTableId.1=rtb-0123456789abcdef0&RouteTableId.2=rtb-0fedcba9876543210&Version=2016-11-15", body)
	assert.Regexp(t, regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDTEST/\d{8}/eu-west-1/ec2/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`),
		req.Header.Get("Authorization"))
	assert.Regexp(t, `^\d{8}T\d{6}Z$`, req.Header.Get("X-Amz-Date"))
	assert.Empty(t, req.Header.Get("X-Amz-Security-Token"), "long-term keys have no session token")
}

// Both Query error shapes, EC2's and STS's, give their code; a body that
// is not one of them is unreadable, with the HTTP status.
func TestResponseErrorShapes(t *testing.T) {
	resp := &http.Response{StatusCode: 403, Header: http.Header{}}
	e := responseError("DescribeRouteTables", resp, []byte(ec2Error("UnauthorizedOperation")))
	assert.Equal(t, "UnauthorizedOperation", e.Code)
	assert.Equal(t, "m", e.Message)
	assert.Equal(t, "r", e.RequestID)
	assert.False(t, e.Unreadable())

	sts := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>` +
		`<Message>not authorized to perform: sts:AssumeRole</Message></Error><RequestId>req-sts</RequestId></ErrorResponse>`
	e = responseError("AssumeRole", resp, []byte(sts))
	assert.Equal(t, "AccessDenied", e.Code)
	assert.Equal(t, "req-sts", e.RequestID)

	for name, body := range map[string]string{
		"empty": "", "html": "<!doctype html><html><body>502</body></html>", "json": `{"message":"no"}`,
		"xml without a code": `<Response><Errors><Error><Message>m</Message></Error></Errors></Response>`,
	} {
		e := responseError("DescribeRouteTables", &http.Response{StatusCode: 502, Header: http.Header{}}, []byte(body))
		assert.True(t, e.Unreadable(), name)
		assert.Empty(t, e.Code, name)
		assert.Contains(t, e.Error(), "HTTP 502", name)
	}
}

func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"throttled", &ResponseError{Status: 503, Code: "RequestLimitExceeded"}, true},
		{"throttled with 400", &ResponseError{Status: 400, Code: "Throttling"}, true},
		{"internal error", &ResponseError{Status: 500, Code: "InternalError"}, true},
		{"html 502", &ResponseError{Status: 502, Err: errors.New("not XML")}, true},
		{"429", &ResponseError{Status: 429, Err: errors.New("not XML")}, true},
		{"denied", &ResponseError{Status: 403, Code: "UnauthorizedOperation"}, false},
		{"no such table", &ResponseError{Status: 400, Code: "InvalidRouteTableID.NotFound"}, false},
		{"unreadable 200", &ResponseError{Status: 200, Err: errors.New("not XML")}, false},
		{"refused", &TransportError{Op: "x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{"reset", &TransportError{Op: "x", Err: syscall.ECONNRESET}, true},
		{"cut short", &TransportError{Op: "x", Err: io.ErrUnexpectedEOF}, true},
		{"unknown CA", &TransportError{Op: "x", Err: x509.UnknownAuthorityError{}}, false},
		{"wrong host", &TransportError{Op: "x", Err: x509.HostnameError{Host: "ec2.example"}}, false},
		{"credentials from a restarting IMDS", &CredentialsError{Source: "the instance profile",
			Err: &TransportError{Op: "x", Err: syscall.ECONNREFUSED}}, true},
		{"role refused", &CredentialsError{Source: "role r", Err: &ResponseError{Status: 403, Code: "AccessDenied"}}, false},
		{"anything else", errors.New("boom"), false},
	} {
		assert.Equal(t, c.want, retryable(c.err), c.name)
	}
}

func TestBackoff(t *testing.T) {
	throttled := &ResponseError{Code: "RequestLimitExceeded"}
	other := &ResponseError{Status: 503}
	for range 200 {
		assert.Less(t, jitterBackoff(1, throttled, 0), time.Second)
		assert.Less(t, jitterBackoff(2, throttled, 0), defaultMaxBackoff)
		assert.Less(t, jitterBackoff(1, other, 0), 50*time.Millisecond)
		assert.Less(t, jitterBackoff(3, other, 0), 200*time.Millisecond)
		assert.LessOrEqual(t, jitterBackoff(40, other, 0), defaultMaxBackoff)
		assert.GreaterOrEqual(t, jitterBackoff(40, other, 0), time.Duration(0))
	}
	// Jittered: not one fixed value.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[jitterBackoff(5, throttled, 0)] = true
	}
	assert.Greater(t, len(seen), 1)
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

// AssumeRole's answer becomes expiring credentials; an answer without
// credentials is an error, not empty keys.
func TestAssumeRoleAnswer(t *testing.T) {
	answer := `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/routes/routeha</Arn><AssumedRoleId>AROA:routeha</AssumedRoleId></AssumedRoleUser>
<Credentials><AccessKeyId>ASIATEMP</AccessKeyId><SecretAccessKey>tempsecret</SecretAccessKey><SessionToken>tok</SessionToken>
<Expiration>2026-11-25T20:00:00Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`
	var form []string
	h := NewCannedHTTP(200, []byte(answer))
	sts := NewCannedClient(h)
	sts.service, sts.version = "sts", stsVersion
	a := &assumeRole{sts: sts, arn: "arn:aws:iam::123456789012:role/routes", sessionName: "routeha", externalID: "x"}
	c, err := a.Retrieve(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ASIATEMP", c.AccessKeyID)
	assert.Equal(t, "tok", c.SessionToken)
	assert.True(t, c.CanExpire)
	assert.Equal(t, time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC), c.Expires)
	for k, v := range h.form {
		form = append(form, k+"="+strings.Join(v, ","))
	}
	assert.ElementsMatch(t, []string{"Action=AssumeRole", "Version=2011-06-15", "RoleArn=arn:aws:iam::123456789012:role/routes",
		"RoleSessionName=routeha", "ExternalId=x", "DurationSeconds=900"}, form)

	h.body = []byte(`<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>`)
	_, err = a.Retrieve(context.Background())
	require.Error(t, err)
	assert.Equal(t, agent.KindUnreadable, agent.KindOf(classify("AssumeRole", err)))
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
				_, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0"})
				require.NoError(t, err)
			}
			require.Len(t, signed, 3, "one refused request, then two accepted")
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
	_, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0"})
	require.Error(t, err)
	assert.Len(t, signed, 1)
	var ae *agent.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "RequestExpired", ae.Code)
	assert.NotContains(t, err.Error(), "clock")

	calls := 0
	r = newTestClient(t, func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>r-2</RequestID></Response>`)
	})
	_, err = r.Tables(context.Background(), []string{"rtb-0123456789abcdef0"})
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
	_, err := r.Tables(context.Background(), []string{"rtb-0123456789abcdef0"})
	assert.Equal(t, 2, calls, "signed again once with EC2's time, then final")
	assert.Equal(t, agent.KindDenied, agent.KindOf(err))
	// The Date header has whole seconds: 20 minutes, or a second less.
	assert.Regexp(t, `this machine's clock is (19m59s|20m0s) behind the service's`, err.Error())
}
