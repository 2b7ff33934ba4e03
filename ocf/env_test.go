package ocf_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/suzlab/routeha/ocf"
)

func TestEnvParamAndMeta(t *testing.T) {
	env := ocf.NewEnv([]string{
		"OCF_RESKEY_ip=192.0.2.10",
		"OCF_RESKEY_empty=",
		"OCF_RESKEY_eq=a=b=c",
		"OCF_RESKEY_CRM_meta_interval=10000",
		"OCF_RESKEY_CRM_meta_name=monitor",
		"NOEQUALS",
		"PATH=/usr/bin",
	})
	v, ok := env.Param("ip")
	assert.True(t, ok)
	assert.Equal(t, "192.0.2.10", v)

	v, ok = env.Param("empty")
	assert.True(t, ok, "an empty parameter is set (to nothing)")
	assert.Equal(t, "", v)

	v, ok = env.Param("eq")
	assert.True(t, ok)
	assert.Equal(t, "a=b=c", v, "only the first = separates name and value")

	_, ok = env.Param("missing")
	assert.False(t, ok)
	_, ok = env.Param("PATH")
	assert.False(t, ok, "Param reads only OCF_RESKEY_*")

	v, ok = env.Meta("name")
	assert.True(t, ok)
	assert.Equal(t, "monitor", v)
	_, ok = env.Meta("ip")
	assert.False(t, ok, "Meta reads only OCF_RESKEY_CRM_meta_*")

	_, ok = env.Lookup("NOEQUALS")
	assert.False(t, ok)
	v, ok = env.Lookup("PATH")
	assert.True(t, ok)
	assert.Equal(t, "/usr/bin", v)
	assert.Equal(t, "/usr/bin", env.Get("PATH"))
	assert.Equal(t, "", env.Get("NOPE"), "Get is os.Getenv: unset is empty")
}

func TestEnvLaterEntryWins(t *testing.T) {
	env := ocf.NewEnv([]string{"OCF_RESKEY_ip=192.0.2.1", "OCF_RESKEY_ip=192.0.2.2"})
	v, _ := env.Param("ip")
	assert.Equal(t, "192.0.2.2", v)
}

func TestEnvTimeout(t *testing.T) {
	cases := []struct {
		val  *string
		want time.Duration
		ok   bool
	}{
		{nil, 0, false},
		{ptr(""), 0, false},
		{ptr("20000"), 20 * time.Second, true},
		{ptr("1"), time.Millisecond, true},
		{ptr("0"), 0, true},
		{ptr("90000"), 90 * time.Second, true},
		{ptr("-5"), 0, false},
		{ptr("20s"), 0, false},
		{ptr("abc"), 0, false},
		{ptr("1.5"), 0, false},
		{ptr(" 100"), 0, false},
		{ptr("99999999999999999999999"), 0, false},
	}
	for _, c := range cases {
		var environ []string
		name := "<unset>"
		if c.val != nil {
			name = *c.val
			environ = []string{"OCF_RESKEY_CRM_meta_timeout=" + *c.val}
		}
		d, ok := ocf.NewEnv(environ).Timeout()
		assert.Equal(t, c.ok, ok, name)
		assert.Equal(t, c.want, d, name)
	}
}

func TestEnvInterval(t *testing.T) {
	assert.Equal(t, time.Duration(0), ocf.NewEnv(nil).Interval())
	assert.Equal(t, 10*time.Second, ocf.NewEnv([]string{"OCF_RESKEY_CRM_meta_interval=10000"}).Interval())
	assert.Equal(t, time.Duration(0), ocf.NewEnv([]string{"OCF_RESKEY_CRM_meta_interval=0"}).Interval())
	assert.Equal(t, time.Duration(0), ocf.NewEnv([]string{"OCF_RESKEY_CRM_meta_interval=junk"}).Interval())
}

