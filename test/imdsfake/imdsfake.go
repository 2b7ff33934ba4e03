// Package imdsfake is a small EC2 instance metadata service (IMDSv2 only) for
// tests: one Server per simulated node, with its own identity, request
// counting and outage injection.
package imdsfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Interface is one network interface of the instance.
type Interface struct {
	MAC         string `json:"mac"`
	ENI         string `json:"eni"`
	DeviceIndex int    `json:"deviceIndex"`
	VPC         string `json:"vpc"`
	Subnet      string `json:"subnet"`
	IP          string `json:"ip"`
}

// Config is the identity of one instance.
type Config struct {
	InstanceID string      `json:"instanceId"`
	Region     string      `json:"region"`
	AZ         string      `json:"az"`
	AccountID  string      `json:"accountId"`
	Interfaces []Interface `json:"interfaces"`
	// Role is the name of the instance profile's role; empty means the
	// instance has no instance profile (IMDS answers 404, as EC2 does).
	Role string `json:"role,omitempty"`
}

// RoleAccessKeyID is the access key id of the instance profile's
// credentials that the server hands out for an instance: derived from the
// instance id, so that the EC2 emulator's request log shows which node's
// instance profile signed a request.
func RoleAccessKeyID(instanceID string) string {
	return "ASIAIMDS" + strings.ToUpper(strings.TrimPrefix(instanceID, "i-"))
}

// Fault describes an outage: Down answers every request with 503, or closes
// the connection without answering when Close is set; Latency delays every
// request (ended early when the client goes away).
type Fault struct {
	Down    bool          `json:"down"`
	Close   bool          `json:"close"`
	Latency time.Duration `json:"latency"`
}

// TokenPath is the path of the IMDSv2 token endpoint; it is counted under this
// key in Counts.
const TokenPath = "/latest/api/token"

// Server is an http.Handler serving one instance's metadata.
type Server struct {
	cfg    Config
	now    func() time.Time
	mu     sync.Mutex
	tokens map[string]time.Time
	counts map[string]int
	fault  Fault
}

// New returns a server for cfg. AccountID defaults to 123456789012.
func New(cfg Config) *Server {
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	sort.Slice(cfg.Interfaces, func(i, j int) bool { return cfg.Interfaces[i].DeviceIndex < cfg.Interfaces[j].DeviceIndex })
	return &Server{cfg: cfg, now: time.Now, tokens: map[string]time.Time{}, counts: map[string]int{}}
}

// Counts returns requests per path since the last reset (token requests under
// TokenPath).
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}

// Total returns the number of metadata requests (tokens excluded).
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.counts {
		if k != TokenPath {
			n += v
		}
	}
	return n
}

// Reset clears the counters.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
}

// SetFault sets the outage (the zero Fault ends it).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// ExpireTokens makes every issued token invalid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]time.Time{}
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.Method + " " + r.URL.Path {
	case "GET /_imds/counts":
		_ = json.NewEncoder(w).Encode(s.Counts())
	case "POST /_imds/reset":
		s.Reset()
		_, _ = w.Write([]byte("{}\n"))
	case "POST /_imds/fault":
		var raw struct {
			Down    bool   `json:"down"`
			Close   bool   `json:"close"`
			Latency string `json:"latency"`
		}
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f := Fault{Down: raw.Down, Close: raw.Close}
		if raw.Latency != "" {
			d, err := time.ParseDuration(raw.Latency)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			f.Latency = d
		}
		s.SetFault(f)
		_, _ = w.Write([]byte("{}\n"))
	case "GET /_imds/config":
		_ = json.NewEncoder(w).Encode(s.cfg)
	default:
		http.NotFound(w, r)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_imds/") {
		s.serveAdmin(w, r)
		return
	}
	s.mu.Lock()
	s.counts[r.URL.Path]++
	f := s.fault
	s.mu.Unlock()
	if f.Latency > 0 && !sleep(r.Context(), f.Latency) {
		return
	}
	if f.Down {
		if f.Close {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					_ = c.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == TokenPath {
		s.token(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !s.valid(r.Header.Get("X-aws-ec2-metadata-token")) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, ok := s.lookup(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/document") {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain")
	}
	_, _ = w.Write([]byte(body))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
	if err != nil || ttl < 1 || ttl > 21600 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "AQAEA" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = s.now().Add(time.Duration(ttl) * time.Second)
	s.mu.Unlock()
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(tok))
}

func (s *Server) valid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	if ok && !s.now().Before(exp) {
		delete(s.tokens, tok)
		return false
	}
	return ok
}

