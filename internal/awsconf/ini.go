package awsconf

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// section is one [header] of a shared file: its properties, keys in lower
// case, and the indented sub-properties under a property whose own value is
// empty (`ec2 =` followed by `  endpoint_url = ...` in a [services] section).
type section struct {
	props map[string]string
	sub   map[string]map[string]string
}

// iniFile is a parsed shared file, sections keyed by their full header
// ("default", "profile prod", "services local", or "prod" in the
// credentials file).
type iniFile map[string]*section

// parseINI reads the AWS CLI's dialect of INI: whole-line comments start
// with # or ;, a property's comment starts with whitespace followed by # or
// ;, "=" or ":" separates key and value, a value in matching quotes loses
// them, and an indented line continues the property above it. Lines that
// fit none of these are ignored, as the CLI and SDKs ignore them, so that a
// file they accept is accepted here too.
func parseINI(r io.Reader) (iniFile, error) {
	f := iniFile{}
	var cur *section
	var lastKey string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		indented := trimmed != line
		if !indented && trimmed[0] == '[' {
			header := cutAny(line, "#", ";")
			header = strings.TrimSpace(header)
			if !strings.HasSuffix(header, "]") {
				return nil, fmt.Errorf("line %d: section header %q lacks its ]", n, header)
			}
			name := strings.Join(strings.Fields(header[1:len(header)-1]), " ")
			if f[name] == nil {
				f[name] = &section{props: map[string]string{}, sub: map[string]map[string]string{}}
			}
			cur, lastKey = f[name], ""
			continue
		}
		if cur == nil {
			continue // properties before any section belong to no profile
		}
		if indented {
			// A sub-property of the last property, or a continuation line.
			if lastKey == "" {
				continue
			}
			k, v, ok := splitProperty(trimmed)
			if !ok {
				continue
			}
			if cur.sub[lastKey] == nil {
				cur.sub[lastKey] = map[string]string{}
			}
			cur.sub[lastKey][k] = v
			continue
		}
		k, v, ok := splitProperty(cutAny(line, " #", " ;", "\t#", "\t;"))
		if !ok {
			continue
		}
		cur.props[k] = v
		lastKey = k
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// cutAny returns s up to the first of the separators.
func cutAny(s string, seps ...string) string {
	for _, sep := range seps {
		s, _, _ = strings.Cut(s, sep)
	}
	return s
}

// splitProperty splits "key = value" (or "key: value", whichever separator
// comes first), lower-casing the key and unquoting the value.
func splitProperty(s string) (key, value string, ok bool) {
	i := strings.IndexAny(s, "=:")
	if i < 0 {
		return "", "", false
	}
	key = strings.ToLower(strings.TrimSpace(s[:i]))
	value = strings.TrimSpace(s[i+1:])
	if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
		value = value[1 : len(value)-1]
	}
	return key, value, key != ""
}
