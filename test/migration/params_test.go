package migration_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/lab/labtest"
)

// The parameters aws-vpc-move-ip has and routeha ignores say so: one info
// line each per action, on stderr and in HA_LOGFILE; a parameter that is
// not set says nothing.
func TestNoEffectParameters(t *testing.T) {
	labtest.NeedTools(t, "ip")
	t.Parallel()
	s := newSite(t)
	noEffect := map[string]string{
		"monapi": "true", "awscli": "/usr/bin/aws", "curl_retries": "3", "curl_sleep": "1", "awscli_timeout": "10",
	}
	params := map[string]string{}
	for k, v := range configured {
		params[k] = v
	}
	for k, v := range noEffect {
		params[k] = v
	}
	logfile := filepath.Join(t.TempDir(), "ha.log")
	for _, action := range []string{"validate-all", "start", "monitor", "stop"} {
		require.NoError(t, os.WriteFile(logfile, nil, 0o644))
		r := s.run(t, labtest.AgentBinary(t), action, params, "HA_LOGFILE="+logfile)
		require.Equal(t, 0, r.Code, "%s: %s", action, r.Stderr)
		file, err := os.ReadFile(logfile)
		require.NoError(t, err)
		for name := range noEffect {
			re := regexp.MustCompile(`(?m)^.*\bparameter ` + name + `\b.*no effect.*$`)
			lines := re.FindAllString(r.Stderr, -1)
			if assert.Len(t, lines, 1, "%s: stderr lines about %s:\n%s", action, name, r.Stderr) {
				assert.True(t, strings.HasPrefix(lines[0], "INFO: "), "%s: %q is not at info level", action, lines[0])
			}
			lines = re.FindAllString(string(file), -1)
			if assert.Len(t, lines, 1, "%s: HA_LOGFILE lines about %s:\n%s", action, name, file) {
				assert.Contains(t, lines[0], " INFO: ", "%s: HA_LOGFILE line is not at info level", action)
			}
		}
		// Parameters that do have an effect are not reported as ignored.
		for name := range configured {
			if _, ok := noEffect[name]; !ok {
				assert.NotRegexp(t, `parameter `+name+`\b.*no effect`, r.Stderr, action)
			}
		}
		if action == "validate-all" {
			transcript(t, "no-effect", "routeha validate-all   # with "+strings.Join(sortedKeys(noEffect), ", ")+" set", r.Stderr+"rc=0")
		}
	}
}

// address is aws-vpc-move-ip's deprecated alias of ip: a configuration that
// names the VIP only through it validates, starts, monitors and stops.
func TestAddressAlias(t *testing.T) {
	labtest.NeedTools(t, "ip")
	t.Parallel()
	s := newSite(t)
	params := map[string]string{}
	for k, v := range configured {
		params[k] = v
	}
	delete(params, "ip")
	params["address"] = vip
	bin := labtest.AgentBinary(t)
	for _, step := range []struct {
		action string
		want   int
		vip    string
		extra  []string
	}{
		{"validate-all", 0, "", nil},
		{"start", 0, "eth0:0", nil},
		{"monitor", 0, "eth0:0", []string{"OCF_RESKEY_CRM_meta_interval=60000"}},
		{"stop", 0, "", nil},
		{"monitor", 7, "", []string{"OCF_RESKEY_CRM_meta_interval=60000"}},
	} {
		r := s.run(t, bin, step.action, params, step.extra...)
		require.Equal(t, step.want, r.Code, "%s with address=%s: %s", step.action, vip, r.Stderr)
		assert.Equal(t, step.vip, s.vipLabel(t), "VIP label after %s", step.action)
		if step.action == "start" {
			here := s.n.ENI + "/" + s.n.InstanceID
			assert.Equal(t, map[string]string{"rtb-0aaaaaaaaaaaaaaa1": here, "rtb-0bbbbbbbbbbbbbbb2": here}, s.targets(t))
		}
	}
	// Both, disagreeing, is a configuration error rather than a guess.
	params["ip"] = "192.0.2.11"
	r := s.run(t, bin, "validate-all", params)
	t.Logf("ip=192.0.2.11 address=%s: %s", vip, codeLine(r))
}

// auth_type takes key or role; anything else is a configuration error (6)
// with a reason naming the parameter, from the agent and through
// crm_resource.
func TestAuthTypeInvalid(t *testing.T) {
	labtest.NeedTools(t, "ip", "crm_resource", "unshare")
	t.Parallel()
	s := newSite(t)
	params := map[string]string{}
	for k, v := range configured {
		params[k] = v
	}
	params["auth_type"] = "foo"
	for _, action := range []string{"validate-all", "start", "monitor"} {
		r := s.run(t, labtest.AgentBinary(t), action, params)
		assert.Equal(t, 6, r.Code, "%s with auth_type=foo: %s", action, r.Stderr)
		assert.Contains(t, r.Reason, "auth_type", "%s: the reason names the parameter", action)
		assert.Contains(t, r.Reason, "foo", "%s: the reason names the value", action)
	}
	assert.Equal(t, "", s.vipLabel(t), "a refused start added the VIP")
	assert.Zero(t, s.w.Emu.Count("ReplaceRoute")+s.w.Emu.Count("CreateRoute"), "a refused start wrote a route")
	// stop of a misconfigured resource still succeeds (a failed stop fences).
	r := s.run(t, labtest.AgentBinary(t), "stop", params)
	assert.Equal(t, 0, r.Code, "stop with auth_type=foo: %s", r.Stderr)

	args := []string{"--validate", "--class", "ocf", "--provider", "suzlab", "--agent", "routeha"}
	for _, k := range sortedKeys(params) {
		args = append(args, "--option", k+"="+params[k])
	}
	out, code := tool(t, stagedAgents(t), s.env, "crm_resource", args...)
	transcript(t, "auth-type", "crm_resource "+strings.Join(args, " ")+"; echo rc=$?", out+"rc="+itoa(code))
	assert.NotEqual(t, 0, code, "crm_resource --validate accepted auth_type=foo:\n%s", out)
	assert.Contains(t, out, "returned 6", "crm_resource does not report the agent's 6:\n%s", out)
	assert.Contains(t, out, "auth_type")
}
