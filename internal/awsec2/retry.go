package awsec2

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/suzlab/routeha/agent"
)

const (
	// unboundedAttempts is the SDK's attempt limit per call: the
	// action's deadline and the request budget are the bounds.
	unboundedAttempts = 1 << 20
	// defaultMaxBackoff caps the wait between two attempts unless the
	// budget gives its own cap.
	defaultMaxBackoff = 2 * time.Second
	// skewThreshold is how far the service's clock must be from the time
	// a refused request was signed with, by the answer's Date header, for
	// the refusal to be taken for clock skew (AWS accepts 5 minutes; the
	// SDK uses 4).
	skewThreshold = 4 * time.Minute
)

// budgetSpentError is returned, wrapped by the SDK, when a call starts
// with the budget already spent.
type budgetSpentError struct{}

func (budgetSpentError) Error() string { return "the action's budget of EC2 requests is spent" }

func errBudgetSpent() error { return budgetSpentError{} }

// retryer is the SDK's standard retryer (jittered exponential back-off,
// its retryable errors) with routeha's rules first: the kinds of
// codeKind, clock skew from the answer's Date, answers that are not the
// service's; no retry quota; and a budget of requests over all calls of
// the client.
type retryer struct {
	std *retry.Standard
	// left is how many requests the budget still allows; nil: no budget.
	left     *atomic.Int64
	attempts *Attempts
}

func newRetryer(requests int, maxBackoff time.Duration, attempts *Attempts, skew *atomic.Int64) *retryer {
	if maxBackoff <= 0 {
		maxBackoff = defaultMaxBackoff
	}
	r := &retryer{attempts: attempts}
	if requests > 0 {
		r.left = &atomic.Int64{}
		r.left.Store(int64(requests))
	}
	r.std = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = unboundedAttempts
		so.MaxBackoff = maxBackoff
		so.RateLimiter = ratelimit.None
		so.Retryables = append([]retry.IsErrorRetryable{
			retry.NoRetryCanceledError{},
			retry.IsErrorRetryableFunc(func(err error) aws.Ternary { return skewRetryable(err, skew) }),
			retry.IsErrorRetryableFunc(answerRetryable),
			retry.IsErrorRetryableFunc(codeRetryable),
			retry.IsErrorRetryableFunc(certificateRetryable),
		}, so.Retryables...)
	})
	return r
}

var _ aws.RetryerV2 = (*retryer)(nil)

func (r *retryer) MaxAttempts() int { return unboundedAttempts }

// IsErrorRetryable is false once the budget is spent: the call then
// returns its last error, with its code.
func (r *retryer) IsErrorRetryable(err error) bool {
	if r.left != nil && r.left.Load() <= 0 {
		return false
	}
	return r.std.IsErrorRetryable(err)
}

// RetryDelay notes the error that is about to be retried.
func (r *retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	r.attempts.record(err)
	return r.std.RetryDelay(attempt, err)
}

func (r *retryer) GetRetryToken(ctx context.Context, err error) (func(error) error, error) {
	return r.std.GetRetryToken(ctx, err)
}

// GetInitialToken is the old interface's; the SDK calls GetAttemptToken.
// Without a rate limiter there is nothing to release.
func (r *retryer) GetInitialToken() func(error) error { return func(error) error { return nil } }

// GetAttemptToken takes one request from the budget.
func (r *retryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if r.left != nil && r.left.Add(-1) < 0 {
		return nil, errBudgetSpent()
	}
	return r.std.GetAttemptToken(ctx)
}

// codeKind is what an error code of EC2 or STS means for the agent: the
// one table that both retries (KindTransient is retried, the other kinds
// are not) and classification read. ok is false for a code it does not
// know, which the SDK's standard rules then decide (HTTP 5xx and 429 are
// retried, and classified transient).
func codeKind(code, message string) (kind agent.ErrorKind, ok bool) {
	switch {
	case strings.HasPrefix(code, "InvalidRouteTableID.") || strings.HasPrefix(code, "InvalidRouteTableId."):
		return agent.KindTableNotFound, true
	case strings.HasPrefix(code, "InvalidInstanceID") || strings.HasPrefix(code, "InvalidNetworkInterfaceID"):
		return agent.KindOther, true // the target instance or ENI is not usable
	case code == "InvalidRoute.NotFound",
		// ReplaceRoute on a missing route: "There is no route defined for
		// '192.0.2.10/32' in the route table. Use CreateRoute instead."
		code == "InvalidParameterValue" && strings.Contains(message, "no route defined"):
		return agent.KindRouteNotFound, true
	}
	switch code {
	case "UnauthorizedOperation", "AccessDenied", "AuthFailure", "AccessDeniedException",
		"InvalidClientTokenId":
		return agent.KindDenied, true
	case "RouteAlreadyExists":
		return agent.KindRouteExists, true
	case "DryRunOperation", "InvalidParameterValue", "InvalidParameterCombination", "MissingParameter",
		"UnknownParameter", "InvalidAction", "MalformedPolicyDocument", "ValidationError":
		return agent.KindOther, true
	// Throttling (the SDK's throttle codes) and the service's transient
	// failures.
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "ProvisionedThroughputExceededException",
		"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
		"LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
		"EC2ThrottledException", "RequestTimeout", "RequestTimeoutException", "InternalError",
		"InternalFailure", "InternalServerError", "Unavailable", "ServiceUnavailable",
		"IDPCommunicationError":
		return agent.KindTransient, true
	}
	return agent.KindOther, false
}

