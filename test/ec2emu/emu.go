package ec2emu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Namespaces of the emulated protocols.
const (
	EC2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
	STSNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// Emulator is an http.Handler for the EC2 Query API, STS AssumeRole and the
// admin API under /_emu/. It is safe for concurrent use.
type Emulator struct {
	mu       sync.Mutex
	state    *State
	faults   []Fault
	stale    int    // DescribeRouteTables calls to answer from staleView after a write
	staleN   int    // configured number of stale reads per write
	staleOf  *State // the view before the first write of the current stale window
	log      []LogEntry
	counts   map[string]int
	denies   []Deny
	policies map[string][]string // principal -> the only actions its identity-based policy allows
	roleArn  string              // role mode when non-empty
	issued   map[string]issuedKey
	onChange func(*State)
	skew     atomic.Int64 // ns the emulator's clock runs ahead of this machine's
	// tableStale is the per-table staleness (SetTableStaleness).
	tableStale map[string]*tableStaleness
	// allTables: DescribeRouteTables ignores RouteTableId (SetIgnoreTableIDs).
	allTables bool
}

type issuedKey struct {
	RoleArn string
	Secret  string
	Token   string
	Expires time.Time
}

// Deny is an IAM deny rule. Principal is an access key id or "*"; Action is an
// EC2 action name or "*"; RouteTableID, when set, restricts the rule to calls
// naming that table.
type Deny struct {
	Principal    string `json:"principal"`
	Action       string `json:"action"`
	RouteTableID string `json:"routeTableId,omitempty"`
}

// LogEntry is one request in the request log.
type LogEntry struct {
	Time      time.Time         `json:"time"`
	Action    string            `json:"action"`
	Principal string            `json:"principal"`
	Params    map[string]string `json:"params"`
	DryRun    bool              `json:"dryRun"`
	Code      string            `json:"code"` // "" on success, else the error code ("Dropped", "Aborted" for faults without a response)
	Status    int               `json:"status"`
	Latency   time.Duration     `json:"latency"`
	Remote    string            `json:"remote,omitempty"` // the client's address (host part)
}

// Option configures an Emulator.
type Option func(*Emulator)

// WithOnChange sets a hook called with a snapshot after every state change
// (outside the emulator's lock).
func WithOnChange(fn func(*State)) Option { return func(e *Emulator) { e.onChange = fn } }

// WithRegion sets the region of the state.
func WithRegion(region string) Option { return func(e *Emulator) { e.state.Region = region } }

// SetClockSkew makes the emulator's clock run d ahead of this machine's
// (negative: behind), as if the agent's clock were off by -d. As on AWS, a
// request signed more than signatureWindow away from the emulator's time
// is refused (EC2: RequestExpired, STS: SignatureDoesNotMatch), and every
// answer's Date header is the emulator's time.
func (e *Emulator) SetClockSkew(d time.Duration) { e.skew.Store(int64(d)) }

// clock is the emulator's time.
func (e *Emulator) clock() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }

// signatureWindow is how far from the service's time Signature Version 4
// accepts a request's signing time.
const signatureWindow = 5 * time.Minute

// signedOutOfWindow refuses a request whose X-Amz-Date is more than
// signatureWindow from the emulator's clock, with the error the service
// gives; a request without the header is not checked.
func (e *Emulator) signedOutOfWindow(req *request, hr *http.Request) *apiError {
	signed, err := time.Parse("20060102T150405Z", hr.Header.Get("X-Amz-Date"))
	if err != nil {
		return nil
	}
	now := e.clock().UTC()
	if d := signed.Sub(now); d <= signatureWindow && d >= -signatureWindow {
		return nil
	}
	if req.action == "AssumeRole" {
		const f = "20060102T150405Z"
		if signed.After(now) {
			return errf(403, "SignatureDoesNotMatch", "Signature not yet current: %s is still later than %s (%s + 5 min.)",
				signed.Format(f), now.Add(signatureWindow).Format(f), now.Format(f))
		}
		return errf(403, "SignatureDoesNotMatch", "Signature expired: %s is now earlier than %s (%s - 5 min.)",
			signed.Format(f), now.Add(-signatureWindow).Format(f), now.Format(f))
	}
	return errf(400, "RequestExpired", "Request has expired.")
}

