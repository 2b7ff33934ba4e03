package cluster

import (
	"bytes"
	"strings"
	"testing"
)

// TestCorosyncConfTimeouts checks that token and consensus reach
// corosync.conf, and that consensus is left to corosync when unset.
func TestCorosyncConfTimeouts(t *testing.T) {
	render := func(token, consensus int64) string {
		var b bytes.Buffer
		if err := corosyncConf.Execute(&b, map[string]any{"Name": "x", "Token": token, "Consensus": consensus, "Nodes": []*Node{{Name: "a", ID: 1, Addr: "10.0.0.1"}}}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	guides := render(30000, 36000)
	if !strings.Contains(guides, "\ttoken: 30000\n") || !strings.Contains(guides, "\tconsensus: 36000\n") {
		t.Errorf("token 30000 / consensus 36000 not in:\n%s", guides)
	}
	if def := render(1000, 0); strings.Contains(def, "consensus") || !strings.Contains(def, "\ttoken: 1000\n") {
		t.Errorf("default: want token 1000 and no consensus line:\n%s", def)
	}
}
