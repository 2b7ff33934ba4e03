package moto_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHTMLErrorPage: moto answers DescribeRouteTables with the
// route.instance-id filter by an HTML "500 Internal Server Error" page. The
// agent does not use that filter; here the proxy adds it to the agent's own
// requests, so that the binary meets a real non-XML error body. start and
// validate-all must answer 1 (generic, recoverable) and the recurring
// monitor 190 (the VIP is here and the tables cannot be read: the control
// plane is down, not the data plane; issue 17), inside the action timeout,
// with a reason that says what failed, and not crash.
func TestHTMLErrorPage(t *testing.T) {
	w := motoWorld(t)
	ctx := ctxT(t)
	params := map[string]string{"ip": vip, "routing_table": strings.Join(w.Fix.Tables, ",")}
	for _, table := range w.Fix.Tables {
		require.NoError(t, w.SetRoute(ctx, table, vipCIDR, w.Fix.A.ENI))
	}
	r := w.Agent("a").Run(ctx, "start", params)
	require.Equal(t, 0, r.Code, "start: %s", show(r))

	w.Rec["a"].Rewrite = func(action string, p url.Values) {
		if action == "DescribeRouteTables" {
			p.Set("Filter.1.Name", "route.instance-id")
			p.Set("Filter.1.Value.1", w.Fix.A.ID)
		}
	}
	w.Rec["a"].Reset()
	for _, action := range []string{"monitor", "start", "validate-all"} {
		run := w.Agent("a")
		run.Timeout = 4 * time.Second
		if action == "monitor" {
			run.Interval = 10 * time.Second
		}
		res := run.Run(ctx, action, params)
		t.Logf("%s against an HTML error page: %s", action, show(res))
		want := 1
		if action == "monitor" {
			want = 190
		}
		assert.Equal(t, want, res.Code, "%s: %s", action, show(res))
		assert.NoError(t, res.Err)
		assert.Less(t, res.Elapsed, run.Timeout, "%s must end inside CRM_meta_timeout", action)
		assert.Contains(t, res.Reason, "DescribeRouteTables", "%s: the reason must name the call", action)
		assert.Contains(t, res.Reason, "500", "%s: the reason must say what the endpoint answered", action)
		assert.NotContains(t, res.Reason, "<html", "%s: the reason must not dump the page", action)
		assert.NotContains(t, res.Stderr, "panic", action)
	}
	var sawHTML bool
	for _, c := range w.Rec["a"].Calls() {
		if c.Action == "DescribeRouteTables" && c.Status == 500 {
			sawHTML = true
		}
	}
	require.True(t, sawHTML, "moto no longer answers the filter with HTTP 500; the test proves nothing")
	assert.True(t, hasVIP(t, w.Nodes["a"]), "a failed monitor must not remove the VIP")
}