// New returns an emulator holding a copy of st (the standard fixture when nil).
func New(st *State, opts ...Option) *Emulator {
	if st == nil {
		st = StandardFixture()
	} else {
		st = st.Snapshot()
	}
	_ = st.normalize()
	e := &Emulator{state: st, counts: map[string]int{}, issued: map[string]issuedKey{},
		tableStale: map[string]*tableStaleness{}}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Snapshot returns a deep copy of the current state.
func (e *Emulator) Snapshot() *State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state.Snapshot()
}

// SetState replaces the state (a copy of st is kept).
func (e *Emulator) SetState(st *State) error {
	c := st.Snapshot()
	if err := c.normalize(); err != nil {
		return err
	}
	e.mu.Lock()
	e.state = c
	e.stale, e.staleOf = 0, nil
	snap := c.Snapshot()
	hook := e.onChange
	e.mu.Unlock()
	if hook != nil {
		hook(snap)
	}
	return nil
}

// SetRoute sets (creates or replaces) a route behind the cluster's back. The
// target is an instance id (i-), ENI id (eni-) or gateway id. An empty target
// deletes the route.
func (e *Emulator) SetRoute(table, dest, target string) error {
	e.mu.Lock()
	rt := e.state.RouteTable(table)
	if rt == nil {
		e.mu.Unlock()
		return fmt.Errorf("no route table %s", table)
	}
	i := rt.find(dest)
	if target == "" {
		if i >= 0 {
			rt.Routes = append(rt.Routes[:i], rt.Routes[i+1:]...)
		}
	} else {
		r := Route{Origin: "CreateRoute"}
		if isV6(dest) {
			r.DestinationIPv6CIDR = dest
		} else {
			r.DestinationCIDR = dest
		}
		switch {
		case strings.HasPrefix(target, "i-"):
			r.InstanceID = target
			if enis := e.state.enisOf(target); len(enis) > 0 {
				r.NetworkInterfaceID = enis[0].ID
			}
		case strings.HasPrefix(target, "eni-"):
			r.NetworkInterfaceID = target
			if en := e.state.eni(target); en != nil {
				r.InstanceID = en.Instance
			}
		default:
			r.GatewayID = target
		}
		if i >= 0 {
			rt.Routes[i] = r
		} else {
			rt.Routes = append(rt.Routes, r)
		}
	}
	snap := e.state.Snapshot()
	hook := e.onChange
	e.mu.Unlock()
	if hook != nil {
		hook(snap)
	}
	return nil
}

// SetInstanceState sets an instance's state ("running", "stopped", ...);
// routes to it become blackhole when it is not running.
func (e *Emulator) SetInstanceState(id, state string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.state.instance(id)
	if in == nil {
		return fmt.Errorf("no instance %s", id)
	}
	in.State = state
	return nil
}

// Deny adds an IAM deny rule.
func (e *Emulator) Deny(d Deny) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.denies = append(e.denies, d)
}

// SetPolicy gives principal (an access key id, a role ARN for the
// credentials AssumeRole issued for it, or "*" for every principal
// without a policy of its own) an identity-based policy that allows only
// the given actions ("ec2:DescribeRouteTables" or "DescribeRouteTables";
// "sts:AssumeRole" likewise): every other call is refused with
// UnauthorizedOperation, as IAM refuses what no
// policy allows. nil actions removes the policy: everything is allowed
// again (deny rules still apply).
func (e *Emulator) SetPolicy(principal string, actions []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.policies == nil {
		e.policies = map[string][]string{}
	}
	if actions == nil {
		delete(e.policies, principal)
		return
	}
	allowed := make([]string, len(actions))
	for i, a := range actions {
		_, allowed[i], _ = strings.Cut(a, ":")
		if allowed[i] == "" {
			allowed[i] = a
		}
	}
	e.policies[principal] = allowed
}

// ClearDenies removes every deny rule.
func (e *Emulator) ClearDenies() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.denies = nil
}

// SetRoleMode makes route writes require credentials issued by AssumeRole for
// roleArn. An empty roleArn turns role mode off.
func (e *Emulator) SetRoleMode(roleArn string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.roleArn = roleArn
}

