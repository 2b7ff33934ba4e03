package ocf

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParamError says which parameter has which bad value and why. Its message
// is the one sentence an operator sees in crm_mon.
type ParamError struct {
	Param  string
	Value  string
	Reason string
}

func (e *ParamError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("parameter %s: %s", e.Param, e.Reason)
	}
	return fmt.Sprintf("parameter %s=%q: %s", e.Param, Printable(e.Value), e.Reason)
}

// Printable shortens and sanitises a value for an exit reason, which
// Pacemaker keeps on one line of limited length: control characters become
// '?', and what is quoted (%q) takes at most 80 columns.
func Printable(v string) string { return printable(v, 80) }

// printable is Printable within width columns. Reasons show the value
// quoted, where a quote, a backslash or an invalid byte takes more room
// than in the value: the limit is on the quoted width, so that a value
// made of quotes cannot double the reason's length.
func printable(v string, width int) string {
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, v)
	used := 0
	for i := 0; i < len(v); {
		_, size := utf8.DecodeRuneInString(v[i:])
		w := len(strconv.Quote(v[i:i+size])) - 2
		if used+w > width {
			return v[:i] + "..."
		}
		used += w
		i += size
	}
	return v
}

// Values are parameter values after defaults and syntax checks.
type Values struct {
	values map[string]string
	set    map[string]bool
}

// Get returns the value of a parameter (its default when unset).
func (v Values) Get(name string) string { return v.values[name] }

// IsSet reports whether the parameter was given explicitly.
func (v Values) IsSet(name string) bool { return v.set[name] }

// Bool returns a boolean parameter; Parse has already checked its syntax.
func (v Values) Bool(name string) bool {
	b, _ := ParseBool(v.values[name])
	return b
}

// SetNames lists the parameters given explicitly, sorted.
func (v Values) SetNames() []string {
	names := make([]string, 0, len(v.set))
	for n := range v.set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseBool reads a boolean parameter. True is every spelling
// ocf-shellfuncs' ocf_is_true accepts (yes, true, 1, YES, TRUE, True, ja,
// on, ON) and, in any case, the spellings of Pacemaker's crm_is_true (y,
// yes, true, on), which earlier releases accepted: a value that worked
// before must not make a recurring monitor answer OCF_ERR_CONFIGURED,
// which Pacemaker treats as fatal on every node. False is 0, false, no,
// off or n in any case. Anything else is refused rather than read as
// false, as ocf_is_true would: a value that looks true must not silently
// mean false.
func ParseBool(s string) (bool, error) {
	switch s {
	case "yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON":
		return true, nil
	}
	switch strings.ToLower(s) {
	case "y", "yes", "true", "on":
		return true, nil
	case "0", "false", "no", "off", "n":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (use true or false)")
}

// ParseParams reads every parameter of a table through lookup (which
// reports whether a parameter is set), resolves aliases, applies defaults
// and runs each parameter's checks. The first problem found is returned as
// a *ParamError; parameters are checked in table order so the answer is
// stable.
func ParseParams(params []Param, lookup func(name string) (string, bool)) (Values, error) {
	v := Values{values: map[string]string{}, set: map[string]bool{}}
	for _, p := range params {
		val, ok := lookup(p.Name)
		if ok && val == "" {
			// Pacemaker passes an empty string for a parameter that was
			// set to nothing; treat it as unset, as shell agents do.
			ok = false
		}
		if ok {
			v.values[p.Name] = val
			v.set[p.Name] = true
		} else {
			v.values[p.Name] = p.Default
		}
	}
	// Aliases fill their target when the target itself is unset.
	for _, p := range params {
		if p.AliasOf == "" || !v.set[p.Name] {
			continue
		}
		if v.set[p.AliasOf] && !sameValue(v.values[p.AliasOf], v.values[p.Name]) {
			return Values{}, &ParamError{Param: p.Name, Value: v.values[p.Name],
				Reason: fmt.Sprintf("is a deprecated alias of %s, which is set to a different value", p.AliasOf)}
		}
		if !v.set[p.AliasOf] {
			v.values[p.AliasOf] = v.values[p.Name]
			v.set[p.AliasOf] = true
		}
	}
	for _, p := range params {
		if err := p.check(v.values[p.Name], v.set[p.Name]); err != nil {
			return Values{}, err
		}
	}
	return v, nil
}

func (p Param) check(val string, set bool) error {
	if !set {
		if p.Required && p.Default == "" {
			return &ParamError{Param: p.Name, Reason: "is required but not set"}
		}
		return nil
	}
	fail := func(reason string) error { return &ParamError{Param: p.Name, Value: val, Reason: reason} }
	if strings.ContainsRune(val, 0) {
		return fail("contains a NUL byte")
	}
	switch p.Type {
	case Boolean:
		if _, err := ParseBool(val); err != nil {
			return fail(err.Error())
		}
	case Integer:
		if _, err := strconv.ParseInt(val, 10, 64); err != nil {
			return fail("is not an integer")
		}
	}
	if len(p.Choices) > 0 {
		ok := false
		for _, c := range p.Choices {
			if val == c {
				ok = true
				break
			}
		}
		if !ok {
			return fail("must be one of " + strings.Join(p.Choices, ", "))
		}
	}
	if p.Check != nil {
		if err := p.Check(val); err != nil {
			return fail(err.Error())
		}
	}
	return nil
}

// sameValue compares two spellings of a value; IP addresses compare by
// address, so 2001:DB8::1 and 2001:db8::1 are one value.
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	x, errx := netip.ParseAddr(a)
	y, erry := netip.ParseAddr(b)
	return errx == nil && erry == nil && x == y
}
