package lab

import "github.com/suzlab/routeha/ocf"

// OCF exit codes as the ints Result.Code holds, from the ocf package so
// that the tests and the agent cannot disagree on them.
const (
	OCFSuccess    = int(ocf.Success)
	OCFGeneric    = int(ocf.ErrGeneric)
	OCFPerm       = int(ocf.ErrPerm)
	OCFInstalled  = int(ocf.ErrInstalled)
	OCFConfigured = int(ocf.ErrConfigured)
	OCFNotRunning = int(ocf.NotRunning)
	OCFDegraded   = int(ocf.Degraded)
)
