// Package spawner starts make bench's measured processes from a small
// process of their own (cmd/spawn), which the benchmark driver starts once
// and sends one request per action: one JSON line each way, over its stdin
// and stdout.
//
// Why not start them from the driver: Linux records, at exec, the peak RSS
// of the address space the new program leaves, and Go's os/exec starts a
// child in its parent's address space (CLONE_VM). A child of the driver,
// which holds the EC2 emulator, would carry the driver's peak (about 15 MB)
// in its rusage; a child of the spawner carries the spawner's (3–4 MB),
// which the benchmark reports as the floor under its RSS figures.
package spawner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"syscall"
	"time"
)

// Request is one process to run and measure.
type Request struct {
	Argv    []string      `json:"argv"`
	Env     []string      `json:"env"`
	Timeout time.Duration `json:"timeout_ns"` // killed (by PID) after it
	// Output is the file that gets the process's stdout and stderr, the
	// file itself rather than a pipe, so that the spawner copies nothing.
	Output string `json:"output"`
}

// Response is what the process did. Ran: it was started and waited for;
// Code is -1 when it did not exit by itself (not started, or killed), and
// Err then says why.
type Response struct {
	Ran  bool          `json:"ran"`
	Code int           `json:"code"`
	Wall time.Duration `json:"wall_ns"` // from fork to the end of wait
	// Started is the wall clock just before the fork, for events that
	// other processes (the emulator) time-stamp with the same clock.
	Started  time.Time     `json:"started"`
	CPU      time.Duration `json:"cpu_ns"` // user + system, with waited-for children
	MaxRSSKB int64         `json:"maxrss_kb"`
	Err      string        `json:"err,omitempty"`
}

// Serve answers requests read from r, one JSON line each, with responses
// written to w, until r ends.
func Serve(r io.Reader, w io.Writer) error {
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 64*1024), 4*1024*1024)
	out := json.NewEncoder(w)
	for in.Scan() {
		var req Request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			return fmt.Errorf("bad request: %w", err)
		}
		if err := out.Encode(run(req)); err != nil {
			return err
		}
		// A child starts with this process's peak RSS as its own: give the
		// garbage back now rather than let the heap grow to its first
		// collection (4 MB). The peak stays near 4 MB over thousands of
		// requests, against 8 MB without this.
		debug.FreeOSMemory()
	}
	return in.Err()
}

// run starts the process, waits for it and measures it.
func run(req Request) Response {
	if len(req.Argv) == 0 {
		return Response{Code: -1, Err: "empty argv"}
	}
	output, err := os.Create(req.Output)
	if err != nil {
		return Response{Code: -1, Err: err.Error()}
	}
	defer output.Close()
	ctx, cancel := context.WithTimeout(context.Background(), req.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, req.Argv[0], req.Argv[1:]...)
	cmd.Env = req.Env
	cmd.Stdout, cmd.Stderr = output, output
	t0 := time.Now()
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	resp := Response{Code: -1, Wall: time.Since(t0), Started: t0}
	if err != nil {
		resp.Err = err.Error()
	}
	if cmd.ProcessState == nil {
		return resp
	}
	resp.Ran, resp.Code = true, cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		resp.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		resp.MaxRSSKB = ru.Maxrss
	}
	return resp
}

// Client is the driver's end: a running spawner.
type Client struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	enc *json.Encoder
	dec *json.Decoder
}

// Start runs the spawner at path (cmd/spawn, built).
func Start(path string) (*Client, error) {
	cmd := exec.Command(path)
	cmd.Stderr = os.Stderr
	// It goes with the driver, whatever ends the driver.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return &Client{cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}, nil
}

// Run has the spawner run one process and returns what it measured.
func (c *Client) Run(req Request) (Response, error) {
	if err := c.enc.Encode(req); err != nil {
		return Response{}, fmt.Errorf("spawner: %w", err)
	}
	var resp Response
	if err := c.dec.Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("spawner: %w", err)
	}
	return resp, nil
}

// Close ends the spawner (its stdin closes) and waits for it.
func (c *Client) Close() error {
	_ = c.in.Close()
	return c.cmd.Wait()
}
