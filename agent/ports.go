package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"time"
)

// Self is this instance as the instance metadata service describes it.
type Self struct {
	InstanceID string `json:"instance_id"`
	Region     string `json:"region"`
	AZ         string `json:"availability_zone"`
	// PrimaryENI is the network interface of device 0, the route target
	// for lookup_type=NetworkInterfaceId.
	PrimaryENI string `json:"primary_eni"`
	// ENIs are all of the instance's network interfaces; a route to any of
	// them reaches this instance.
	ENIs  []string `json:"enis"`
	VPCID string   `json:"vpc_id"`
	// MACs maps each ENI's MAC address (lower case, colon separated, as
	// IMDS lists them under network/interfaces/macs/) to its id, so that
	// the ENI behind a real NIC can be found from the NIC's address.
	// Empty when the identity came from elsewhere than IMDS.
	MACs map[string]string `json:"macs,omitempty"`

	// VIPENI is the ENI behind the resource's interface: the route target
	// for lookup_type=NetworkInterfaceId. It is the NIC's own ENI when the
	// VIP lives on a real NIC (as aws-vpc-move-ip finds it, by the NIC's
	// MAC), else the primary ENI. It depends on the resource's interface,
	// so it is worked out per action (resolveVIPENI) and never cached.
	VIPENI string `json:"-"`
}

// Owns reports whether a route target (instance id and/or ENI id, either
// may be empty: some EC2 implementations fill only one) is this instance.
func (s Self) Owns(instanceID, eni string) bool {
	if instanceID != "" && instanceID == s.InstanceID {
		return true
	}
	for _, e := range s.ENIs {
		if eni != "" && eni == e {
			return true
		}
	}
	return false
}

// Identity tells who this node is. Implementations cache what does not
// change while the instance runs, so a steady-state monitor asks nothing.
type Identity interface {
	Self(ctx context.Context) (Self, error)
}

// IdentityVerifier is an Identity that can confirm a cached identity with
// the instance itself, where that costs a request; start, which points the
// routes at what the identity names, asks for it, while monitor takes Self.
type IdentityVerifier interface {
	VerifiedSelf(ctx context.Context) (Self, error)
}

// Warner is an adapter with something the operator should hear about the
// call it just answered (a cache file it refused to believe, say); the
// agent logs each as a warning.
type Warner interface {
	Warnings() []string
}

// Route is one route of a table, reduced to what routeha needs.
type Route struct {
	Destination netip.Prefix
	InstanceID  string
	ENI         string
	// Gateway is any other kind of target (igw-, nat-, pcx-, local, ...).
	Gateway string
	// Blackhole is true when the route's target no longer exists.
	Blackhole bool
}

// Table is one VPC route table.
type Table struct {
	ID     string
	VPCID  string
	Routes []Route
}

// Target is what a route points at.
type Target struct {
	InstanceID string // set for lookup_type=InstanceId
	ENI        string // set for lookup_type=NetworkInterfaceId
}

func (t Target) String() string {
	if t.ENI != "" {
		return t.ENI
	}
	return t.InstanceID
}

// Write is one route change. Create selects CreateRoute over ReplaceRoute.
// DryRun asks only whether the caller is allowed to make it.
type Write struct {
	Table       string
	Destination netip.Prefix
	Target      Target
	Create      bool
	DryRun      bool
}

// Routes reads and writes VPC route tables and the attributes around them.
type Routes interface {
	// Tables describes the given tables in one request.
	Tables(ctx context.Context, ids []string) ([]Table, error)
	// Write creates or replaces a route. A DryRun that would succeed
	// returns nil.
	Write(ctx context.Context, w Write) error
	// VPCTables describes every route table of a VPC (for the checks that
	// look beyond the configured tables; never used by monitor).
	VPCTables(ctx context.Context, vpcID string) ([]Table, error)
	// Interfaces describes network interfaces: whose they are, their AZ,
	// and their source/destination check.
	Interfaces(ctx context.Context, ids []string) ([]Interface, error)
	// SetSourceDestCheck turns the check on or off for an ENI.
	SetSourceDestCheck(ctx context.Context, eni string, enabled, dryRun bool) error
	// ClockSkew is how far the API's clock was found ahead of this
	// node's (negative: behind) by the answers so far; zero when it was
	// not found off. An adapter that finds it signs with the API's time,
	// as the AWS SDKs do, so the calls succeed; the agent warns, since
	// the node's time is wrong and the operator should mend it before
	// something less forgiving fails.
	ClockSkew() time.Duration
}

// Interface is one elastic network interface.
type Interface struct {
	ID              string `json:"id"`
	InstanceID      string `json:"instance_id,omitempty"`
	AZ              string `json:"availability_zone,omitempty"`
	SourceDestCheck bool   `json:"source_dest_check"`
}

// Address is the VIP as it lives on an interface.
type Address struct {
	Prefix    netip.Prefix // the IP with /32 or /128
	Interface string
	Label     string // "lo:0"; empty for IPv6
}

