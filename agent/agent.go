package agent

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/suzlab/routeha/ocf"
)

// Provider is the OCF provider routeha is installed under.
const Provider = "suzlab"

// Agent is routeha: the adapters it acts through.
type Agent struct {
	version  string
	adapters Adapters
	timing   timing
	redactor *redactor
}

// New returns routeha over the given adapters.
func New(version string, adapters Adapters) *Agent {
	return &Agent{version: version, adapters: adapters, timing: defaultTiming(), redactor: newRedactor()}
}

// Definition is routeha's one declaration: its parameters (params.go), its
// actions, each with its handler, default timeout and interval, and the
// man page's prose (manpage.go). ocf.Run dispatches from it, and the
// meta-data, the man page and the README table are rendered from it.
func (a *Agent) Definition() *ocf.Agent {
	return &ocf.Agent{
		Name:      "routeha",
		Version:   a.version,
		Shortdesc: shortdesc,
		Longdesc:  longdesc,
		Params:    params(),
		Actions: []ocf.Action{
			{Name: "start", Timeout: 60 * time.Second, Handler: a.handle(a.Start)},
			{Name: "stop", Timeout: 30 * time.Second, Handler: a.stopHandler},
			{Name: "monitor", Timeout: 30 * time.Second, Interval: 10 * time.Second, HasDepth: true, Handler: a.handle(a.Monitor)},
			{Name: "validate-all", Timeout: 30 * time.Second, Handler: a.handle(a.Validate)},
			// No "usage": pcs copies every advertised action into the CIB
			// as an operation.
			{Name: "meta-data", Timeout: 5 * time.Second},
		},
		Sections: sections(),
		Redact:   a.redactor.Redact,
		Commands: map[string]ocf.Command{
			"man":    a.manCommand,
			"status": a.StatusCommand,
		},
	}
}

// action is an action over a parsed configuration.
type action func(ctx context.Context, r *ocf.Request, cfg *Config) error

func (a *Agent) handle(act action) ocf.Handler {
	return func(ctx context.Context, r *ocf.Request) error {
		cfg, err := ParseConfig(r.Env)
		if err != nil {
			return err
		}
		logIgnored(r.Log, cfg)
		return act(ctx, r, cfg)
	}
}

// logIgnored says once per action which aws-vpc-move-ip parameters were
// set but have no effect here, so a migrated configuration explains itself.
func logIgnored(log *ocf.Logger, cfg *Config) {
	for _, name := range cfg.Values.SetNames() {
		if param(name).NoEffect {
			log.Infof("parameter %s is accepted for aws-vpc-move-ip compatibility and has no effect", name)
		}
	}
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
	_, _ = stdout.Write(a.Definition().ManPage(Provider, ""))
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
	if d := routes.ClockSkew(); d != 0 {
		log.Warnf("this node's clock is %s EC2's, by EC2's answers: requests are signed with EC2's time; check the time service (chrony, NTP)", skewWords(d))
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
