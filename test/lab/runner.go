package lab

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Runner runs an OCF agent binary on a node as Pacemaker would.
type Runner struct {
	Bin      string
	Node     *Node
	Resource string        // OCF_RESOURCE_INSTANCE
	Timeout  time.Duration // OCF_RESKEY_CRM_meta_timeout (20 s when 0)
	Interval time.Duration // OCF_RESKEY_CRM_meta_interval when non-zero
	// AssetTag, when set, is what the DMI asset tag reads for the action,
	// as on a Nitro instance: the action runs in a private mount namespace
	// with a file bind-mounted over the tag (the host's stays as it is).
	AssetTag string
}

// Result is the outcome of one agent action.
type Result struct {
	Code    int
	Stdout  string
	Stderr  string
	Reason  string // text after the last "ocf-exit-reason:" on stderr
	Elapsed time.Duration
	Err     error // set when the process could not run or was killed
}

// Env returns the environment Run gives the agent (without extraEnv).
func (r *Runner) Env(params map[string]string) []string {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"OCF_ROOT=/usr/lib/ocf",
		"OCF_RESOURCE_INSTANCE=" + r.Resource,
		"OCF_RESKEY_CRM_meta_timeout=" + strconv.FormatInt(timeout.Milliseconds(), 10),
	}
	if r.Interval > 0 {
		env = append(env, "OCF_RESKEY_CRM_meta_interval="+strconv.FormatInt(r.Interval.Milliseconds(), 10))
	}
	if n := r.Node; n != nil {
		env = append(env,
			"HA_RSCTMP="+n.RscTmp,
			"HOME="+n.Home,
			"AWS_ENDPOINT_URL_EC2="+n.EC2URL,
			"AWS_ENDPOINT_URL_STS="+n.EC2URL,
			"AWS_EC2_METADATA_SERVICE_ENDPOINT="+n.IMDSURL,
			"AWS_ACCESS_KEY_ID="+n.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=routeha-test-secret-"+n.Name,
		)
	}
	return append(env, ParamEnv(params)...)
}

// ParamEnv returns params as the OCF_RESKEY_<name>=<value> entries Pacemaker
// gives an agent, sorted by name.
func ParamEnv(params map[string]string) []string {
	env := make([]string, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		env = append(env, "OCF_RESKEY_"+k+"="+params[k])
	}
	return env
}

// Run runs "Bin action" in the node's namespace with the OCF environment
// built from params; extraEnv entries (KEY=VALUE) are added last and win.
// The process is killed when ctx ends.
func (r *Runner) Run(ctx context.Context, action string, params map[string]string, extraEnv ...string) Result {
	line := []string{r.Bin, action}
	if r.AssetTag == "" && hostHasAssetTag() {
		// A Nitro host's tag names the host, not the emulated instance.
		line = []string{"unshare", "--mount", "--", "/bin/sh", "-c", hideAssetTagScript, "sh", r.Bin, action}
	}
	if r.AssetTag != "" {
		var cleanup func()
		var err error
		if line, cleanup, err = withAssetTag(r.AssetTag, r.Bin, action); err != nil {
			return Result{Code: -1, Err: err}
		}
		defer cleanup()
	}
	var cmd *exec.Cmd
	if r.Node != nil {
		cmd = r.Node.NS.Command(ctx, line[0], line[1:]...)
	} else {
		cmd = exec.CommandContext(ctx, line[0], line[1:]...)
	}
	cmd.Env = append(r.Env(params), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err := cmd.Run()
	res := Result{Elapsed: time.Since(start), Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		res.Code = ee.ExitCode()
	default:
		res.Code = -1
		res.Err = err
	}
	res.Reason = ExitReason(res.Stderr)
	return res
}

// ExitReason returns the text after the last "ocf-exit-reason:" in stderr.
func ExitReason(stderr string) string {
	const tag = "ocf-exit-reason:"
	reason := ""
	for _, line := range strings.Split(stderr, "\n") {
		if i := strings.Index(line, tag); i >= 0 {
			reason = strings.TrimSpace(line[i+len(tag):])
		}
	}
	return reason
}
