package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/suzlab/routeha/ocf"
)

// This file is where an error becomes an exit code and a reason: every
// adapter error (APIError kinds, ReasonError), every answer a monitor
// gives without a read, and every check IAM does not let run pass
// through here. The actions (start.go, monitor.go, validate.go, stop.go)
// only say what failed.

// What a monitor answers when it cannot read the tables, each kept here
// and nowhere else.
const (
	// servingUnconfirmed is a recurring monitor's answer when the VIP is
	// on this node but the tables cannot be read (and a probe's, when
	// this node's last observation had every table here). OCF_DEGRADED:
	// Pacemaker 2.1 counts it as running, takes no recovery action and
	// shows it in crm_mon (measured, see doc/design.md). Were it
	// ocf.Success, serving would log the warning and answer 0.
	servingUnconfirmed = ocf.Degraded
	// unobserved is a probe's answer when the VIP is on this node, the
	// tables cannot be read and this node never read them (a fresh boot
	// empties HA_RSCTMP): "cannot run here", which Pacemaker 2.1 takes as
	// not running here without stopping anything (see doc/design.md).
	unobserved = ocf.ErrInstalled
)

// outage is the sentence that starts every answer given without a read.
const outage = "EC2 control plane unreachable"

// apiFailure turns an adapter error into the action's result: IAM denials
// are OCF_ERR_PERM, a missing table or profile is a configuration error, anything
// else (throttling, outages, timeouts) is a generic, recoverable error.
//
// The exit reason is kept short (Pacemaker keeps 127 bytes): what failed
// and the service's error code; the whole error goes to the log.
func apiFailure(ctx context.Context, what string, err error) error {
	brief := briefError(err)
	switch KindOf(err) {
	case KindDenied:
		return ocf.Fail(ocf.ErrPerm, what+": denied by IAM ("+brief+")", err)
	case KindTableNotFound:
		return ocf.Fail(ocf.ErrConfigured, what+": "+brief+"; check routing_table", err)
	case KindConfig:
		// The adapter's configuration (the AWS profile) is wrong: the
		// reason is the adapter's, which names what to mend.
		var ae *APIError
		if errors.As(err, &ae) && ae.Err != nil {
			brief = ae.Op + ": " + clip(ae.Err.Error(), 100)
		}
		return ocf.Fail(ocf.ErrConfigured, brief, err)
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return ocf.Fail(ocf.ErrGeneric, what+": no answer within the action timeout ("+brief+")", err)
	}
	return ocf.Fail(ocf.ErrGeneric, what+": "+brief, err)
}

// briefError is an adapter error in a few words: the service's code, or
// for a missing table the service's own message, which names it.
func briefError(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Kind == KindTableNotFound && ae.Err != nil:
			return clip(ae.Err.Error(), 70)
		case ae.Code != "":
			return ae.Op + " " + ae.Code
		case ae.Err != nil:
			return clip(ae.Err.Error(), 70)
		}
	}
	return clip(err.Error(), 70)
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return ocf.ShortReason(s[:n]) + "..."
}

// identityFailure turns an Identity error into the action's result. An
// adapter that explains itself (ReasonError) is quoted; one that fell
// back on an API (an APIError) is treated like any API failure, so that
// IAM denials, throttling and timeouts read the same as elsewhere; the
// rest is the instance metadata service failing.
func identityFailure(ctx context.Context, err error) error {
	var re *ReasonError
	if errors.As(err, &re) {
		return ocf.Fail(ocf.ErrGeneric, re.Reason, err)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return apiFailure(ctx, "cannot read this instance's identity", err)
	}
	if ctx.Err() != nil {
		return ocf.Fail(ocf.ErrGeneric, "the instance metadata service did not answer within the action timeout", err)
	}
	return ocf.Fail(ocf.ErrGeneric, "cannot read this instance's identity from the instance metadata service: "+clip(err.Error(), 40), err)
}

// Skip is a check that could not run because IAM denies a call it needs
// and the action does not: the vendor guides' policy grants only
// ec2:DescribeRouteTables and ec2:ReplaceRoute, and a configuration copied
// from them must work. The action logs it as one warning and goes on;
// `routeha status` shows the check as skipped.
type Skip struct {
	Action string // the EC2 action denied, without "ec2:"
	What   string // what it would have checked
	Err    error
}

func (s *Skip) Error() string {
	return "skipped: ec2:" + s.Action + " is not permitted, so it was not checked " + s.What
}

func (s *Skip) Unwrap() error { return s.Err }

// Skips are several skipped parts of one check.
type Skips []*Skip

func (s Skips) Error() string {
	parts := make([]string, len(s))
	for i, k := range s {
		parts[i] = k.Error()
	}
	return strings.Join(parts, "; ")
}

// skipIfDenied turns an IAM denial into a Skip; other errors stay as they
// are.
func skipIfDenied(err error, action, what string) error {
	if err != nil && KindOf(err) == KindDenied {
		return &Skip{Action: action, What: what, Err: err}
	}
	return err
}

// skipsOf returns the skipped checks err consists of, and false when err
// is nil or anything else than skips.
func skipsOf(err error) (Skips, bool) {
	var one *Skip
	var many Skips
	switch {
	case err == nil:
		return nil, false
	case errors.As(err, &many):
		return many, true
	case errors.As(err, &one):
		return Skips{one}, true
	}
	return nil, false
}

