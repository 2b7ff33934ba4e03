package ocf_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

func TestExitCodeValuesAndNames(t *testing.T) {
	// The numbers are the OCF 1.1 contract; Pacemaker acts on them.
	cases := []struct {
		code ocf.ExitCode
		num  int
		name string
	}{
		{ocf.Success, 0, "OCF_SUCCESS"},
		{ocf.ErrGeneric, 1, "OCF_ERR_GENERIC"},
		{ocf.ErrArgs, 2, "OCF_ERR_ARGS"},
		{ocf.ErrUnimplemented, 3, "OCF_ERR_UNIMPLEMENTED"},
		{ocf.ErrPerm, 4, "OCF_ERR_PERM"},
		{ocf.ErrInstalled, 5, "OCF_ERR_INSTALLED"},
		{ocf.ErrConfigured, 6, "OCF_ERR_CONFIGURED"},
		{ocf.NotRunning, 7, "OCF_NOT_RUNNING"},
		{ocf.Degraded, 190, "OCF_DEGRADED"},
	}
	for _, c := range cases {
		assert.Equal(t, c.num, int(c.code), c.name)
		assert.Equal(t, c.name, c.code.String())
	}
	assert.Equal(t, "exit code 42", ocf.ExitCode(42).String())
	assert.Equal(t, "exit code -1", ocf.ExitCode(-1).String())
}

var errSentinel = errors.New("sentinel")

func TestErrorfKeepsWrappedChain(t *testing.T) {
	e := ocf.Errorf(ocf.ErrPerm, "ReplaceRoute on %s: %w", "rtb-12345678", errSentinel)
	require.NotNil(t, e)
	assert.Equal(t, ocf.ErrPerm, e.Code)
	assert.Equal(t, "ReplaceRoute on rtb-12345678: sentinel", e.Reason)
	assert.Equal(t, e.Reason, e.Error())
	assert.ErrorIs(t, e, errSentinel)

	// errors.As finds a typed error through the wrapper.
	pe := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	e2 := ocf.Errorf(ocf.ErrInstalled, "state: %w", pe)
	var got *fs.PathError
	require.ErrorAs(t, e2, &got)
	assert.Same(t, pe, got)
	assert.ErrorIs(t, e2, fs.ErrNotExist)

	// Without %w there is nothing to unwrap, but the reason is kept.
	e3 := ocf.Errorf(ocf.ErrConfigured, "bad %s", "value")
	assert.Equal(t, "bad value", e3.Error())
	assert.NotErrorIs(t, e3, errSentinel)
}

func TestErrorfKeepsEveryWrappedErrorOfMultipleW(t *testing.T) {
	// fmt.Errorf accepts several %w verbs; the doc of Errorf promises that
	// a %w keeps the wrapped error reachable.
	other := errors.New("other")
	e := ocf.Errorf(ocf.ErrGeneric, "%w and %w", errSentinel, other)
	assert.Equal(t, "sentinel and other", e.Error())
	assert.ErrorIs(t, e, errSentinel)
	assert.ErrorIs(t, e, other)
}

func TestErrorMessageFallbacks(t *testing.T) {
	assert.Equal(t, "inner", (&ocf.Error{Code: ocf.ErrGeneric, Err: errors.New("inner")}).Error())
	assert.Equal(t, "OCF_NOT_RUNNING", (&ocf.Error{Code: ocf.NotRunning}).Error())
	assert.Equal(t, "reason", (&ocf.Error{Code: ocf.NotRunning, Reason: "reason", Err: errors.New("inner")}).Error())
}

func TestCodeOf(t *testing.T) {
	assert.Equal(t, ocf.Success, ocf.CodeOf(nil))
	assert.Equal(t, ocf.NotRunning, ocf.CodeOf(&ocf.Error{Code: ocf.NotRunning}))
	assert.Equal(t, ocf.ErrConfigured, ocf.CodeOf(ocf.Errorf(ocf.ErrConfigured, "x")))
	// An *Error anywhere in the chain gives its code.
	wrapped := fmt.Errorf("outer: %w", fmt.Errorf("middle: %w", ocf.Errorf(ocf.ErrPerm, "denied")))
	assert.Equal(t, ocf.ErrPerm, ocf.CodeOf(wrapped))
	// The outermost *Error wins.
	nested := ocf.Errorf(ocf.ErrInstalled, "outer: %w", ocf.Errorf(ocf.ErrPerm, "inner"))
	assert.Equal(t, ocf.ErrInstalled, ocf.CodeOf(nested))
	// Anything else is a generic error, never success.
	assert.Equal(t, ocf.ErrGeneric, ocf.CodeOf(errors.New("plain")))
	assert.Equal(t, ocf.ErrGeneric, ocf.CodeOf(fmt.Errorf("wrapped plain: %w", errSentinel)))
}
