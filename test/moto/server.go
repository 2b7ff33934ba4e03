// Package moto runs routeha against moto_server (getmoto/moto), the EC2
// emulator that much of the AWS world tests against and that nobody here
// wrote, as a second opinion on our own emulator (test/ec2emu).
//
// moto_server runs inside a network namespace of its own, listening on that
// namespace's 127.0.0.1; the test process reaches it by dialling from inside
// the namespace, and each simulated node reaches it through a recording
// proxy that the test serves on the node's own loopback. Nothing listens on,
// or sends to, an address of the host.
package moto

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/suzlab/routeha/test/lab"
)

// Port is where moto_server listens inside its namespace.
const Port = 5000

// ErrAbsent is returned by Find when no moto_server is installed.
var ErrAbsent = errors.New("moto_server is not installed (pip install 'moto[server]==5.2.1')")

// Find returns the moto_server executable: from PATH, else from the usual
// pyenv shims (the machine image installs moto into pyenv's Python 3.11).
func Find() (string, error) {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	var dirs []string
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		dirs = append(dirs, filepath.Join(r, "shims"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".pyenv", "shims"))
	}
	dirs = append(dirs, "/root/.pyenv/shims")
	for _, d := range dirs {
		p := filepath.Join(d, "moto_server")
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrAbsent
}

// Server is one moto_server process in a network namespace made for it.
type Server struct {
	NS   *lab.Netns
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep the log bounded
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start creates a namespace, starts moto_server (path from Find) inside it
// in a process group of its own, and waits until it answers. Close stops it.
func Start(ctx context.Context, path string) (*Server, error) {
	removeStale()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	s := &Server{out: &syncBuffer{}, done: make(chan struct{})}
	ns, err := lab.CreateNetns(fmt.Sprintf("routeha-moto-%d-%s", os.Getpid(), hex.EncodeToString(b)))
	if err != nil {
		return nil, err
	}
	s.NS = ns
	s.cmd = ns.Command(context.Background(), path, "-H", "127.0.0.1", "-p", fmt.Sprint(Port))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.removeNS()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.Reset(rctx)
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.done:
			s.removeNS()
			return nil, fmt.Errorf("moto_server exited before answering: %v\n%s", s.cmd.ProcessState, s.out.String())
		case <-ctx.Done():
			_ = s.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log := s.out.String()
			_ = s.Close()
			return nil, fmt.Errorf("moto_server did not answer within 60 s (%v):\n%s", err, log)
		}
	}
}

// Log returns what moto_server printed so far.
func (s *Server) Log() string { return s.out.String() }

// Close stops moto_server (its process group, by id) and removes the
// namespace.
func (s *Server) Close() error {
	if s.cmd != nil && s.cmd.Process != nil {
		pgid := s.cmd.Process.Pid // Setpgid: the group is the child's pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
		}
	}
	return s.removeNS()
}

func (s *Server) removeNS() error { return s.NS.Close() }

// Addr is moto's address inside its namespace.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", Port) }

// URL is moto's base URL inside its namespace.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Dial connects to addr from inside moto's namespace.
func (s *Server) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return s.NS.Dial(ctx, network, addr)
}

// Transport is an HTTP transport whose connections are made inside moto's
// namespace.
func (s *Server) Transport() *http.Transport {
	return &http.Transport{DialContext: s.Dial, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
}

// HTTPClient is an HTTP client that reaches moto.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{Transport: s.Transport(), Timeout: 30 * time.Second}
}

// Reset clears all of moto's state (POST /moto-api/reset).
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /moto-api/reset: %s", resp.Status)
	}
	return nil
}

// EC2 returns an SDK client for moto in region, without retries, so that
// each call is one request.
func (s *Server) EC2(region string) *ec2.Client {
	return NewEC2(s.URL(), region, s.HTTPClient())
}

// NewEC2 returns an SDK client for an EC2 endpoint, without retries.
func NewEC2(endpoint, region string, hc *http.Client) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:           region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAROUTEHATEST", "routeha-test-secret", ""),
		HTTPClient:       hc,
		RetryMaxAttempts: 1,
	})
}

// removeStale stops what an earlier test process that died without its
// cleanup (killed, SIGPIPE) left behind: the moto_server in a namespace
// named routeha-moto-<its pid>-*, killed by PID, and the namespace.
func removeStale() {
	names, _ := filepath.Glob("/run/netns/routeha-moto-*")
	for _, path := range names {
		name := filepath.Base(path)
		var pid int
		var rest string
		if n, _ := fmt.Sscanf(strings.TrimPrefix(name, "routeha-moto-"), "%d-%s", &pid, &rest); n != 2 || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // its test process still runs
		}
		out, _ := exec.Command("ip", "netns", "pids", name).Output()
		for _, f := range strings.Fields(string(out)) {
			if p, err := strconv.Atoi(f); err == nil && p > 1 {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
	}
}
