package awsec2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/suzlab/routeha/agent"
)

// HTTPDoer sends one HTTP request; *http.Client is one.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// Client speaks the AWS Query protocol, which EC2 and STS share: a
// form-encoded POST of Action, Version and the parameters, signed with
// Signature Version 4, answered in XML.
//
// routeha makes one or two of these calls per action, in a new process
// each time. aws-sdk-go-v2's service clients build a middleware stack, an
// endpoint rule engine and schema tables for every process; on a small
// virtual machine that was a fifth of a monitor. The calls routeha needs
// are few and their shapes stable, so they are written out here. The
// credential providers and the signer stay the SDK's.
type Client struct {
	service  string // signing name and endpoint prefix: "ec2", "sts"
	version  string // API version: "2016-11-15", "2011-06-15"
	endpoint string // scheme://host[:port][/path]
	region   string
	creds    aws.CredentialsProvider
	http     HTTPDoer
	signer   *v4.Signer
	attempts *Attempts
	// maxAttempts bounds the attempts of a call; 0: the context does.
	maxAttempts int
	// budget, when set, is how many requests are left to all calls
	// (Options.Requests); a call that finds it spent returns its last
	// error instead of trying again.
	budget *atomic.Int64
	// maxBackoff caps the wait between two attempts; 0: defaultMaxBackoff.
	maxBackoff time.Duration
	// skew is added to this machine's clock to sign (nanoseconds): zero
	// until the service refuses a signature for a clock that is more than
	// skewThreshold off its own (see clockSkew).
	skew atomic.Int64
}

const (
	ec2Version = "2016-11-15"
	stsVersion = "2011-06-15"
	// defaultMaxBackoff caps the wait between two attempts unless the
	// client was given its own cap.
	defaultMaxBackoff = 2 * time.Second
	// skewThreshold is how far this machine's clock must be from the
	// service's, by the answer's Date header, for a refused signature to
	// be taken for clock skew (AWS accepts 5 minutes; the SDKs use 4).
	skewThreshold = 4 * time.Minute
)

// jitterBackoff is the wait of the SDK standard retryer before retry
// number attempt (1, 2, ...): a random part of 1 s (throttling) or 50 ms
// (anything else) doubled at each retry, capped at maxBackoff.
func jitterBackoff(attempt int, err error, maxBackoff time.Duration) time.Duration {
	if maxBackoff <= 0 {
		maxBackoff = defaultMaxBackoff
	}
	base := 50 * time.Millisecond
	var re *ResponseError
	if errors.As(err, &re) && throttleCode(re.Code) {
		base = time.Second
	}
	d := maxBackoff
	if attempt < 16 && base<<(attempt-1) < maxBackoff {
		d = base << (attempt - 1)
	}
	return time.Duration(rand.Float64() * float64(d))
}

// call makes one API call and decodes a successful answer into out (nil:
// the body is only checked to be XML). Retryable failures are retried,
// after a jittered back-off, until ctx ends.
func (c *Client) call(ctx context.Context, action string, params url.Values, out any) error {
	if params == nil {
		params = url.Values{}
	}
	params.Set("Action", action)
	params.Set("Version", c.version)
	body := params.Encode()
	var last error
	for attempt := 1; ; attempt++ {
		if c.budget != nil && c.budget.Add(-1) < 0 {
			if last == nil {
				return fmt.Errorf("%s: the action's budget of EC2 requests is spent", action)
			}
			return last
		}
		err := c.once(ctx, action, body, out)
		if err == nil || ctx.Err() != nil || !retryable(err) || attempt == c.maxAttempts {
			return err
		}
		last = err
		c.attempts.record(err)
		wait := time.NewTimer(jitterBackoff(attempt, err, c.maxBackoff))
		select {
		case <-ctx.Done():
			wait.Stop()
			return fmt.Errorf("%s: %w", action, ctx.Err())
		case <-wait.C:
		}
	}
}

