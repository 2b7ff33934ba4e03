package awsec2

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Attempts remembers the last retryable error the SDK saw. When the
// deadline ends a retry loop, the SDK reports only "context deadline
// exceeded"; the operator needs to know what EC2 kept answering
// (throttling, 503, a dropped connection) to act on it.
type Attempts struct {
	mu      sync.Mutex
	last    error
	retries int
}

// observe wraps a retryer so that every retried error is recorded.
func (a *Attempts) observe(r aws.Retryer) aws.Retryer {
	return &observedRetryer{Retryer: r, attempts: a}
}

// Explain adds the last retried answer to an error that ended in the
// deadline, and returns that answer; other errors are returned as they
// are, with a nil answer.
func (a *Attempts) Explain(err error) (explained, last error) {
	if a == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return err, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		return err, nil
	}
	return fmt.Errorf("%w (after %d retries; last answer: %v)", err, a.retries, a.last), a.last
}

type observedRetryer struct {
	aws.Retryer
	attempts *Attempts
}

func (o *observedRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	o.attempts.mu.Lock()
	o.attempts.last = err
	o.attempts.retries++
	o.attempts.mu.Unlock()
	return o.Retryer.RetryDelay(attempt, err)
}

// GetAttemptToken and the other optional methods of aws.RetryerV2 are
// forwarded when the wrapped retryer has them.
func (o *observedRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := o.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return o.Retryer.GetInitialToken(), nil
}
