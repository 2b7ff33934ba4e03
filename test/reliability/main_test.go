// Package reliability checks routeha's promises under failure: every action
// ends inside CRM_meta_timeout with the right exit code and a reason whatever
// the EC2 API or IMDS do, nothing but the resource's own route ever changes,
// two nodes racing converge, a start killed half-way leaves a state the next
// monitor reports truthfully and the next start or stop repairs, and no
// secret reaches a log.
//
// It drives the built binary (ROUTEHA_BIN, else built by test/lab) as
// Pacemaker does, inside network namespaces made by the test, against the
// in-process EC2 emulator and one IMDS fake per node. It needs root.
//
// With ROUTEHA_RELIABILITY_OUT=<file> the measured tables (fault x action x
// exit code x time x reason) are written there as Markdown; doc/RELIABILITY.md
// holds a pasted run.
package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/test/lab"
	"github.com/suzlab/routeha/test/lab/labtest"
)

const (
	vip   = labtest.VIP
	vipDs = labtest.VIPDs
	rtb1  = labtest.RTB1
	rtb2  = labtest.RTB2
)

// env is one scenario (labtest.Env) with this package's own helpers.
type env struct {
	*labtest.Env

	// killCtx and killed serve the crash tests: the context that kills a
	// start, and where its result goes.
	killCtx context.Context
	killed  chan lab.Result
}

// newEnv: every test of the package checks, when it ends, that only the
// configured destination in the configured tables changed (labtest.NewEnv).
func newEnv(t *testing.T) *env { return &env{Env: labtest.NewEnv(t)} }

// rscTmpFiles lists HA_RSCTMP of a node.
func (e *env) rscTmpFiles(node string) []string {
	e.T.Helper()
	ents, err := os.ReadDir(e.W.Node(node).RscTmp)
	require.NoError(e.T, err)
	var names []string
	for _, d := range ents {
		names = append(names, d.Name())
	}
	return names
}

// The files routeha may keep in HA_RSCTMP: the identity cache of resource
// "vip" (imdsid.CachePath), the node's IMDSv2 token (imdsid.TokenPath) and
// the resource's last observation of its tables (lastread.Path).
const (
	cacheName       = "routeha-vip.identity"
	tokenName       = "routeha.imds-token"
	observationName = "routeha-vip.observation"
)

// allowedRscTmp reports whether every file in names is one routeha may keep.
func allowedRscTmp(names []string) bool {
	for _, n := range names {
		if n != cacheName && n != tokenName && n != observationName {
			return false
		}
	}
	return true
}

func (e *env) cachePath(node string) string {
	return filepath.Join(e.W.Node(node).RscTmp, cacheName)
}

// ---- measured tables ----

// row is one measured action.
type row struct {
	Table   string // which table of the report
	Case    string // the fault or situation
	Action  string
	Timeout time.Duration
	Code    int
	Elapsed time.Duration // fork to exit, as Pacemaker measures
	Own     time.Duration // the agent's own measure, when known
	Reason  string
}

var report struct {
	mu   sync.Mutex
	rows []row
}

func record(r row) {
	report.mu.Lock()
	defer report.mu.Unlock()
	report.rows = append(report.rows, r)
}

// tableOrder and caseOrder keep the written report in a stable order.
var (
	tableOrder = map[string]int{}
	caseOrder  = map[string]int{}
	actOrder   = map[string]int{}
)

func order(m map[string]int, keys ...string) {
	for i, k := range keys {
		m[k] = i
	}
}

func writeReport(path string) error {
	report.mu.Lock()
	rows := append([]row(nil), report.rows...)
	report.mu.Unlock()
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Table != b.Table {
			return tableOrder[a.Table] < tableOrder[b.Table]
		}
		if a.Case != b.Case {
			ca, oka := caseOrder[a.Case]
			cb, okb := caseOrder[b.Case]
			if oka && okb {
				return ca < cb
			}
			return a.Case < b.Case
		}
		return actOrder[a.Action] < actOrder[b.Action]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- written by test/reliability (ROUTEHA_RELIABILITY_OUT) on %s -->\n", time.Now().UTC().Format(time.RFC3339))
	table := ""
	for _, r := range rows {
		if r.Table != table {
			table = r.Table
			fmt.Fprintf(&b, "\n### %s\n\n", table)
			b.WriteString("| case | action | CRM_meta_timeout | exit code | time taken (agent's own) | exit reason |\n|---|---|---|---|---|---|\n")
		}
		reason := strings.ReplaceAll(r.Reason, "|", "\\|")
		if len(reason) > 300 {
			reason = reason[:300] + "…"
		}
		took := r.Elapsed.Round(10 * time.Millisecond).String()
		if r.Own > 0 {
			took += " (" + r.Own.Round(10*time.Millisecond).String() + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d %s | %s | %s |\n", r.Case, r.Action, r.Timeout, r.Code, codeName(r.Code),
			took, reason)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func codeName(c int) string {
	switch c {
	case 0:
		return "success"
	case 1:
		return "generic"
	case 2:
		return "args"
	case 3:
		return "unimplemented"
	case 4:
		return "perm"
	case 5:
		return "installed"
	case 6:
		return "configured"
	case 7:
		return "not running"
	case 190:
		return "degraded"
	}
	return "?"
}

func TestMain(m *testing.M) {
	code := m.Run()
	if out := os.Getenv("ROUTEHA_RELIABILITY_OUT"); out != "" {
		if err := writeReport(out); err != nil {
			fmt.Fprintf(os.Stderr, "writing %s: %v\n", out, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}
