package metadata

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Names of routeha's parameters, for the code that reads them.
const (
	ParamIP               = "ip"
	ParamAddress          = "address"
	ParamRoutingTable     = "routing_table"
	ParamDestinationCIDR  = "destination_cidr"
	ParamInterface        = "interface"
	ParamIflabel          = "iflabel"
	ParamLookupType       = "lookup_type"
	ParamSourceDestCheck  = "source_dest_check"
	ParamCreateRoute      = "create_route"
	ParamRegion           = "region"
	ParamProfile          = "profile"
	ParamEndpoint         = "endpoint"
	ParamAuthType         = "auth_type"
	ParamRoutingTableRole = "routing_table_role"
)

// Values of lookup_type, source_dest_check and auth_type.
const (
	LookupENI      = "NetworkInterfaceId"
	LookupInstance = "InstanceId"

	SourceDestIgnore  = "ignore"
	SourceDestVerify  = "verify"
	SourceDestDisable = "disable"

	AuthKey  = "key"
	AuthRole = "role"
)

// Routeha returns routeha's meta-data: the one table of its parameters and
// actions. It is a function, not a package variable, so nothing can change
// the table behind another caller's back.
func Routeha(version string) *Agent {
	return &Agent{
		Name:      "routeha",
		Version:   version,
		Shortdesc: "Virtual IP on AWS EC2 that fails over by rewriting VPC route tables",
		Longdesc: "routeha moves a virtual IP between EC2 instances in different Availability Zones " +
			"by pointing a route for it in one or more VPC route tables at the instance that holds it " +
			"(Routing-Based HA). The IP lies outside the VPC's CIDR and lives on this node's loopback " +
			"(lo:0) by default. start points every table at this node and adds the IP; monitor checks " +
			"both the IP and every table with one DescribeRouteTables request; stop removes the IP and " +
			"needs no AWS API. Parameter names follow ocf:heartbeat:aws-vpc-move-ip, so a configuration " +
			"written for it works by changing the agent name.",
		Params:   routehaParams(),
		Actions:  routehaActions(),
		Sections: routehaSections(),
	}
}

// routehaSections are the man page's sections beyond the parameters: what
// each exit code means here, the IAM actions, and the production warnings
// (doc/pacemaker.md, "Production advice", says more).
func routehaSections() []Section {
	return []Section{
		{Title: "Exit codes", Intro: "OCF 1.1 codes; every failure prints ocf-exit-reason: with one sentence on stderr.",
			Items: []Item{
				{"0", "OCF_SUCCESS", "Done; monitor: the VIP is on the interface and every table routes it here."},
				{"1", "OCF_ERR_GENERIC", "A failure Pacemaker should recover from: the tables disagree, a write failed, the OCF_CHECK_LEVEL=10 monitor found the target ENI attached elsewhere or its source/dest check on."},
				{"2", "OCF_ERR_ARGS", "Bad arguments to routeha status."},
				{"3", "OCF_ERR_UNIMPLEMENTED", "An unknown action."},
				{"4", "OCF_ERR_PERM", "IAM denies a call the action needs (ReplaceRoute; CreateRoute where a route is missing; ModifyNetworkInterfaceAttribute with source_dest_check=disable); the reason names it. Checks that need more than the minimal policy are skipped with a warning instead."},
				{"5", "OCF_ERR_INSTALLED", "This node cannot run the resource: the interface does not exist."},
				{"6", "OCF_ERR_CONFIGURED", "A parameter or the AWS setup is wrong: bad value, unknown table, a table in another VPC, the ip inside the VPC, a missing route with create_route=false, the source/dest check on with source_dest_check=verify, an interface that is no ENI of this instance."},
				{"7", "OCF_NOT_RUNNING", "monitor: the VIP is not on the interface, or it is and no table routes it here."},
				{"190", "OCF_DEGRADED", "monitor: the VIP is here but the tables could not be read (API down, throttled, IAM, credentials); Pacemaker takes no action."},
			}},
		{Title: "IAM", Intro: "The minimal policy is the vendor guides' one: ec2:DescribeRouteTables and ec2:ReplaceRoute (on the route tables). Optional actions:",
			Items: []Item{
				{"ec2:CreateRoute", "", "Creates a route that does not exist yet (create_route=true); without it a missing route fails validate-all and start with 4; where the route exists the probe is skipped with a warning."},
				{"ec2:DescribeNetworkInterfaces", "", "Checks the source/dest check of the target ENI (source_dest_check=verify) and, at OCF_CHECK_LEVEL=10, its attachment; without it the checks are skipped with a warning."},
				{"ec2:ModifyNetworkInterfaceAttribute", "", "Needed with source_dest_check=disable only."},
				{"ec2:DescribeInstances", "", "The identity where IMDS is disabled (with region set)."},
				{"sts:AssumeRole", "", "routing_table_role only."},
				{"fence_aws", "", "The fence agent needs ec2:DescribeInstances, ec2:StopInstances and ec2:StartInstances; set pcmk_delay_max and pcmk_reboot_action=off on it, as AWS advises."},
			}},
		{Title: "Warnings",
			Items: []Item{
				{"Manual starts", "", "ocf-tester, crm_resource --force-start and pcs resource debug-start run the real start: on a live cluster they move the route to the node they run on. Use crm_resource --validate or routeha status, which change nothing."},
				{"A real NIC", "", "With interface=eth0, cloud-netconfig (SLES: set CLOUD_NETCONFIG_MANAGE='no' in ifcfg-eth0) and nm-cloud-setup (RHEL: disable nm-cloud-setup.timer and nm-cloud-setup.service) remove the VIP; validate-all and status warn when their files say they would."},
				{"Static addresses", "", "Remove a static ifcfg-lo:0 holding the VIP left from a hand-made setup: the network scripts put it back after stop."},
				{"Deep monitor", "", "op monitor interval=300s OCF_CHECK_LEVEL=10 also asks EC2 whether the target ENI is attached here with its source/dest check off."},
				{"Timing", "", "On AWS the guides set corosync token: 30000 and consensus: 36000, op start/stop timeout=180s, monitor interval=60s timeout=60s; set failure-timeout so that a node that failed once becomes eligible again."},
			}},
	}
}

