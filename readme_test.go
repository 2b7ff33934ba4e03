package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
)

var update = flag.Bool("update", false, "rewrite the README's parameter table from agent/params.go")

const (
	tableBegin = "<!-- parameters:begin (generated from agent/params.go: make docs) -->\n"
	tableEnd   = "<!-- parameters:end -->"
)

// The README's parameter table is generated from the one table in
// agent/params.go, like the meta-data XML and the man page; this keeps it so.
func TestREADMEParameterTable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(b)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	require.True(t, i >= 0 && j > i, "README.md lacks the parameter table markers")
	want := agent.New("", nil).Definition().MarkdownTable()
	if *update {
		readme = readme[:i+len(tableBegin)] + want + readme[j:]
		require.NoError(t, os.WriteFile("README.md", []byte(readme), 0o644))
		return
	}
	require.Equal(t, want, readme[i+len(tableBegin):j], "README.md's parameter table is stale: run make docs")
}