func (s *Server) primary() Interface {
	if len(s.cfg.Interfaces) > 0 {
		return s.cfg.Interfaces[0]
	}
	return Interface{}
}

// SetRole gives the instance an instance profile with this role name, or
// takes it away ("").
func (s *Server) SetRole(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Role = name
}

func (s *Server) lookup(path string) (string, bool) {
	s.mu.Lock()
	c := s.cfg
	s.mu.Unlock()
	p := s.primary()
	switch path {
	case "/latest/meta-data/instance-id":
		return c.InstanceID, true
	case "/latest/meta-data/placement/region":
		return c.Region, true
	case "/latest/meta-data/placement/availability-zone":
		return c.AZ, true
	case "/latest/meta-data/mac":
		return p.MAC, p.MAC != ""
	case "/latest/meta-data/local-ipv4":
		return p.IP, p.IP != ""
	case "/latest/meta-data/instance-type":
		return "t3.micro", true
	case "/latest/meta-data/network/interfaces/macs", "/latest/meta-data/network/interfaces/macs/":
		var lines []string
		for _, i := range c.Interfaces {
			lines = append(lines, i.MAC+"/")
		}
		return strings.Join(lines, "\n"), true
	case "/latest/meta-data/iam/security-credentials", "/latest/meta-data/iam/security-credentials/":
		return c.Role, c.Role != ""
	case "/latest/meta-data/iam/security-credentials/" + c.Role:
		if c.Role == "" {
			return "", false
		}
		now := s.now().UTC()
		b, _ := json.MarshalIndent(map[string]string{
			"Code": "Success", "LastUpdated": now.Format(time.RFC3339), "Type": "AWS-HMAC",
			"AccessKeyId": RoleAccessKeyID(c.InstanceID), "SecretAccessKey": "imds-secret-" + c.InstanceID,
			"Token": "imds-token-" + c.InstanceID, "Expiration": now.Add(6 * time.Hour).Format(time.RFC3339),
		}, "", "  ")
		return string(b), true
	case "/latest/dynamic/instance-identity/document":
		doc := map[string]any{
			"accountId": c.AccountID, "architecture": "x86_64", "availabilityZone": c.AZ,
			"imageId": "ami-0123456789abcdef0", "instanceId": c.InstanceID, "instanceType": "t3.micro",
			"pendingTime": "2024-01-01T00:00:00Z", "privateIp": p.IP, "region": c.Region, "version": "2017-09-30",
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		return string(b), true
	}
	const macs = "/latest/meta-data/network/interfaces/macs/"
	if rest, ok := strings.CutPrefix(path, macs); ok {
		mac, key, _ := strings.Cut(rest, "/")
		for _, i := range c.Interfaces {
			if !strings.EqualFold(i.MAC, mac) {
				continue
			}
			switch key {
			case "":
				return "device-number\ninterface-id\nlocal-ipv4s\nmac\nsubnet-id\nvpc-id", true
			case "interface-id":
				return i.ENI, true
			case "device-number":
				return strconv.Itoa(i.DeviceIndex), true
			case "vpc-id":
				return i.VPC, true
			case "subnet-id":
				return i.Subnet, true
			case "local-ipv4s":
				return i.IP, true
			case "mac":
				return i.MAC, true
			}
		}
	}
	return "", false
}
