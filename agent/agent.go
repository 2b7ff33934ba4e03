package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/suzlab/routeha/metadata"
	"github.com/suzlab/routeha/ocf"
)

// Provider is the OCF provider routeha is installed under.
const Provider = "suzlab"

// Agent is routeha: its meta-data and the adapters it acts through.
type Agent struct {
	meta     *metadata.Agent
	adapters Adapters
	// confirmPause is how long a monitor waits before reading a failing
	// answer again (confirmPause; shorter in unit tests).
	confirmPause time.Duration
	redactor     *redactor
}

// New returns routeha over the given adapters.
func New(version string, adapters Adapters) *Agent {
	return &Agent{meta: metadata.Routeha(version), adapters: adapters, confirmPause: confirmPause, redactor: newRedactor()}
}

// Definition declares routeha to the ocf package: the meta-data and one
// handler per action, the shape of resource-agents' ocf.py Agent.
func (a *Agent) Definition() *ocf.Agent {
	timeout := func(name string) time.Duration { t, _ := a.meta.ActionTimeout(name); return t }
	return &ocf.Agent{
		Name:     a.meta.Name,
		MetaData: a.meta.XML,
		Redact:   a.redactor.Redact,
		Actions: []ocf.Action{
			{Name: "start", Timeout: timeout("start"), Handler: a.handle(a.Start)},
			{Name: "stop", Timeout: timeout("stop"), Handler: a.stopHandler},
			{Name: "monitor", Timeout: timeout("monitor"), Handler: a.handle(a.Monitor)},
			{Name: "validate-all", Timeout: timeout("validate-all"), Handler: a.handle(a.Validate)},
		},
		Commands: map[string]ocf.Command{
			"man":    a.manCommand,
			"status": a.StatusCommand,
		},
	}
}

// Meta returns the meta-data table.
func (a *Agent) Meta() *metadata.Agent { return a.meta }

// action is an action over a parsed configuration.
type action func(ctx context.Context, r *ocf.Request, cfg *Config) error

func (a *Agent) handle(act action) ocf.Handler {
	return func(ctx context.Context, r *ocf.Request) error {
		cfg, err := ParseConfig(a.meta, r.Env)
		if err != nil {
			return err
		}
		a.logIgnored(r.Log, cfg)
		return act(ctx, r, cfg)
	}
}

// logIgnored says once per action which aws-vpc-move-ip parameters were
// set but have no effect here, so a migrated configuration explains itself.
func (a *Agent) logIgnored(log *ocf.Logger, cfg *Config) {
	for _, name := range cfg.Values.SetNames() {
		if p, ok := a.meta.Param(name); ok && p.NoEffect {
			log.Infof("parameter %s is accepted for aws-vpc-move-ip compatibility and has no effect", name)
		}
	}
}

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

func describeTables(n int) string {
	if n == 1 {
		return "the route table"
	}
	return fmt.Sprintf("all %d route tables", n)
}

// manCommand prints the man page ocf_suzlab_routeha(7), rendered from the
// same table as the meta-data.
func (a *Agent) manCommand(_ context.Context, _ []string, _ *ocf.Env, stdout, _ io.Writer) ocf.ExitCode {
	_, _ = stdout.Write(a.meta.ManPage(Provider, ""))
	return ocf.Success
}

// observe learns who this node is, builds the EC2 adapter for its region,
// and reads the configured tables in one request: the first steps of
// start, monitor and validate-all. Every successful read of the tables
// through the Routes it returns is kept as this node's observation. When
// only the tables fail, the identity is returned with the error.
func (a *Agent) observe(ctx context.Context, log *ocf.Logger, cfg *Config, budget Budget) (Self, Routes, []Table, error) {
	return a.observeAs(ctx, log, cfg, budget, false)
}

// observeAs is observe; verify asks the identity adapter to confirm a
// cached identity with the instance (IdentityVerifier), for start.
func (a *Agent) observeAs(ctx context.Context, log *ocf.Logger, cfg *Config, budget Budget, verify bool) (Self, Routes, []Table, error) {
	id := a.adapters.Identity(cfg)
	var self Self
	var err error
	if v, ok := id.(IdentityVerifier); ok && verify {
		self, err = v.VerifiedSelf(ctx)
	} else {
		self, err = id.Self(ctx)
	}
	if w, ok := id.(Warner); ok {
		for _, msg := range w.Warnings() {
			log.Warnf("%s", msg)
		}
	}
	if err != nil {
		return Self{}, nil, nil, identityFailure(ctx, err)
	}
	if self, err = a.resolveVIPENI(ctx, log, cfg, self); err != nil {
		return self, nil, nil, err
	}
	routes, err := a.adapters.Routes(ctx, cfg, self, budget)
	if err != nil {
		return self, nil, nil, apiFailure(ctx, "EC2 client", err)
	}
	routes = a.recording(routes, log, cfg, self)
	tables, err := routes.Tables(ctx, cfg.Tables)
	if err != nil {
		return self, nil, nil, apiFailure(ctx, "cannot read route tables", err)
	}
	if sr, ok := routes.(ClockSkewReporter); ok {
		if d := sr.ClockSkew(); d != 0 {
			log.Warnf("this node's clock is %s EC2's, by EC2's answers: requests are signed with EC2's time; check the time service (chrony, NTP)", SkewWords(d))
		}
	}
	return self, routes, tables, nil
}

// The retry budgets of the actions (see Budget). A monitor reads once,
// and retries a failed read at most twice, quickly: an outage it cannot
// see through is reported, not fought. start and validate-all retry
// until their deadline, backing off up to several seconds under
// throttling so that a failover does not feed the throttling it meets.
const (
	monitorRequests = 3
	monitorBackoff  = time.Second
	startBackoff    = 5 * time.Second
)

func monitorBudget() Budget { return Budget{Requests: monitorRequests, MaxBackoff: monitorBackoff} }
func startBudget() Budget   { return Budget{MaxBackoff: startBackoff} }

// SkewWords says how this node's clock stands to a service's that is ahead
// of it by serviceAhead (negative: behind): "10m0s behind", "3s ahead of".
func SkewWords(serviceAhead time.Duration) string {
	if serviceAhead > 0 {
		return serviceAhead.Round(time.Second).String() + " behind"
	}
	return (-serviceAhead).Round(time.Second).String() + " ahead of"
}
