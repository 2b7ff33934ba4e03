package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/ocf"
)

func TestRedactCredentialMaterial(t *testing.T) {
	r := newRedactor()
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	const token = "IQoJb3JpZ2luX2VjEJr//////////wEaCWV1LXdlc3QtMSJHMEUCIQD"
	cases := map[string][]string{
		// The SDK's process provider quoting an output it could not parse.
		`process provider error: parse failed of process output: {"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "` + secret + `", "SessionToken": "` + token + `", "Expiration": "in one hour"}`: {secret, token},
		// Cut short: no closing quote.
		`output: {"SecretAccessKey":"` + secret[:30]:                                                               {secret[:30]},
		"aws_secret_access_key = " + secret + "\naws_session_token=" + token:                                       {secret, token},
		"AWS_SECRET_ACCESS_KEY=" + secret + " AWS_SESSION_TOKEN='" + token + "'":                                   {secret, token},
		"<Credentials><SecretAccessKey>" + secret + "</SecretAccessKey><SessionToken>" + token + "</SessionToken>": {secret, token},
		"X-Amz-Security-Token=" + token + "&X-Amz-Signature=abc123":                                                {token, "abc123"},
		"X-Aws-Ec2-Metadata-Token: AQAEAdeadbeef":                                                                  {"AQAEAdeadbeef"},
		`{"Code":"Success","Token":"` + token + `","SecretAccessKey":"x"}`:                                         {token},
		"a bare key " + secret + " in a message":                                                                   {secret},
	}
	for in, secrets := range cases {
		out := r.Redact(in)
		for _, s := range secrets {
			assert.NotContains(t, out, s, "in %q", in)
		}
		assert.Contains(t, out, redacted, in)
	}
	// What operators need stays.
	for _, keep := range []string{
		"DescribeRouteTables: RequestLimitExceeded: Request limit exceeded.",
		"rtb-0aaaaaaaaaaaaaaa1 routes it to i-0bbbbbbbbbbbbbbb2 (eni-0bbbbbbbbbbbbbbb2)",
		"no credentials from credential_process: failed to refresh cached credentials",
		"commit 5346d95c4f0e2b8a9d7c6b5a4f3e2d1c0b9a8f7e (hex, no upper case)",
		"AccessKeyId AKIAIOSFODNN7EXAMPLE is not a secret",
	} {
		assert.Equal(t, keep, r.Redact(keep))
	}
}

// Every error reaches the log and the exit reason redacted, whatever
// produced it: here an identity adapter's error quoting keys.
func TestActionErrorsRedacted(t *testing.T) {
	w := newWorld(t, nodeA, newFakeRoutes(table(rtb1, &nodeB)))
	w.adapters.id.err = errors.New(`"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"`)
	r := w.run("start", map[string]string{"HA_DEBUG": "1"})
	requireCode(t, ocf.ErrGeneric, r)
	assert.NotContains(t, r.stderr, "wJalrXUtnFEMI")
	assert.True(t, strings.Contains(r.stderr, redacted), r.stderr)
}
