package awsec2

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/suzlab/routeha/agent"
)

// fail classifies an error. One that ended in the deadline, or in a spent
// budget, is explained with the last answer the retries saw (attempts may
// be nil), whose code it takes: "throttled until the deadline" is what the
// operator needs to read.
func fail(attempts *Attempts, op string, err error) error {
	explained, last := attempts.Explain(err)
	ae := classify(op, explained)
	if last != nil {
		ae.Kind = agent.KindTransient
		if lastAE := classify(op, last); lastAE.Code != "" {
			ae.Code = lastAE.Code
		} else {
			ae.Code = rootCause(last)
		}
	}
	return ae
}

// rootCause is the innermost message of an error chain ("connection reset
// by peer", "EOF"), short enough for an exit reason.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	msg := err.Error()
	if len(msg) > 48 {
		msg = msg[len(msg)-48:]
	}
	return msg
}

// message is the service's own message as an error's text, with the whole
// error behind it for errors.As.
type message struct {
	text string
	err  error
}

func (m message) Error() string { return m.text }
func (m message) Unwrap() error { return m.err }

// classify maps an error of the SDK's client onto what it means for the
// agent, by codeKind for the service's codes.
func classify(op string, err error) *agent.APIError {
	if ce := innermostCredentialsError(err); ce != nil {
		// The step of the credential chain that failed, with its own
		// code or HTTP status; IAM refusing an AssumeRole is a denial.
		cause := classify(op, ce.Err)
		kind := agent.KindOther
		if cause.Kind == agent.KindDenied || cause.Kind == agent.KindTransient {
			kind = cause.Kind
		}
		causeCode := cause.Code
		if _, _, ok := apiCode(ce.Err); !ok {
			if st := httpStatus(ce.Err); st != 0 {
				causeCode = fmt.Sprintf("HTTP %d", st) // IMDS, a container endpoint: no EC2 there
			}
		}
		code := "no credentials from " + ce.Source
		if causeCode != "" {
			code += " (" + causeCode + ")"
		}
		return &agent.APIError{Kind: kind, Op: op, Code: code, Err: err}
	}
	status := httpStatus(err)
	var ans *answerError
	var de *smithy.DeserializationError
	switch {
	case errors.As(err, &ans) && ans.Cut:
		return &agent.APIError{Kind: agent.KindTransient, Op: op, Code: fmt.Sprintf("HTTP %d, cut short", ans.Status), Err: err}
	case errors.As(err, &ans):
		return &agent.APIError{Kind: agent.KindOther, Op: op, Code: fmt.Sprintf("HTTP %d, not an EC2 response", ans.Status),
			Err: fmt.Errorf("the endpoint's answer is not an EC2 response (%w)", err)}
	case errors.As(err, &de):
		return &agent.APIError{Kind: agent.KindOther, Op: op, Code: fmt.Sprintf("HTTP %d, not an EC2 response", status),
			Err: fmt.Errorf("the endpoint's answer is not an EC2 response (%w)", err)}
	}
	code, msg, ok := apiCode(err)
	if !ok {
		// No service error in the answer: name the HTTP status, if there
		// was one. An error status whose body is not the service's
		// error (a proxy's page, an empty body) is unreadable.
		if status != 0 {
			return &agent.APIError{Kind: agent.KindOther, Op: op, Code: fmt.Sprintf("HTTP %d, not an EC2 response", status),
				Err: fmt.Errorf("the endpoint's answer is not an EC2 response (%w)", err)}
		}
		// No answer at all (refused, reset, timed out): the innermost
		// cause names it.
		return &agent.APIError{Kind: agent.KindTransient, Op: op, Code: rootCause(err), Err: err}
	}
	kind, known := codeKind(code, msg)
	if !known && isRetryable(err) {
		// A code the table does not know, retried by the SDK's rules
		// (an HTTP 5xx or 429): transient, as the retries took it.
		kind = agent.KindTransient
	}
	ae := &agent.APIError{Kind: kind, Op: op, Code: code, Err: message{text: msg, err: err}}
	if _, fromNow, ok := answerSkew(err); ok && fromNow.Abs() > skewThreshold {
		ae.Skew = fromNow
	}
	return ae
}

// isRetryable is what the retryer decides for err, budget aside.
func isRetryable(err error) bool {
	return newRetryer(0, 0, nil, nil).std.IsErrorRetryable(err)
}

// httpStatus is the HTTP status of the answer behind err; 0: none.
func httpStatus(err error) int {
	var st interface{ HTTPStatusCode() int }
	if errors.As(err, &st) {
		return st.HTTPStatusCode()
	}
	return 0
}

// innermostCredentialsError is the credential step nearest the cause: an
// assumed role's source may itself have failed.
func innermostCredentialsError(err error) *CredentialsError {
	var found *CredentialsError
	for err != nil {
		var ce *CredentialsError
		if !errors.As(err, &ce) {
			break
		}
		found = ce
		err = ce.Err
	}
	return found
}
