// Package ocf implements the Open Cluster Framework resource agent protocol
// (OCF 1.1) for an agent written in Go: exit codes, exit reasons, action
// dispatch, OCF_RESKEY_* and CRM_meta_* parsing, probe detection, deadlines
// and logging the way ocf-shellfuncs does it. It knows nothing of any cloud.
//
// An agent declares itself once, as an Agent (agent.go): its parameters and
// its actions, each with its handler, timeout and interval. Run (run.go)
// dispatches from that declaration, ParseParams (params.go) reads the
// parameters, and the meta-data XML, the man page and a Markdown parameter
// table are rendered from it (render.go).
package ocf

import (
	"errors"
	"fmt"
)

// ExitCode is an OCF return code.
type ExitCode int

// OCF 1.1 return codes.
const (
	Success          ExitCode = 0 // OCF_SUCCESS
	ErrGeneric       ExitCode = 1 // OCF_ERR_GENERIC: soft error, may be retried or recovered here
	ErrArgs          ExitCode = 2 // OCF_ERR_ARGS: wrong invocation
	ErrUnimplemented ExitCode = 3 // OCF_ERR_UNIMPLEMENTED: unknown action
	ErrPerm          ExitCode = 4 // OCF_ERR_PERM: insufficient privilege
	ErrInstalled     ExitCode = 5 // OCF_ERR_INSTALLED: this node cannot run the resource
	ErrConfigured    ExitCode = 6 // OCF_ERR_CONFIGURED: the configuration is wrong everywhere
	NotRunning       ExitCode = 7 // OCF_NOT_RUNNING: cleanly stopped
	// Degraded is OCF_DEGRADED: running, but not everything could be
	// confirmed; Pacemaker counts it as running and takes no recovery
	// action (OCF 1.1; Pacemaker 2.1 shows it in crm_mon).
	Degraded ExitCode = 190
)

// String is the code's name in the OCF specification.
func (c ExitCode) String() string {
	switch c {
	case Success:
		return "OCF_SUCCESS"
	case ErrGeneric:
		return "OCF_ERR_GENERIC"
	case ErrArgs:
		return "OCF_ERR_ARGS"
	case ErrUnimplemented:
		return "OCF_ERR_UNIMPLEMENTED"
	case ErrPerm:
		return "OCF_ERR_PERM"
	case ErrInstalled:
		return "OCF_ERR_INSTALLED"
	case ErrConfigured:
		return "OCF_ERR_CONFIGURED"
	case NotRunning:
		return "OCF_NOT_RUNNING"
	case Degraded:
		return "OCF_DEGRADED"
	}
	return fmt.Sprintf("exit code %d", int(c))
}

// Error is an action's result other than success: the exit code and the one
// sentence Pacemaker shows as the exit reason. Err keeps the cause for
// errors.Is/As.
type Error struct {
	Code   ExitCode
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Code.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code. A %w verb in format keeps
// the wrapped error reachable through errors.Is and errors.As.
func Errorf(code ExitCode, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: code, Reason: err.Error()}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		e.Err = u.Unwrap()
	case interface{ Unwrap() []error }: // several %w verbs
		e.Err = errors.Join(u.Unwrap()...)
	}
	return e
}

// Fail returns an *Error whose exit reason is the short sentence reason,
// keeping err, with all its detail, for the log and for errors.Is/As.
func Fail(code ExitCode, reason string, err error) *Error {
	return &Error{Code: code, Reason: reason, Err: err}
}

// CodeOf maps an action's error to its exit code: nil is success, an *Error
// anywhere in the chain gives its code, anything else is a generic error.
func CodeOf(err error) ExitCode {
	if err == nil {
		return Success
	}
	var oe *Error
	if errors.As(err, &oe) {
		return oe.Code
	}
	return ErrGeneric
}
