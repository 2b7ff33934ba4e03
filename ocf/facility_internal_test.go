package ocf

import (
	"log/syslog"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFacility(t *testing.T) {
	for name, want := range map[string]syslog.Priority{
		"daemon": syslog.LOG_DAEMON, "user": syslog.LOG_USER, "authpriv": syslog.LOG_AUTHPRIV,
		"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local7": syslog.LOG_LOCAL7,
	} {
		got, ok := facility(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	for _, name := range []string{"", "none", "local8", "kern"} {
		_, ok := facility(name)
		assert.False(t, ok, name)
	}
	assert.Equal(t, "validate-all", canonical("validate"))
	assert.Equal(t, "usage", canonical("help"))
	assert.Equal(t, "start", canonical("start"))
}