// RoleOf returns the role an access key was issued for by AssumeRole.
func (e *Emulator) RoleOf(accessKeyID string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, ok := e.issued[accessKeyID]
	return k.RoleArn, ok
}

// Log returns a copy of the request log.
func (e *Emulator) Log() []LogEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]LogEntry(nil), e.log...)
}

// Counts returns the number of requests per action since the last reset.
func (e *Emulator) Counts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.counts)
}

// Count returns the number of requests for one action.
func (e *Emulator) Count(action string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[action]
}

// ResetLog clears the request log and the counters.
func (e *Emulator) ResetLog() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = nil
	e.counts = map[string]int{}
}

// MaxInFlight returns the most requests of an action that were being served
// at the same moment (from arrival to answer, or until the client went
// away) since the last ResetLog, by the request log.
func (e *Emulator) MaxInFlight(action string) int {
	type edge struct {
		at time.Time
		d  int
	}
	var edges []edge
	for _, l := range e.Log() {
		if l.Action == action {
			edges = append(edges, edge{l.Time, 1}, edge{l.Time.Add(l.Latency), -1})
		}
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].d < edges[j].d // an end before a start at the same instant
		}
		return edges[i].at.Before(edges[j].at)
	})
	n, most := 0, 0
	for _, x := range edges {
		n += x.d
		most = max(most, n)
	}
	return most
}

// request is a parsed API request.
type request struct {
	ctx       context.Context
	action    string
	params    map[string]string
	principal string
	dryRun    bool
	id        string
}

func (r *request) get(k string) string { return r.params[k] }

