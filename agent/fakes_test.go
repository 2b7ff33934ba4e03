package agent

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

// The fakes below stand for EC2, IMDS and netlink. They record every call
// so that tests can assert not only results but that nothing else changed.

var (
	nodeA = Self{InstanceID: "i-0aaaaaaaaaaaaaaa1", Region: "eu-west-1", AZ: "eu-west-1a",
		PrimaryENI: "eni-0aaaaaaaaaaaaaaa1", ENIs: []string{"eni-0aaaaaaaaaaaaaaa1"}, VPCID: "vpc-01234567"}
	nodeB = Self{InstanceID: "i-0bbbbbbbbbbbbbbb2", Region: "eu-west-1", AZ: "eu-west-1b",
		PrimaryENI: "eni-0bbbbbbbbbbbbbbb2", ENIs: []string{"eni-0bbbbbbbbbbbbbbb2"}, VPCID: "vpc-01234567"}
)

type fakeIdentity struct {
	self  Self
	err   error
	calls int
}

func (f *fakeIdentity) Self(context.Context) (Self, error) {
	f.calls++
	return f.self, f.err
}

type fakeRoutes struct {
	mu      sync.Mutex
	tables  map[string]*Table
	order   []string
	srcDest map[string]bool
	reads   int
	writes  []Write // real writes and dry runs, in order
	// failWrite, when set, decides the result of a write before it is applied.
	failWrite func(w Write) error
	// failRead, when set, decides the result of the n-th Tables call (1-based).
	failRead func(ctx context.Context, n int) error
	// stale makes the next N reads after a write return the state before it.
	stale     int
	staleLeft int
	snapshot  map[string]Table
	// afterWrite runs after a write is applied (to simulate a rival).
	afterWrite func(f *fakeRoutes, w Write)
	// skew is what ClockSkew reports.
	skew time.Duration
	// extra lists tables every answer includes, asked for or not.
	extra []string
	// answer, when set, runs after a write is applied and before it is
	// answered, outside the lock (to hold the answer back).
	answer func(ctx context.Context, w Write) error
	// inFlight and maxInFlight count writes being served at once.
	inFlight, maxInFlight int
	// onRead, when set, runs under the lock before the n-th read is
	// answered (to change the tables as a rival would).
	onRead func(f *fakeRoutes, n int)
	// altStale makes reads alternate between the snapshot and the current
	// state while staleLeft lasts (non-monotonic reads).
	altStale bool
	// denied lists the EC2 actions IAM refuses (DescribeNetworkInterfaces,
	// CreateRoute, ReplaceRoute, ModifyNetworkInterfaceAttribute), DryRun
	// or not; nil: all are allowed.
	denied map[string]bool
	// enis are network interfaces beyond the nodes' primary ones.
	enis []Interface
	// ifaceCalls counts Interfaces calls.
	ifaceCalls int
}

func (f *fakeRoutes) deny(op string) error {
	if f.denied[op] {
		return &APIError{Kind: KindDenied, Op: op, Code: "UnauthorizedOperation", Err: errors.New("You are not authorized to perform this operation.")}
	}
	return nil
}

func (f *fakeRoutes) ClockSkew() time.Duration { return f.skew }

func newFakeRoutes(tables ...Table) *fakeRoutes {
	f := &fakeRoutes{tables: map[string]*Table{}, srcDest: map[string]bool{}}
	for i := range tables {
		t := tables[i]
		f.tables[t.ID] = &t
		f.order = append(f.order, t.ID)
	}
	return f
}

func (f *fakeRoutes) copyState() map[string]Table {
	out := map[string]Table{}
	for id, t := range f.tables {
		c := *t
		c.Routes = slices.Clone(t.Routes)
		out[id] = c
	}
	return out
}

