package ocf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// canonical maps the other names Pacemaker and humans use for an action.
func canonical(name string) string {
	switch name {
	case "validate":
		return "validate-all"
	case "help":
		return "usage"
	}
	return name
}

// Margin is how long before Pacemaker's own timeout an action gives up, so
// that it exits with its own reason instead of being killed without one:
// a tenth of the timeout, but at least a second (or a quarter of a short
// timeout) for process start and exit on a loaded node, and at most 2 s.
func Margin(timeout time.Duration) time.Duration {
	m := timeout / 10
	if floor := min(time.Second, timeout/4); m < floor {
		m = floor
	}
	return min(m, 2*time.Second)
}

// Run executes the action named in args[1] and returns its exit code.
// args and environ are os.Args and os.Environ; stdout and stderr receive
// meta-data and exit reasons.
func Run(ctx context.Context, agent *Agent, args []string, environ []string, stdout, stderr io.Writer) ExitCode {
	env := NewEnv(environ)
	if len(args) < 2 {
		fmt.Fprint(stderr, agent.usage())
		return ErrArgs
	}
	name := args[1]
	if cmd, ok := agent.Commands[name]; ok {
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
		defer stop()
		return cmd(ctx, args[2:], env, redactWriter(stdout, agent.Redact), redactWriter(stderr, agent.Redact))
	}
	name = canonical(name)
	switch name {
	case "meta-data":
		_, _ = stdout.Write(agent.XML())
		return Success
	case "usage":
		fmt.Fprint(stdout, agent.usage())
		return Success
	}
	act, ok := agent.handler(name)
	if !ok {
		fmt.Fprint(stderr, agent.usage())
		exitReason(stderr, agent.Redact, fmt.Sprintf("unknown action %q", printable(name, 40)))
		return ErrUnimplemented
	}

	log := NewLogger(agent.Name+"("+env.ResourceInstance()+")", env, stderr)
	log.redact = agent.Redact
	defer log.Close()
	timeout, fromPacemaker := env.Timeout()
	if !fromPacemaker || timeout <= 0 {
		timeout = act.Timeout
	}
	if v, refused := env.TimeoutRefused(); refused {
		log.Warnf("CRM_meta_timeout=%s ms does not fit in a duration: refused, using %s's default timeout of %s", v, name, timeout)
	}
	req := &Request{Env: env, Log: log, Probe: env.IsProbe(name)}

	// Pacemaker sends SIGTERM when an action overruns; end it cleanly.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout-Margin(timeout))
	defer cancel()

	start := time.Now()
	err := act.Handler(ctx, req)
	code := CodeOf(err)
	log.Debugf("%s finished in %s: %s", name, time.Since(start).Round(time.Millisecond), code)
	if err != nil {
		reason := err.Error()
		full := reason
		var oe *Error
		if errors.As(err, &oe) && oe.Err != nil && !strings.Contains(reason, oe.Err.Error()) {
			full += " [" + oe.Err.Error() + "]"
		}
		switch code {
		case NotRunning:
			log.Infof("%s: %s", name, full)
		case Degraded:
			log.Warnf("%s: %s", name, full)
		default:
			log.Errorf("%s: %s", name, full)
		}
		exitReason(stderr, agent.Redact, reason)
	}
	return code
}

// MaxReason is how much of an exit reason Pacemaker keeps (it truncates
// longer ones); reasons are written to fit, and cut at a word if not.
const MaxReason = 127

// exitReason prints the line pacemaker-execd turns into the operation's
// exit reason (ocf_exit_reason): one line, at most MaxReason bytes.
func exitReason(w io.Writer, redact func(string) string, reason string) {
	if redact != nil {
		reason = redact(reason)
	}
	fmt.Fprintf(w, "ocf-exit-reason:%s\n", ShortReason(reason))
}

// redactWriter applies redact to every write to w (nil: w itself). The
// commands write whole lines at a time.
func redactWriter(w io.Writer, redact func(string) string) io.Writer {
	if redact == nil {
		return w
	}
	return writerFunc(func(b []byte) (int, error) {
		if _, err := io.WriteString(w, redact(string(b))); err != nil {
			return 0, err
		}
		return len(b), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// ShortReason folds a reason onto one line and cuts it to MaxReason bytes
// at a word boundary, marking the cut with "...".
func ShortReason(reason string) string {
	reason = strings.Join(strings.Fields(reason), " ")
	if len(reason) <= MaxReason {
		return reason
	}
	cut := MaxReason - 3
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	if i := strings.LastIndexByte(reason[:cut], ' '); i > MaxReason/2 {
		cut = i
	}
	return reason[:cut] + "..."
}

func (a *Agent) usage() string {
	names := []string{"meta-data", "usage"}
	for _, act := range a.Actions {
		if act.Name != "meta-data" {
			names = append(names, act.Name)
		}
	}
	sort.Strings(names)
	var cmds []string
	for c := range a.Commands {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	s := fmt.Sprintf("usage: %s {%s}\n", a.Name, strings.Join(names, "|"))
	for _, c := range cmds {
		s += fmt.Sprintf("       %s %s [flags]   (for humans; see --help)\n", a.Name, c)
	}
	return s
}