// VIP manages the virtual IP on this node's interface.
type VIP interface {
	Has(ctx context.Context, a Address) (bool, error)
	Add(ctx context.Context, a Address) error
	Remove(ctx context.Context, a Address) error
	// InterfaceExists reports whether the interface is present.
	InterfaceExists(ctx context.Context, name string) (bool, error)
	// HardwareAddr is the interface's MAC address, lower case and colon
	// separated; "" for an interface without one (lo) or none at all.
	HardwareAddr(ctx context.Context, name string) (string, error)
}

// ErrorKind classifies what an adapter's error means for the agent.
type ErrorKind int

// Error kinds; adapters map their own codes onto these.
const (
	KindOther         ErrorKind = iota
	KindTableNotFound           // a route table does not exist
	KindDenied                  // IAM refused the call
	KindRouteExists             // CreateRoute found the route present
	KindRouteNotFound           // ReplaceRoute found no route
	KindTransient               // throttling, 5xx, timeouts: worth retrying
	KindConfig                  // the adapter's own configuration is wrong (a profile that does not exist)
)

// APIError is an adapter's error with its meaning for the agent.
type APIError struct {
	Kind ErrorKind
	Op   string // "ReplaceRoute", "DescribeRouteTables", ...
	Code string // the service's own error code, for the log and the reason
	Err  error
	// Skew, when not zero, is how far the service's clock was ahead of
	// this node's (negative: behind) by the answer that refused the
	// request for its signing time.
	Skew time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: %v", e.Op, e.Err)
	if e.Code != "" {
		s = fmt.Sprintf("%s: %s: %v", e.Op, e.Code, e.Err)
	}
	if e.Skew != 0 {
		s += " (this node's clock is " + skewWords(e.Skew) + " the service's, by the answer's Date)"
	}
	return s
}

func (e *APIError) Unwrap() error { return e.Err }

// ReasonError is an adapter's error that brings its own exit reason: for a
// failure that only the adapter can explain in terms the operator can act
// on (which parameter to set, say), where the agent's generic sentence
// would hide the remedy. Reason is one sentence that fits the 127 bytes
// Pacemaker keeps; Err is the whole story, for the log.
type ReasonError struct {
	Reason string
	Err    error
}

func (e *ReasonError) Error() string { return e.Reason + ": " + e.Err.Error() }

func (e *ReasonError) Unwrap() error { return e.Err }

// KindOf returns the kind of an error, KindOther when it carries none.
func KindOf(err error) ErrorKind {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return KindOther
}

// Budget bounds how hard the Routes adapter of one action retries. A
// recurring monitor must not turn an API brownout into a retry storm, so it
// gets a few requests; a start must push a failover through, so it retries
// until its deadline with a back-off that honours throttling.
type Budget struct {
	// Requests bounds the EC2 requests (first attempts and retries) the
	// adapter makes over all its calls in this action; 0: only the
	// action's deadline bounds them.
	Requests int
	// MaxBackoff caps the jittered wait between two attempts of a call;
	// 0: the adapter's default.
	MaxBackoff time.Duration
}

// Coverage is how many of the configured tables routed the VIP here.
type Coverage string

// The three answers a read of the tables can give.
const (
	CoverAll  Coverage = "all"  // every table routes here
	CoverNone Coverage = "none" // no table routes here
	CoverSome Coverage = "some" // the tables disagree
)

// Observation is what one successful read of the configured tables found,
// kept so that a probe can answer while the tables cannot be read.
type Observation struct {
	Time     time.Time `json:"time"`
	Here     Coverage  `json:"here"`
	Tables   []string  `json:"tables"`      // the tables read, as configured
	Dest     string    `json:"destination"` // the route's destination
	Instance string    `json:"instance_id"` // this node, when it read them
	// Elsewhere is where the first table not routing here pointed.
	Elsewhere string `json:"elsewhere,omitempty"`
}

// Observations keeps one resource's last observation on this node (the
// real one in HA_RSCTMP, which lives until the node reboots).
type Observations interface {
	// Last returns the last observation; ok is false when there is none,
	// or none to trust (err then says why, for the log).
	Last(ctx context.Context) (o Observation, ok bool, err error)
	// Record replaces the last observation.
	Record(ctx context.Context, o Observation) error
}

// Adapters builds the ports for one action. Routes is built after
// Identity because its region may come from the instance's identity.
type Adapters interface {
	Identity(cfg *Config) Identity
	Routes(ctx context.Context, cfg *Config, self Self, budget Budget) (Routes, error)
	VIP() VIP
	Observations(cfg *Config) Observations
	// Host is this node's file system, read-only, rooted at "/": where
	// validate-all and status read the configuration of the network tools
	// that could remove the VIP (see netconfig.go). Tests give a
	// fstest.MapFS.
	Host() fs.FS
}