func (f *fakeRoutes) Tables(ctx context.Context, ids []string) ([]Table, error) {
	f.mu.Lock()
	f.reads++
	n := f.reads
	fail := f.failRead
	f.mu.Unlock()
	if fail != nil {
		if err := fail(ctx, n); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.onRead != nil {
		f.onRead(f, n)
	}
	state := f.copyState()
	if f.staleLeft > 0 && f.snapshot != nil {
		if !f.altStale || f.staleLeft%2 == 0 {
			state = f.snapshot
		}
		f.staleLeft--
	}
	var out []Table
	for _, id := range f.extra {
		if t, ok := state[id]; ok && !slices.Contains(ids, id) {
			out = append(out, t)
		}
	}
	for _, id := range ids {
		t, ok := state[id]
		if !ok {
			return nil, &APIError{Kind: KindTableNotFound, Op: "DescribeRouteTables", Code: "InvalidRouteTableID.NotFound", Err: errors.New("The routeTable ID '" + id + "' does not exist")}
		}
		out = append(out, t)
	}
	return out, nil
}

func (f *fakeRoutes) Write(ctx context.Context, w Write) error {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if err := f.write(w); err != nil || f.answer == nil {
		return err
	}
	return f.answer(ctx, w)
}

func (f *fakeRoutes) write(w Write) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, w)
	op := "ReplaceRoute"
	if w.Create {
		op = "CreateRoute"
	}
	if err := f.deny(op); err != nil {
		return err
	}
	if f.failWrite != nil {
		if err := f.failWrite(w); err != nil {
			return err
		}
	}
	if w.DryRun {
		return nil
	}
	t, ok := f.tables[w.Table]
	if !ok {
		return &APIError{Kind: KindTableNotFound, Op: "ReplaceRoute", Err: errors.New("no table")}
	}
	if f.stale > 0 {
		f.snapshot = f.copyState()
		f.staleLeft = f.stale
	}
	r := routeFor(*t, w.Destination)
	switch {
	case w.Create && r != nil:
		return &APIError{Kind: KindRouteExists, Op: "CreateRoute", Code: "RouteAlreadyExists", Err: errors.New("exists")}
	case !w.Create && r == nil:
		return &APIError{Kind: KindRouteNotFound, Op: "ReplaceRoute", Code: "InvalidRoute.NotFound", Err: errors.New("no route")}
	case r == nil:
		t.Routes = append(t.Routes, Route{Destination: w.Destination})
		r = &t.Routes[len(t.Routes)-1]
	}
	r.InstanceID, r.ENI, r.Blackhole = w.Target.InstanceID, w.Target.ENI, false
	if w.Target.ENI != "" {
		// AWS fills the instance of an attached ENI too.
		for _, n := range []Self{nodeA, nodeB} {
			if n.PrimaryENI == w.Target.ENI {
				r.InstanceID = n.InstanceID
			}
		}
		for _, e := range f.enis {
			if e.ID == w.Target.ENI {
				r.InstanceID = e.InstanceID
			}
		}
	}
	if f.afterWrite != nil {
		f.afterWrite(f, w)
	}
	return nil
}

func (f *fakeRoutes) realWrites() []Write {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Write
	for _, w := range f.writes {
		if !w.DryRun {
			out = append(out, w)
		}
	}
	return out
}

func (f *fakeRoutes) VPCTables(_ context.Context, vpc string) ([]Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Table
	for _, id := range f.order {
		if t := f.tables[id]; t.VPCID == vpc {
			out = append(out, *t)
		}
	}
	for id, t := range f.tables {
		if !slices.Contains(f.order, id) && t.VPCID == vpc {
			out = append(out, *t)
		}
	}
	return out, nil
}

func (f *fakeRoutes) Interfaces(_ context.Context, ids []string) ([]Interface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ifaceCalls++
	if err := f.deny("DescribeNetworkInterfaces"); err != nil {
		return nil, err
	}
	var out []Interface
	for _, id := range ids {
		for _, e := range f.enis {
			if e.ID == id {
				e.SourceDestCheck = f.srcDest[id]
				out = append(out, e)
			}
		}
		for _, n := range []Self{nodeA, nodeB} {
			if n.PrimaryENI == id {
				out = append(out, Interface{ID: id, InstanceID: n.InstanceID, AZ: n.AZ, SourceDestCheck: f.srcDest[id]})
			}
		}
	}
	return out, nil
}

func (f *fakeRoutes) SetSourceDestCheck(_ context.Context, eni string, enabled, dryRun bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, Write{Table: "srcdest:" + eni, DryRun: dryRun})
	if err := f.deny("ModifyNetworkInterfaceAttribute"); err != nil {
		return err
	}
	if !dryRun {
		f.srcDest[eni] = enabled
	}
	return nil
}

type fakeVIP struct {
	addrs   map[Address]bool
	ifaces  map[string]bool
	macs    map[string]string // interface -> MAC; lo has none
	failAdd error
	calls   int
}

func newFakeVIP() *fakeVIP {
	return &fakeVIP{addrs: map[Address]bool{}, ifaces: map[string]bool{"lo": true, "eth0": true}}
}

func (v *fakeVIP) key(a Address) Address { a.Label = ""; return a }

func (v *fakeVIP) Has(_ context.Context, a Address) (bool, error) {
	v.calls++
	return v.addrs[v.key(a)], nil
}

func (v *fakeVIP) Add(_ context.Context, a Address) error {
	v.calls++
	if v.failAdd != nil {
		return v.failAdd
	}
	v.addrs[v.key(a)] = true
	return nil
}

func (v *fakeVIP) Remove(_ context.Context, a Address) error {
	v.calls++
	delete(v.addrs, v.key(a))
	return nil
}

func (v *fakeVIP) InterfaceExists(_ context.Context, name string) (bool, error) {
	return v.ifaces[name], nil
}

func (v *fakeVIP) HardwareAddr(_ context.Context, name string) (string, error) {
	return v.macs[name], nil
}

type fakeAdapters struct {
	id     *fakeIdentity
	routes *fakeRoutes
	vip    *fakeVIP
	obs    *fakeObservations
	host   fs.FS // nil: an empty file system
	built  int   // Routes() calls
	// buildErr fails Routes() (an adapter whose configuration is wrong).
	buildErr error
}