// skipped logs a warning for each skipped check in err, with the remedy,
// and returns nil for them; any other error is returned as it is.
func skipped(log *ocf.Logger, err error) error {
	s, ok := skipsOf(err)
	if !ok {
		return err
	}
	for _, k := range s {
		log.Warnf("ec2:%s is not permitted, so it was not checked %s (grant ec2:%s to have it checked)", k.Action, k.What, k.Action)
	}
	return nil
}

// serving is the answer "the VIP is served here, but not confirmed":
// servingUnconfirmed with the reason, or, were that 0, a warning.
func serving(log *ocf.Logger, reason string, err error) error {
	if servingUnconfirmed == ocf.Success {
		log.Warnf("%s [%v]", reason, err)
		return nil
	}
	return ocf.Fail(servingUnconfirmed, reason, err)
}

// outageWords is a read's failure in a few words (at most 78 bytes), for
// a reason that starts with outage.
func outageWords(ctx context.Context, err error) string {
	var re *ReasonError
	var ae *APIError
	switch {
	case errors.As(err, &re):
		return clip(re.Reason, 75)
	case !errors.As(err, &ae):
		// Not the EC2 API: the instance metadata service, for the identity
		// (its whole error goes to the log).
		if ctx.Err() != nil {
			return "instance metadata service: no answer in time"
		}
		return "instance metadata service failed, identity not cached"
	case KindOf(err) == KindDenied:
		return "denied by IAM (" + briefError(err) + ")"
	case ctx.Err() != nil:
		return ae.Op + ": no answer within the action timeout"
	case strings.HasPrefix(ae.Code, "no credentials"):
		return ae.Code
	case ae.Code == "":
		// A transport failure: its innermost error says what happened
		// ("connection refused", "no such host").
		root := err
		for u := errors.Unwrap(root); u != nil; u = errors.Unwrap(root) {
			root = u
		}
		return ae.Op + ": " + clip(root.Error(), 50)
	}
	return briefError(err)
}

// skewWords says how this node's clock stands to a service's that is ahead
// of it by serviceAhead (negative: behind): "10m0s behind", "3s ahead of".
func skewWords(serviceAhead time.Duration) string {
	if serviceAhead > 0 {
		return serviceAhead.Round(time.Second).String() + " behind"
	}
	return (-serviceAhead).Round(time.Second).String() + " ahead of"
}

// configErr is a parameter whose value is wrong in combination with
// another (the table's own checks have passed): OCF_ERR_CONFIGURED.
func configErr(param, value, format string, args ...any) error {
	return ocf.Errorf(ocf.ErrConfigured, "%w", &ocf.ParamError{
		Param: param, Value: value, Reason: fmt.Sprintf(format, args...),
	})
}

// worseCode is the exit code of several failed writes: a permission or
// configuration failure, which start cannot recover from by retrying,
// wins over a generic one.
func worseCode(code, c ocf.ExitCode) ocf.ExitCode {
	if code == ocf.Success || c == ocf.ErrPerm || c == ocf.ErrConfigured {
		return c
	}
	return code
}

// unreadable answers a monitor whose VIP is here but whose tables could
// not be read. A recurring monitor says the VIP is still served (a
// control-plane outage must not take the data plane down); a probe
// answers from this node's last observation.
func (a *Agent) unreadable(ctx context.Context, r *ocf.Request, cfg *Config, self Self, err error) error {
	words := outageWords(ctx, err)
	o, ok := a.lastObservation(context.WithoutCancel(ctx), r.Log, cfg, self)
	if !r.Probe {
		if ok {
			r.Log.Warnf("%s (%v); %s is on %s; the last read of the tables, %d s ago, had %s here",
				outage, err, cfg.IP, cfg.Address.Interface, int(age(o).Seconds()), o.Here)
		}
		return serving(r.Log, outage+", VIP still served: "+words, err)
	}
	if !ok {
		return ocf.Fail(unobserved, outage+"; never read the tables on this node: "+cfg.IP.String()+" may be served here",
			fmt.Errorf("%s is on %s; %w", cfg.IP, cfg.Address.Interface, err))
	}
	old := age(o)
	r.Log.Warnf("%s (%v): the answer comes from this node's observation %d s old (%s here%s)",
		outage, err, int(old.Seconds()), o.Here, elsewhere(o))
	cause := fmt.Errorf("answer from an observation %d s old: %w", int(old.Seconds()), err)
	switch o.Here {
	case CoverAll:
		return serving(r.Log, fmt.Sprintf("%s, VIP still served; all tables routed here %s ago", outage, old), cause)
	case CoverNone:
		return ocf.Fail(ocf.NotRunning, fmt.Sprintf("%s; %s ago no table routed %s here", outage, old, cfg.IP), cause)
	}
	return ocf.Fail(ocf.ErrGeneric, fmt.Sprintf("%s; %s ago the tables disagreed on %s", outage, old, cfg.Destination), cause)
}

func elsewhere(o Observation) string {
	if o.Elsewhere == "" {
		return ""
	}
	return "; " + o.Elsewhere
}
