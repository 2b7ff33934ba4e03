package awsec2

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Attempts remembers the last retryable error the retries saw. When the
// deadline ends a retry loop, all that is left is "context deadline
// exceeded"; the operator needs to know what EC2 kept answering
// (throttling, 503, a dropped connection) to act on it.
type Attempts struct {
	mu      sync.Mutex
	last    error
	retries int
}

// record notes one retried error; a nil Attempts records nothing.
func (a *Attempts) record(err error) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.last = err
	a.retries++
	a.mu.Unlock()
}

// Explain adds the last retried answer to an error that ended in the
// deadline or in a spent budget, and returns that answer; other errors
// are returned as they are, with a nil answer.
func (a *Attempts) Explain(err error) (explained, last error) {
	var spent budgetSpentError
	if a == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &spent)) {
		return err, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		return err, nil
	}
	return fmt.Errorf("%w (after %d retries; last answer: %v)", err, a.retries, a.last), a.last
}
