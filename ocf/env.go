package ocf

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Env is what Pacemaker tells an agent through its environment.
type Env struct {
	vars map[string]string
}

// NewEnv reads an environment in os.Environ form.
func NewEnv(environ []string) *Env {
	e := &Env{vars: make(map[string]string, len(environ))}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.vars[k] = v
		}
	}
	return e
}

// Get returns a variable's value, "" when unset, as os.Getenv does.
func (e *Env) Get(name string) string { return e.vars[name] }

// Lookup returns a variable's value and whether it is set, as
// os.LookupEnv does.
func (e *Env) Lookup(name string) (string, bool) {
	v, ok := e.vars[name]
	return v, ok
}

// Param returns OCF_RESKEY_<name> and whether it is set.
func (e *Env) Param(name string) (string, bool) { return e.Lookup("OCF_RESKEY_" + name) }

// Meta returns OCF_RESKEY_CRM_meta_<name> and whether it is set.
func (e *Env) Meta(name string) (string, bool) { return e.Lookup("OCF_RESKEY_CRM_meta_" + name) }

// ResourceInstance is the resource's name (OCF_RESOURCE_INSTANCE), used to
// tag logs and to keep per-resource state apart. Clones get their ":N"
// suffix stripped, as ocf-shellfuncs does for state files.
func (e *Env) ResourceInstance() string {
	v := e.vars["OCF_RESOURCE_INSTANCE"]
	if i := strings.LastIndexByte(v, ':'); i > 0 && i < len(v)-1 && strings.Trim(v[i+1:], "0123456789") == "" {
		v = v[:i]
	}
	if v == "" {
		return "default"
	}
	return v
}

// Timeout is OCF_RESKEY_CRM_meta_timeout (milliseconds), or ok=false when
// Pacemaker did not set it (a manual run or ocf-tester), or set it to
// something that is not a count of milliseconds a time.Duration can hold
// (TimeoutRefused says which).
func (e *Env) Timeout() (time.Duration, bool) {
	d, ok, _ := e.millis("timeout")
	return d, ok
}

// TimeoutRefused returns CRM_meta_timeout's raw value when it is a number
// of milliseconds too large for a time.Duration (about 292 years): such a
// value used to wrap around into a deadline of a fraction of a millisecond.
// It is refused rather than clamped, because a clamped value would leave
// the action without any deadline of its own.
func (e *Env) TimeoutRefused() (string, bool) {
	_, _, overflow := e.millis("timeout")
	v, _ := e.Meta("timeout")
	return v, overflow
}

// Interval is the monitor interval (OCF_RESKEY_CRM_meta_interval, ms). An
// interval too large for a time.Duration is clamped to the largest one: it
// is still a recurring monitor, never a probe.
func (e *Env) Interval() time.Duration {
	d, ok, overflow := e.millis("interval")
	if overflow {
		return time.Duration(math.MaxInt64)
	}
	if !ok {
		return 0
	}
	return d
}

// maxMillis is the most milliseconds a time.Duration holds.
const maxMillis = math.MaxInt64 / int64(time.Millisecond)

// millis parses a CRM_meta_ value in milliseconds; overflow is true for a
// number too large for a time.Duration (ok is false then).
func (e *Env) millis(name string) (d time.Duration, ok, overflow bool) {
	v, set := e.Meta(name)
	if !set || v == "" {
		return 0, false, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange && v[0] != '-' {
			return 0, false, true
		}
		return 0, false, false
	}
	if ms < 0 {
		return 0, false, false
	}
	if ms > maxMillis {
		return 0, false, true
	}
	return time.Duration(ms) * time.Millisecond, true, false
}

// CheckLevel is the monitor depth (OCF_CHECK_LEVEL), read as
// ocf-shellfuncs reads it: Pacemaker passes an operation's OCF_CHECK_LEVEL
// attribute as OCF_RESKEY_OCF_CHECK_LEVEL, which wins over a plain
// OCF_CHECK_LEVEL; unset, empty or not a decimal number is 0. An agent
// runs the deepest level it has that is not above it (ocf_check_level).
func (e *Env) CheckLevel() int {
	for _, k := range []string{"OCF_RESKEY_OCF_CHECK_LEVEL", "OCF_CHECK_LEVEL"} {
		v := strings.TrimSpace(e.vars[k])
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	return 0
}

// IsProbe reports whether a monitor is a probe: a one-off with interval 0
// that Pacemaker runs to learn a resource's state (ocf_is_probe). A probe
// must never change anything.
func (e *Env) IsProbe(action string) bool {
	return action == "monitor" && e.Interval() == 0
}

// RscTmp is the directory for per-resource state that must not survive a
// reboot (HA_RSCTMP, default /run/resource-agents as in ocf-shellfuncs).
func (e *Env) RscTmp() string {
	if v := e.vars["HA_RSCTMP"]; v != "" {
		return v
	}
	return "/run/resource-agents"
}

// Debug reports whether debug logging is on (HA_debug or HA_DEBUG not 0).
func (e *Env) Debug() bool {
	for _, k := range []string{"HA_debug", "HA_DEBUG"} {
		if v := e.vars[k]; v != "" && v != "0" && !strings.EqualFold(v, "false") && !strings.EqualFold(v, "no") {
			return true
		}
	}
	return false
}
