package ocf

import (
	"context"
	"io"
	"time"
)

// Agent is the one declaration of a resource agent (ra-api-1): what it is,
// its parameters and its actions, each action with its handler, timeout
// and interval. Run dispatches to it; its meta-data XML (XML), man page
// (ManPage) and parameter table (MarkdownTable) are rendered from it, so
// none of them can disagree with what the agent does.
type Agent struct {
	Name      string
	Version   string
	Shortdesc string
	Longdesc  string
	Params    []Param
	// Actions are advertised in the meta-data in this order. An action
	// without a Handler (meta-data) is advertised and answered by Run.
	Actions []Action
	// Sections are the man page's sections after the actions (exit codes,
	// IAM, warnings); the meta-data XML does not carry them.
	Sections []Section
	// Commands are non-OCF subcommands for humans (such as "status"); they
	// get the raw arguments after the command name.
	Commands map[string]Command
	// Redact, when set, rewrites every text before it leaves the process:
	// log lines (stderr, HA_LOGFILE, syslog), exit reasons, and what
	// commands write. The agent removes there whatever secrets its
	// libraries might quote in their errors, whichever produced them.
	Redact func(string) string
}

// Action is one action of an agent.
type Action struct {
	Name string
	// Timeout is the advertised default, and the budget Run gives the
	// handler when CRM_meta_timeout is unset.
	Timeout time.Duration
	// Interval is the advertised interval; zero: not advertised.
	Interval time.Duration
	// Depth, when HasDepth, is the advertised OCF_CHECK_LEVEL.
	Depth    int
	HasDepth bool
	// Handler runs the action; nil for meta-data, which Run answers.
	Handler Handler
}

// Handler runs an action. It returns nil for success or an error whose
// *Error (if any) carries the exit code and reason; see CodeOf.
type Handler func(ctx context.Context, r *Request) error

// Request is one invocation of an action.
type Request struct {
	Env *Env
	Log *Logger
	// Probe is true for a monitor with interval 0; it must change nothing.
	Probe bool
}

// Command is a subcommand outside the OCF actions, for humans.
type Command func(ctx context.Context, args []string, env *Env, stdout, stderr io.Writer) ExitCode

// ContentType is the type of a parameter's value, as ra-api-1.dtd allows it.
type ContentType string

// The content types ra-api-1.dtd accepts. "select" exists in OCF 1.1 but
// Debian's ocf-tester validates against the older DTD, which refuses it.
const (
	String  ContentType = "string"
	Integer ContentType = "integer"
	Boolean ContentType = "boolean"
	Time    ContentType = "time"
)

// Param describes one OCF_RESKEY_<Name> parameter.
type Param struct {
	Name      string
	Shortdesc string
	Longdesc  string
	Type      ContentType
	// Default is the literal default, advertised in the meta-data and used
	// when the parameter is unset. Empty means "no literal default".
	Default string
	// DefaultDoc describes a computed default (such as "ip/32") for humans;
	// it is not part of the XML, where only literal defaults belong.
	DefaultDoc string
	Required   bool
	Unique     bool
	// Choices, when set, lists the only values accepted (matched exactly).
	Choices []string
	// Check validates the syntax of a set value; nil means any value.
	Check func(value string) error
	// AliasOf names the parameter this one is a deprecated alias of.
	AliasOf string
	// NoEffect marks a parameter accepted only so that configurations written
	// for another agent validate; setting it changes nothing.
	NoEffect bool
}

// Section is one man page section: an introduction and tagged items.
type Section struct {
	Title string
	Intro string
	Items []Item
}

// Item is one tagged paragraph of a Section: Term in bold, then Label, on
// the tag line; Text below.
type Item struct {
	Term, Label, Text string
}

// handler returns the named action that has a handler.
func (a *Agent) handler(name string) (Action, bool) {
	for _, act := range a.Actions {
		if act.Name == name && act.Handler != nil {
			return act, true
		}
	}
	return Action{}, false
}