func TestEnvIsProbe(t *testing.T) {
	noInterval := ocf.NewEnv(nil)
	zero := ocf.NewEnv([]string{"OCF_RESKEY_CRM_meta_interval=0"})
	recurring := ocf.NewEnv([]string{"OCF_RESKEY_CRM_meta_interval=10000"})

	assert.True(t, noInterval.IsProbe("monitor"))
	assert.True(t, zero.IsProbe("monitor"))
	assert.False(t, recurring.IsProbe("monitor"))
	for _, act := range []string{"start", "stop", "validate-all", "meta-data", "status", ""} {
		assert.False(t, zero.IsProbe(act), act)
		assert.False(t, noInterval.IsProbe(act), act)
	}
}

func TestEnvRscTmp(t *testing.T) {
	assert.Equal(t, "/run/resource-agents", ocf.NewEnv(nil).RscTmp())
	assert.Equal(t, "/run/resource-agents", ocf.NewEnv([]string{"HA_RSCTMP="}).RscTmp())
	assert.Equal(t, "/var/run/x", ocf.NewEnv([]string{"HA_RSCTMP=/var/run/x"}).RscTmp())
}

func TestEnvResourceInstance(t *testing.T) {
	assert.Equal(t, "default", ocf.NewEnv(nil).ResourceInstance())
	assert.Equal(t, "default", ocf.NewEnv([]string{"OCF_RESOURCE_INSTANCE="}).ResourceInstance())
	assert.Equal(t, "vip", ocf.NewEnv([]string{"OCF_RESOURCE_INSTANCE=vip"}).ResourceInstance())
}

// The doc comment of ResourceInstance promises that a clone's ":N" suffix
// is stripped, as ocf-shellfuncs does, so that every instance of a clone
// shares its state files and log tag.
func TestEnvResourceInstanceStripsCloneSuffix(t *testing.T) {
	assert.Equal(t, "vip", ocf.NewEnv([]string{"OCF_RESOURCE_INSTANCE=vip:0"}).ResourceInstance())
	assert.Equal(t, "vip", ocf.NewEnv([]string{"OCF_RESOURCE_INSTANCE=vip:12"}).ResourceInstance())
}

func TestEnvDebug(t *testing.T) {
	cases := []struct {
		environ []string
		want    bool
	}{
		{nil, false},
		{[]string{"HA_DEBUG=1"}, true},
		{[]string{"HA_debug=1"}, true},
		{[]string{"HA_DEBUG=0"}, false},
		{[]string{"HA_debug=0"}, false},
		{[]string{"HA_DEBUG=true"}, true},
		{[]string{"HA_DEBUG=yes"}, true},
		{[]string{"HA_DEBUG=no"}, false},
		{[]string{"HA_DEBUG=NO"}, false},
		{[]string{"HA_DEBUG=false"}, false},
		{[]string{"HA_DEBUG=False"}, false},
		{[]string{"HA_DEBUG="}, false},
		{[]string{"HA_debug=0", "HA_DEBUG=1"}, true},
		{[]string{"HA_debug=1", "HA_DEBUG=0"}, true},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, ocf.NewEnv(c.environ).Debug(), "%v", c.environ)
	}
}

func ptr(s string) *string { return &s }

// OCF_CHECK_LEVEL as ocf-shellfuncs reads it: Pacemaker passes an
// operation's OCF_CHECK_LEVEL attribute as OCF_RESKEY_OCF_CHECK_LEVEL,
// which wins over a plain OCF_CHECK_LEVEL; unset or not a decimal is 0.
func TestEnvCheckLevel(t *testing.T) {
	cases := []struct {
		env  []string
		want int
	}{
		{nil, 0},
		{[]string{"OCF_RESKEY_OCF_CHECK_LEVEL=10"}, 10},
		{[]string{"OCF_CHECK_LEVEL=10"}, 10},
		{[]string{"OCF_CHECK_LEVEL=0", "OCF_RESKEY_OCF_CHECK_LEVEL=20"}, 20},
		{[]string{"OCF_CHECK_LEVEL=10", "OCF_RESKEY_OCF_CHECK_LEVEL="}, 10},
		{[]string{"OCF_RESKEY_OCF_CHECK_LEVEL=deep"}, 0},
		{[]string{"OCF_RESKEY_OCF_CHECK_LEVEL=-5"}, 0},
		{[]string{"OCF_RESKEY_OCF_CHECK_LEVEL= 10 "}, 10},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, ocf.NewEnv(c.env).CheckLevel(), "%q", c.env)
	}
}