func (f *fakeAdapters) Observations(*Config) Observations { return f.obs }

// fakeObservations keeps the last observation in memory.
type fakeObservations struct {
	mu      sync.Mutex
	last    *Observation
	err     error // what Last reports (with no observation)
	records int
}

func (f *fakeObservations) Last(context.Context) (Observation, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return Observation{}, false, f.err
	}
	return *f.last, true, nil
}

func (f *fakeObservations) Record(_ context.Context, o Observation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = &o
	f.records++
	return nil
}

func (f *fakeAdapters) Identity(*Config) Identity { return f.id }
func (f *fakeAdapters) Routes(context.Context, *Config, Self, Budget) (Routes, error) {
	f.built++
	if f.buildErr != nil {
		return nil, f.buildErr
	}
	return f.routes, nil
}
func (f *fakeAdapters) VIP() VIP { return f.vip }
func (f *fakeAdapters) Host() fs.FS {
	if f.host == nil {
		return fstest.MapFS{}
	}
	return f.host
}

// world is one node's view: its identity, the shared EC2 and its own VIP.
type world struct {
	t        *testing.T
	adapters *fakeAdapters
	agent    *Agent
	params   map[string]string
}

const (
	vip   = "192.0.2.10"
	rtb1  = "rtb-0123456789abcdef0"
	rtb2  = "rtb-0fedcba9876543210"
	vpcID = "vpc-01234567"
)

var vipDst = netip.MustParsePrefix(vip + "/32")

// table builds a route table with the VPC's local route, a default route,
// and optionally the VIP's route to a node.
func table(id string, vipTo *Self) Table {
	t := Table{ID: id, VPCID: vpcID, Routes: []Route{
		{Destination: netip.MustParsePrefix("10.0.0.0/16"), Gateway: "local"},
		{Destination: netip.MustParsePrefix("0.0.0.0/0"), Gateway: "igw-0123456789abcdef0"},
	}}
	if vipTo != nil {
		t.Routes = append(t.Routes, Route{Destination: vipDst, InstanceID: vipTo.InstanceID, ENI: vipTo.PrimaryENI})
	}
	return t
}

func newWorld(t *testing.T, self Self, routes *fakeRoutes) *world {
	ad := &fakeAdapters{id: &fakeIdentity{self: self}, routes: routes, vip: newFakeVIP(), obs: &fakeObservations{}}
	a := New("test", ad)
	a.timing = testTiming()
	return &world{t: t, adapters: ad, agent: a,
		params: map[string]string{"ip": vip, "routing_table": rtb1}}
}

func (w *world) env(extra map[string]string) []string {
	env := []string{"OCF_RESOURCE_INSTANCE=vip", "HA_RSCTMP=" + w.t.TempDir()}
	for k, v := range w.params {
		env = append(env, "OCF_RESKEY_"+k+"="+v)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

type result struct {
	code   ocf.ExitCode
	reason string
	stderr string
}

// run executes an action through ocf.Run, as the binary would.
func (w *world) run(action string, extra map[string]string) result {
	w.t.Helper()
	var stdout, stderr lockedBuffer
	code := ocf.Run(context.Background(), w.agent.Definition(), []string{"routeha", action}, w.env(extra), &stdout, &stderr)
	res := result{code: code, reason: exitReason(stderr.String()), stderr: stderr.String()}
	// Pacemaker keeps 127 bytes of a reason: every reason must fit whole.
	require.LessOrEqual(w.t, len(res.reason), ocf.MaxReason, "exit reason too long: %q", res.reason)
	require.NotContains(w.t, res.reason, "...", "exit reason cut: %q", res.reason)
	return res
}

func (w *world) hasVIP() bool {
	return w.adapters.vip.addrs[Address{Prefix: vipDst, Interface: "lo"}]
}

func (w *world) putVIP() {
	w.adapters.vip.addrs[Address{Prefix: vipDst, Interface: "lo"}] = true
}

func exitReason(stderr string) string {
	const marker = "ocf-exit-reason:"
	reason := ""
	for _, line := range splitLines(stderr) {
		if len(line) >= len(marker) && line[:len(marker)] == marker {
			reason = line[len(marker):]
		}
	}
	return reason
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func requireCode(t *testing.T, want ocf.ExitCode, r result) {
	t.Helper()
	require.Equal(t, want, r.code, "stderr:\n%s", r.stderr)
}

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// testTiming is defaultTiming shrunk tenfold, with a monitor's second read
// after a millisecond: the same logic without the real pauses.
func testTiming() timing {
	t := defaultTiming()
	t.minStay, t.maxStay, t.stayPoll, t.staleConfirm = t.minStay/10, t.maxStay/10, t.stayPoll/10, t.staleConfirm/10
	t.firstPoll, t.maxPoll = t.firstPoll/10, t.maxPoll/10
	t.confirmPause = time.Millisecond
	return t
}
