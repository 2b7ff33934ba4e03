package agent

import (
	"regexp"
	"strings"
)

// redactor removes credential material from text before it leaves the
// process (ocf.Agent.Redact): log lines, exit reasons, command output. It
// does not matter what produced the text: routeha's own errors, the EC2
// client's, or the SDK's credential providers, which quote what they could
// not parse (a credential_process that printed its keys with an
// unparsable Expiration has its whole output in the provider's error).
type redactor struct {
	// keyValue: a secret named by its key, as JSON, INI, environment
	// variables, HTTP headers and query strings write it.
	keyValue *regexp.Regexp
	// element: a secret in an XML element (STS and IMDS answers).
	element *regexp.Regexp
	// run: candidates for a bare secret access key.
	run *regexp.Regexp
}

const redacted = "[redacted]"

func newRedactor() *redactor {
	return &redactor{
		keyValue: regexp.MustCompile(`(?i)("?[\w.-]*(?:secret|token|password|signature)[\w.-]*"?\s*[:=]\s*)("[^"]*"?|'[^']*'?|[^\s,;&}<>"']+)`),
		element:  regexp.MustCompile(`(?i)(<(?:\w+:)?(?:SecretAccessKey|SessionToken|Token|Password)>)[^<]*`),
		run:      regexp.MustCompile(`[A-Za-z0-9/+=]{40,}`),
	}
}

// Redact returns s without the credential material it can recognise.
func (r *redactor) Redact(s string) string {
	if s == "" {
		return s
	}
	s = r.keyValue.ReplaceAllStringFunc(s, func(m string) string {
		sub := r.keyValue.FindStringSubmatch(m)
		value := sub[2]
		if value == "" || strings.EqualFold(strings.Trim(value, `"'`), redacted) {
			return m
		}
		q := ""
		if strings.HasPrefix(value, `"`) || strings.HasPrefix(value, `'`) {
			q = value[:1]
		}
		return sub[1] + q + redacted + q
	})
	s = r.element.ReplaceAllString(s, "${1}"+redacted)
	// A secret access key is 40 characters of base64 with upper and lower
	// case letters and digits; hex digests and ids have no upper case.
	return r.run.ReplaceAllStringFunc(s, func(m string) string {
		if len(strings.TrimRight(m, "=")) != 40 {
			return m
		}
		var upper, lower, digit bool
		for _, c := range m {
			switch {
			case c >= 'A' && c <= 'Z':
				upper = true
			case c >= 'a' && c <= 'z':
				lower = true
			case c >= '0' && c <= '9':
				digit = true
			}
		}
		if upper && lower && digit {
			return redacted
		}
		return m
	})
}