// apiCode is the service's error code and message in err, when the
// answer carried one. The SDK calls an error body without a code
// "UnknownError"; that is no code.
func apiCode(err error) (code, message string, ok bool) {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() == "" || ae.ErrorCode() == "UnknownError" {
		return "", "", false
	}
	return ae.ErrorCode(), ae.ErrorMessage(), true
}

// codeRetryable retries the transient codes of codeKind and no other code
// it knows; a credential failure is retried on the same terms as its
// cause (the instance profile's IMDS may be restarting, STS may be
// throttling), since the wrapped cause is what it reads.
func codeRetryable(err error) aws.Ternary {
	code, message, ok := apiCode(err)
	if !ok {
		return aws.UnknownTernary
	}
	kind, known := codeKind(code, message)
	switch {
	case !known:
		return aws.UnknownTernary
	case kind == agent.KindTransient:
		return aws.TrueTernary
	}
	return aws.FalseTernary
}

// certificateRetryable refuses to retry a TLS certificate failure, which
// no retry mends (a missing CA bundle, a proxy's own certificate).
func certificateRetryable(err error) aws.Ternary {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// answerRetryable retries an answer that was not the service's (a 200
// that is not XML, an error body with status 200, a list without the
// tables asked for, XML the SDK could not read) and one cut short:
// another attempt may reach EC2.
func answerRetryable(err error) aws.Ternary {
	var ae *answerError
	var de *smithy.DeserializationError
	if errors.As(err, &ae) || errors.As(err, &de) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// skewCode says whether an error code is one that a signing time outside
// the service's window gets: EC2 answers RequestExpired (which the SDK no
// longer reads as skew), STS SignatureDoesNotMatch ("Signature expired");
// the others are those the SDK reads as possible skew.
func skewCode(code string) bool {
	switch code {
	case "RequestExpired", "RequestInTheFuture", "RequestTimeTooSkewed", "SignatureDoesNotMatch",
		"InvalidSignatureException", "AuthFailure", "AccessDeniedException":
		return true
	}
	return false
}

// answerSkew is how far the service's clock is ahead of the time the
// refused request was signed with (X-Amz-Date), and of this clock now, by
// the answer's Date header; ok is false for an answer that is not a
// refusal for the signing time or carries no Date.
func answerSkew(err error) (fromSigned, fromNow time.Duration, ok bool) {
	if code, _, has := apiCode(err); !has || !skewCode(code) {
		return 0, 0, false
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return 0, 0, false
	}
	server, perr := http.ParseTime(re.Response.Header.Get("Date"))
	if perr != nil {
		return 0, 0, false
	}
	fromNow = time.Until(server)
	fromSigned = fromNow
	if req := re.Response.Request; req != nil {
		if signed, err := time.Parse("20060102T150405Z", req.Header.Get("X-Amz-Date")); err == nil {
			fromSigned = server.Sub(signed)
		}
	}
	return fromSigned, fromNow, true
}

// skewRetryable retries a request refused for its signing time when the
// answer's Date is more than skewThreshold from that time, as the SDK
// does for the codes it knows: the SDK signs the next attempt, and the
// client's later calls, with the skew it observed from that Date. A
// refusal of a request already signed with the service's time is left to
// the other rules (final). skew records what was found, for the log.
func skewRetryable(err error, skew *atomic.Int64) aws.Ternary {
	var ce *CredentialsError
	if errors.As(err, &ce) {
		return aws.UnknownTernary // the role's own client corrected it, or could not
	}
	fromSigned, fromNow, ok := answerSkew(err)
	if !ok || fromSigned.Abs() <= skewThreshold {
		return aws.UnknownTernary
	}
	if skew != nil {
		skew.Store(int64(fromNow))
	}
	return aws.TrueTernary
}