// list returns the values of prefix.1, prefix.2, ...
func (r *request) list(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := r.params[fmt.Sprintf("%s.%d", prefix, i)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

type filter struct {
	name   string
	values []string
}

func (r *request) filters() []filter {
	var out []filter
	for i := 1; ; i++ {
		name, ok := r.params[fmt.Sprintf("Filter.%d.Name", i)]
		if !ok {
			return out
		}
		out = append(out, filter{name: name, values: r.list(fmt.Sprintf("Filter.%d.Value", i))})
	}
}

// apiError is an AWS error response.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/`)

func (e *Emulator) newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	if strings.HasPrefix(hr.URL.Path, "/_emu/") {
		e.serveAdmin(w, hr)
		return
	}
	start := time.Now()
	w.Header().Set("Date", e.clock().UTC().Format(http.TimeFormat))
	if err := hr.ParseForm(); err != nil {
		writeError(w, false, e.newID(), errf(400, "MalformedQueryString", "%v", err))
		return
	}
	req := &request{ctx: hr.Context(), params: map[string]string{}, id: e.newID()}
	for k, v := range hr.Form {
		if len(v) > 0 {
			req.params[k] = v[0]
		}
	}
	req.action = req.params["Action"]
	req.dryRun = strings.EqualFold(req.params["DryRun"], "true")
	if m := credentialRE.FindStringSubmatch(hr.Header.Get("Authorization")); m != nil {
		req.principal = m[1]
	}
	entry := LogEntry{Time: start, Action: req.action, Principal: req.principal, Params: req.params, DryRun: req.dryRun}
	if host, _, err := net.SplitHostPort(hr.RemoteAddr); err == nil {
		entry.Remote = host
	}
	record := func(code string, status int) {
		entry.Code, entry.Status, entry.Latency = code, status, time.Since(start)
		e.mu.Lock()
		e.log = append(e.log, entry)
		e.counts[req.action]++
		e.mu.Unlock()
	}

	fail := func(ae *apiError) {
		record(ae.code, ae.status)
		e.writeError(w, req, ae)
	}
	// waited is false when the client went away before d was over.
	waited := func(d time.Duration) bool {
		select {
		case <-time.After(d):
			return true
		case <-hr.Context().Done():
			return false
		}
	}

	// Faults.
	fx := e.takeFaults(req.action)
	if fx.delay > 0 && !waited(fx.delay) {
		record("Aborted", 0)
		return
	}
	if fx.drop {
		record("Dropped", 0)
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if fx.html {
		record("HTML500", 500)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(500)
		_, _ = w.Write([]byte("<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request.</p>\n"))
		return
	}
	if fx.err != nil {
		fail(fx.err)
		return
	}

	if aerr := e.signedOutOfWindow(req, hr); aerr != nil {
		fail(aerr)
		return
	}
	body, aerr := e.dispatch(req)
	if aerr != nil {
		fail(aerr)
		return
	}
	// Performed, but the answer is slow: a client that gives up does not
	// know its request took effect.
	if fx.after > 0 && !waited(fx.after) {
		record("AbortedAfterPerforming", 0)
		return
	}
	record("", 200)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("x-amzn-RequestId", req.id)
	_, _ = w.Write(body)
}

func (e *Emulator) writeError(w http.ResponseWriter, req *request, ae *apiError) {
	writeError(w, req.action == "AssumeRole", req.id, ae)
}

// writeError answers ae in EC2's error document or, for sts, in STS's.
func writeError(w http.ResponseWriter, sts bool, id string, ae *apiError) {
	var code, msg strings.Builder
	_ = xml.EscapeText(&code, []byte(ae.code))
	_ = xml.EscapeText(&msg, []byte(ae.message))
	ctype := "text/xml;charset=UTF-8"
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>" + code.String() +
		"</Code><Message>" + msg.String() + "</Message></Error></Errors><RequestID>" + id + "</RequestID></Response>"
	if sts {
		typ := "Sender"
		if ae.status >= 500 {
			typ = "Receiver"
		}
		ctype = "text/xml"
		body = `<ErrorResponse xmlns="` + STSNamespace + `"><Error><Type>` + typ + `</Type><Code>` + code.String() +
			"</Code><Message>" + msg.String() + "</Message></Error><RequestId>" + id + "</RequestId></ErrorResponse>"
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(ae.status)
	_, _ = io.WriteString(w, body)
}

// marshal renders a response struct with the XML header.
func marshal(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(err) // response types are static
	}
	return append([]byte(xml.Header), b...)
}

// authorize applies deny rules and role mode.
func (e *Emulator) authorize(req *request, tables []string) *apiError {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.denies {
		if d.Principal != "*" && d.Principal != req.principal {
			continue
		}
		if d.Action != "*" && d.Action != req.action {
			continue
		}
		if d.RouteTableID != "" && !contains(tables, d.RouteTableID) {
			continue
		}
		return e.unauthorized(req, tables)
	}
	policy, ok := e.policies[req.principal]
	if k, issued := e.issued[req.principal]; !ok && issued {
		// Credentials AssumeRole issued act under the role's policy.
		policy, ok = e.policies[k.RoleArn]
	}
	if !ok {
		policy, ok = e.policies["*"]
	}
	if ok && !contains(policy, req.action) {
		return e.unauthorized(req, tables)
	}
	if e.roleArn != "" && isRouteWrite(req.action) {
		k, ok := e.issued[req.principal]
		if !ok || k.RoleArn != e.roleArn || e.clock().After(k.Expires) {
			return e.unauthorized(req, tables)
		}
	}
	return nil
}

func (e *Emulator) unauthorized(req *request, tables []string) *apiError {
	res := "*"
	if len(tables) > 0 {
		res = fmt.Sprintf("arn:aws:ec2:%s:%s:route-table/%s", e.state.Region, e.state.AccountID, tables[0])
	}
	user := fmt.Sprintf("arn:aws:iam::%s:user/%s", e.state.AccountID, req.principal)
	if k, ok := e.issued[req.principal]; ok {
		user = strings.Replace(strings.Replace(k.RoleArn, ":iam::", ":sts::", 1), ":role/", ":assumed-role/", 1) + "/session"
	}
	return errf(403, "UnauthorizedOperation",
		"You are not authorized to perform this operation. User: %s is not authorized to perform: ec2:%s on resource: %s because no identity-based policy allows the ec2:%s action. Encoded authorization failure message: %s",
		user, req.action, res, req.action, hex.EncodeToString([]byte(req.id))[:32])
}

func isRouteWrite(action string) bool {
	return action == "CreateRoute" || action == "ReplaceRoute" || action == "DeleteRoute"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