// once is one attempt.
func (c *Client) once(ctx context.Context, action, body string, out any) error {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "routeha")
	sum := sha256.Sum256([]byte(body))
	skew := time.Duration(c.skew.Load())
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), c.service, c.region, time.Now().Add(skew).UTC()); err != nil {
		return fmt.Errorf("%s: signing: %w", action, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &TransportError{Op: action, Err: err}
	}
	answeredAt := time.Now()
	defer func() { _ = resp.Body.Close() }()
	raw, err := readBody(resp)
	if err != nil {
		return &TransportError{Op: action, Err: fmt.Errorf("reading the answer (HTTP %d): %w", resp.StatusCode, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := responseError(action, resp, raw)
		c.clockSkew(re, resp, answeredAt, skew)
		return re
	}
	if out == nil {
		out = &struct{}{}
	}
	if d, ok := out.(queryDecoder); ok {
		err = d.decodeQuery(raw)
	} else {
		err = xml.Unmarshal(raw, out)
	}
	if err != nil {
		return &ResponseError{Op: action, Status: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid"),
			Err: fmt.Errorf("the answer is not XML: %w", err)}
	}
	return nil
}

// clockSkew reads a refused signature as this machine's clock being off,
// as the AWS SDKs do (their "clock skew correction"). When the error is one
// a stale or future signing time gets and the answer's Date is more than
// skewThreshold from this machine's clock, the error says so (re.Skew);
// when it is that far from the time the request was signed with, the next
// attempts sign with the service's time, and the error is retryable
// (re.resigned). A refusal of a request already signed with the service's
// time is final.
func (c *Client) clockSkew(re *ResponseError, resp *http.Response, answeredAt time.Time, signedWith time.Duration) {
	if !clockSkewCode(re.Code) {
		return
	}
	server, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return
	}
	observed := server.Sub(answeredAt)
	if observed.Abs() > skewThreshold {
		re.Skew = observed
	}
	if (observed - signedWith).Abs() > skewThreshold {
		c.skew.Store(int64(observed))
		re.resigned = true
	}
}

// clockSkewCode says whether an error code is one that a signing time
// outside the service's window gets: EC2 answers RequestExpired, STS
// SignatureDoesNotMatch ("Signature expired"); the others are those the
// SDKs also read as possible skew.
func clockSkewCode(code string) bool {
	switch code {
	case "RequestExpired", "RequestInTheFuture", "RequestTimeTooSkewed", "SignatureDoesNotMatch",
		"InvalidSignatureException", "AuthFailure", "AccessDeniedException":
		return true
	}
	return false
}

// queryDecoder is an answer that reads itself faster than encoding/xml
// would (see xmlwalk.go).
type queryDecoder interface {
	decodeQuery(data []byte) error
}

// maxAnswer bounds what is read of an answer: 50 route tables are about
// 60 KB; a body of megabytes is not an answer to these calls.
const maxAnswer = 16 << 20

// readBody reads an answer into one buffer sized for it: its
// Content-Length, or 64 KB when the answer is chunked. io.ReadAll would
// start at 512 bytes and copy a 50-table answer a dozen times, each time
// into fresh memory, which is what costs here (see test/bench/NOTES.md).
func readBody(resp *http.Response) ([]byte, error) {
	size := int64(64 << 10)
	if resp.ContentLength >= 0 && resp.ContentLength < maxAnswer {
		size = resp.ContentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	return buf.Bytes(), err
}

// ResponseError is an answer other than success. Code and Message are the
// service's error when the body carries one (EC2's <Response><Errors>, or
// STS's <ErrorResponse>); otherwise Code is empty and Err says why the body
// could not be read as one.
type ResponseError struct {
	Op        string
	Status    int
	Code      string
	Message   string
	RequestID string
	Err       error
	// Skew, when not zero, is how far the service's clock is ahead of
	// this machine's (negative: behind) by the answer's Date, for an error
	// that a signing time outside the service's window gets.
	Skew time.Duration
	// resigned: the client now signs with the service's time, which it
	// did not for this request; another attempt may succeed.
	resigned bool
}

func (e *ResponseError) Error() string {
	switch {
	case e.Code != "" && e.Skew != 0:
		return fmt.Sprintf("%s: HTTP %d: %s: %s (request %s; this machine's clock is %s, by the answer's Date)",
			e.Op, e.Status, e.Code, e.Message, e.RequestID, agent.SkewWords(e.Skew)+" the service's")
	case e.Code != "":
		return fmt.Sprintf("%s: HTTP %d: %s: %s (request %s)", e.Op, e.Status, e.Code, e.Message, e.RequestID)
	case e.Err != nil:
		return fmt.Sprintf("%s: HTTP %d: %v", e.Op, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: HTTP %d", e.Op, e.Status)
}

func (e *ResponseError) Unwrap() error { return e.Err }

// Unreadable is true when the body was not the service's XML.
func (e *ResponseError) Unreadable() bool { return e.Code == "" && e.Err != nil }

// TransportError is a request that got no complete answer: refused,
// reset, timed out, cut short.
type TransportError struct {
	Op  string
	Err error
}

func (e *TransportError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// errorBody holds both Query error shapes: EC2's
// <Response><Errors><Error>...</Error></Errors><RequestID/></Response> and
// STS's <ErrorResponse><Error>...</Error><RequestId/></ErrorResponse>.
type errorBody struct {
	XMLName   xml.Name
	EC2       []errorDetail `xml:"Errors>Error"`
	STS       []errorDetail `xml:"Error"`
	RequestID string        `xml:"RequestID"`
	STSID     string        `xml:"RequestId"`
}

type errorDetail struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func responseError(op string, resp *http.Response, raw []byte) *ResponseError {
	e := &ResponseError{Op: op, Status: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid")}
	if len(bytes.TrimSpace(raw)) == 0 {
		e.Err = errors.New("empty body")
		return e
	}
	var b errorBody
	if err := xml.Unmarshal(raw, &b); err != nil {
		e.Err = fmt.Errorf("the body is not XML: %w", err)
		return e
	}
	details := append(b.EC2, b.STS...)
	if len(details) == 0 || details[0].Code == "" {
		e.Err = fmt.Errorf("an XML body without an error code (<%s>)", b.XMLName.Local)
		return e
	}
	e.Code, e.Message = details[0].Code, details[0].Message
	if id := b.RequestID + b.STSID; id != "" {
		e.RequestID = id
	}
	return e
}

// throttleCode says whether an error code is one of throttling, as the
// SDK's standard retryer lists them.
func throttleCode(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "ProvisionedThroughputExceededException",
		"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
		"LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
		"EC2ThrottledException":
		return true
	}
	return false
}

// retryableCode says whether an error code is retried whatever the HTTP
// status: throttling and transient failures.
func retryableCode(code string) bool {
	switch code {
	case "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure",
		"Unavailable", "ServiceUnavailable", "IDPCommunicationError":
		return true
	}
	return throttleCode(code)
}

// retryable says whether another attempt may succeed: throttling, 5xx,
// 429, and a request that got no answer, except for TLS certificate
// failures, which no retry mends. A credential step is retried on the same
// terms as the call it serves (the instance profile's IMDS may be
// restarting); a refusal is final.
func retryable(err error) bool {
	var ce *CredentialsError
	if errors.As(err, &ce) {
		return retryable(ce.Err)
	}
	var re *ResponseError
	if errors.As(err, &re) {
		if retryableCode(re.Code) || re.resigned {
			return true
		}
		switch re.Status {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		var unknownCA x509.UnknownAuthorityError
		var hostname x509.HostnameError
		var invalid x509.CertificateInvalidError
		var verify *tls.CertificateVerificationError
		return !errors.As(err, &unknownCA) && !errors.As(err, &hostname) &&
			!errors.As(err, &invalid) && !errors.As(err, &verify)
	}
	// The SDK's own providers (instance profile, credential_process)
	// report HTTP statuses and connection failures in their own types.
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		s := status.HTTPStatusCode()
		return s == http.StatusTooManyRequests || s >= 500
	}
	var op interface{ Timeout() bool }
	return errors.As(err, &op)
}