func routehaActions() []Action {
	return []Action{
		{Name: "start", Timeout: 60 * time.Second},
		{Name: "stop", Timeout: 30 * time.Second},
		{Name: "monitor", Timeout: 30 * time.Second, Interval: 10 * time.Second, Depth: 0, HasDepth: true},
		{Name: "validate-all", Timeout: 30 * time.Second},
		// No "usage": pcs copies every advertised action into the CIB
		// as an operation.
		{Name: "meta-data", Timeout: 5 * time.Second},
	}
}

func routehaParams() []Param {
	noEffect := func(name, was string) Param {
		return Param{
			Name:      name,
			Shortdesc: "Accepted for aws-vpc-move-ip compatibility; no effect",
			Longdesc: "Accepted so that a configuration written for ocf:heartbeat:aws-vpc-move-ip " +
				"validates unchanged. It has no effect: " + was,
			Type:     String,
			NoEffect: true,
		}
	}
	return []Param{
		{
			Name:      ParamIP,
			Shortdesc: "Virtual IP address",
			Longdesc: "The virtual IP (IPv4 or IPv6) that clients use. It should lie outside the " +
				"VPC's CIDR blocks: AWS routes addresses inside the VPC locally and ignores route " +
				"tables for them.",
			Type: String, Required: true, Unique: true,
			Check: checkIP,
		},
		{
			Name:      ParamAddress,
			Shortdesc: "Deprecated alias of ip",
			Longdesc:  "Deprecated alias of ip, accepted as aws-vpc-move-ip accepts it.",
			Type:      String, AliasOf: ParamIP,
		},
		{
			Name:      ParamRoutingTable,
			Shortdesc: "VPC route table IDs, comma or space separated",
			Longdesc: "The route tables whose route for destination_cidr follows this resource " +
				"(rtb- followed by 8 or 17 hex digits), separated by commas and/or spaces, as " +
				"aws-vpc-move-ip accepts them; empty entries are ignored. All are updated " +
				"concurrently and read back in one request.",
			Type: String, Required: true,
			Check: func(v string) error { _, err := ParseTableIDs(v); return err },
		},
		{
			Name:      ParamDestinationCIDR,
			Shortdesc: "Route destination",
			Longdesc: "The destination of the route to move. It must contain ip. The default is " +
				"the ip alone: ip/32 for IPv4, ip/128 for IPv6.",
			Type: String, DefaultDoc: "ip/32 (IPv4) or ip/128 (IPv6)",
			Check: checkCIDR,
		},
		{
			Name:      ParamInterface,
			Shortdesc: "Interface that holds the IP",
			Longdesc: "The network interface the virtual IP is added to. lo keeps it off the wire, " +
				"as the Routing-Based HA pattern wants, and the route targets the primary ENI. On a real " +
				"NIC (the vendor guides use eth0) the route targets the ENI whose MAC that NIC has, as " +
				"aws-vpc-move-ip does; then make sure cloud-netconfig or nm-cloud-setup leave the VIP alone.",
			Type: String, Default: "lo",
			Check: func(v string) error {
				if !isIfname(v) {
					return errors.New("is not a network interface name (1 to 15 of A-Z a-z 0-9 _ . -)")
				}
				return nil
			},
		},
		{
			Name:      ParamIflabel,
			Shortdesc: "Address label suffix",
			Longdesc:  "Label suffix for an IPv4 VIP, giving interface:iflabel (lo:0). The whole label is at most 15 characters. Unused for IPv6, which has no labels.",
			Type:      String, Default: "0",
			Check: func(v string) error {
				if !isLabel(v) {
					return errors.New("is not a label (1 to 15 of A-Z a-z 0-9 _ . : -)")
				}
				return nil
			},
		},
		{
			Name:      ParamLookupType,
			Shortdesc: "Route target kind",
			Longdesc: "What the route points at: NetworkInterfaceId (the ENI behind interface: " +
				"the primary ENI for lo, the NIC's own ENI for a real NIC) or InstanceId. EC2 " +
				"refuses an instance with several ENIs as a target, so there InstanceId targets " +
				"that ENI too, and says so. monitor accepts either as pointing here.",
			Type: String, Default: LookupENI,
			Choices: []string{LookupENI, LookupInstance},
		},
		{
			Name:      ParamSourceDestCheck,
			Shortdesc: "Source/destination check handling",
			Longdesc: "An instance forwards packets for the VIP only with the source/destination " +
				"check off. verify: validate-all and start fail when it is on. disable: start turns " +
				"it off (needs ec2:ModifyNetworkInterfaceAttribute). ignore: not checked.",
			Type: String, Default: SourceDestVerify,
			Choices: []string{SourceDestIgnore, SourceDestVerify, SourceDestDisable},
		},
		{
			Name:      ParamCreateRoute,
			Shortdesc: "Create a missing route",
			Longdesc:  "When a table has no route for destination_cidr, start creates it (CreateRoute). When false, a missing route is a configuration error.",
			Type:      Boolean, Default: "true",
		},
		{
			Name:      ParamRegion,
			Shortdesc: "AWS region",
			Longdesc:  "The AWS region of the route tables. The default is the AWS SDK's (AWS_REGION, AWS_DEFAULT_REGION, the profile's region), else this instance's region from the instance metadata service. Set it to let routeha start on a Nitro instance whose metadata service is disabled or down.",
			Type:      String, DefaultDoc: "the SDK's, else this instance's (IMDS)",
			Check: func(v string) error {
				if !isRegion(v) {
					return errors.New("is not an AWS region name such as eu-west-1")
				}
				return nil
			},
		},
		{
			Name:      ParamProfile,
			Shortdesc: "AWS shared config profile",
			Longdesc:  "A profile from the AWS shared config and credentials files (~/.aws/config and ~/.aws/credentials, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE), read by the AWS SDK for Go: static keys, role_arn with source_profile or credential_source, credential_process, single sign-on, web identity. A profile that does not exist is a configuration error. The default is the SDK's credential chain: keys in the environment, AWS_PROFILE's (or AWS_DEFAULT_PROFILE's) profile or default, web identity, container credentials, else the instance profile.",
			Type:      String, DefaultDoc: "the default credential chain",
		},
		{
			Name:      ParamEndpoint,
			Shortdesc: "EC2 API endpoint URL",
			Longdesc:  "The EC2 API endpoint, for a VPC interface endpoint (https://vpce-....ec2.REGION.vpce.amazonaws.com). AWS_ENDPOINT_URL_EC2 is honoured when this is unset.",
			Type:      String,
			Check:     checkURL,
		},
		{
			Name:      ParamAuthType,
			Shortdesc: "Credentials source",
			Longdesc:  "key: the profile (or the default chain); role: the instance profile only, ignoring profile.",
			Type:      String, Default: AuthKey,
			Choices: []string{AuthKey, AuthRole},
		},
		{
			Name:      ParamRoutingTableRole,
			Shortdesc: "IAM role for the route table calls",
			Longdesc:  "The ARN of an IAM role assumed (STS AssumeRole) for the route table calls, as for a shared VPC owned by another account. The region and endpoint settings apply to it too.",
			Type:      String,
			Check: func(v string) error {
				if !isRoleARN(v) {
					return errors.New("is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
				}
				return nil
			},
		},
		noEffect("awscli", "routeha calls the EC2 API itself and needs no aws CLI."),
		noEffect("monapi", "routeha's monitor always checks the route tables."),
		noEffect("curl_retries", "routeha retries within the action timeout."),
		noEffect("curl_sleep", "routeha backs off within the action timeout."),
		noEffect("awscli_timeout", "the action timeout bounds every API call."),
	}
}

// ParseTableIDs splits a routing_table value on commas and/or blanks, as
// aws-vpc-move-ip does (it turns commas into spaces and lets the shell
// split), ignoring empty entries; it checks each ID's syntax and refuses
// duplicates and a value that lists no table at all.
func ParseTableIDs(v string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for _, id := range fields {
		if !isTableID(id) {
			return nil, fmt.Errorf("entry %q is not a route table ID (rtb- and 8 or 17 hex digits)", printable(id))
		}
		if seen[id] {
			return nil, fmt.Errorf("lists %s twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errors.New("lists no route table")
	}
	return ids, nil
}

func checkIP(v string) error {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return errors.New("is not an IPv4 or IPv6 address")
	}
	if a.Is4In6() {
		return errors.New("is an IPv4-mapped IPv6 address; give the IPv4 address")
	}
	if a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return errors.New("cannot be routed by a VPC route table (unspecified, loopback, link-local or multicast)")
	}
	return nil
}

func checkCIDR(v string) error {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return errors.New("is not a CIDR block (such as 192.0.2.10/32)")
	}
	if p.Masked() != p {
		return fmt.Errorf("has host bits set; the network is %s", p.Masked())
	}
	return nil
}

func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("is not an http(s) URL")
	}
	return nil
}
