package agent

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"

	"github.com/suzlab/routeha/ocf"
)

// routeha's parameters: the one table (params) from which the meta-data,
// the man page, the README table and the status flags are rendered, and
// which ParseConfig (config.go) reads into the typed Config. A new
// parameter is a row here and a field there.

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

// LookupType is lookup_type: what the route points at.
type LookupType string

// The values of lookup_type.
const (
	LookupENI      LookupType = "NetworkInterfaceId"
	LookupInstance LookupType = "InstanceId"
)

// SourceDestCheck is source_dest_check: what start and validate-all do
// about the ENI's source/destination check.
type SourceDestCheck string

// The values of source_dest_check.
const (
	SourceDestIgnore  SourceDestCheck = "ignore"
	SourceDestVerify  SourceDestCheck = "verify"
	SourceDestDisable SourceDestCheck = "disable"
)

// AuthType is auth_type: where the AWS credentials come from.
type AuthType string

// The values of auth_type.
const (
	AuthKey  AuthType = "key"
	AuthRole AuthType = "role"
)

// params is routeha's parameter table. It is a function, not a package
// variable, so nothing can change the table behind another caller's back.
func params() []ocf.Param {
	noEffect := func(name, was string) ocf.Param {
		return ocf.Param{
			Name:      name,
			Shortdesc: "Accepted for aws-vpc-move-ip compatibility; no effect",
			Longdesc: "Accepted so that a configuration written for ocf:heartbeat:aws-vpc-move-ip " +
				"validates unchanged. It has no effect: " + was,
			Type:     ocf.String,
			NoEffect: true,
		}
	}
	return []ocf.Param{
		{
			Name:      ParamIP,
			Shortdesc: "Virtual IP address",
			Longdesc: "The virtual IP (IPv4 or IPv6) that clients use. It should lie outside the " +
				"VPC's CIDR blocks: AWS routes addresses inside the VPC locally and ignores route " +
				"tables for them.",
			Type: ocf.String, Required: true, Unique: true,
			Check: checkIP,
		},
		{
			Name:      ParamAddress,
			Shortdesc: "Deprecated alias of ip",
			Longdesc:  "Deprecated alias of ip, accepted as aws-vpc-move-ip accepts it.",
			Type:      ocf.String, AliasOf: ParamIP,
		},
		{
			Name:      ParamRoutingTable,
			Shortdesc: "VPC route table IDs, comma or space separated",
			Longdesc: "The route tables whose route for destination_cidr follows this resource " +
				"(rtb- followed by 8 or 17 hex digits), separated by commas and/or spaces, as " +
				"aws-vpc-move-ip accepts them; empty entries are ignored. All are updated " +
				"concurrently and read back in one request.",
			Type: ocf.String, Required: true,
			Check: func(v string) error { _, err := ParseTableIDs(v); return err },
		},
		{
			Name:      ParamDestinationCIDR,
			Shortdesc: "Route destination",
			Longdesc: "The destination of the route to move. It must contain ip. The default is " +
				"the ip alone: ip/32 for IPv4, ip/128 for IPv6.",
			Type: ocf.String, DefaultDoc: "ip/32 (IPv4) or ip/128 (IPv6)",
			Check: checkCIDR,
		},
		{
			Name:      ParamInterface,
			Shortdesc: "Interface that holds the IP",
			Longdesc: "The network interface the virtual IP is added to. lo keeps it off the wire, " +
				"as the Routing-Based HA pattern wants, and the route targets the primary ENI. On a real " +
				"NIC (the vendor guides use eth0) the route targets the ENI whose MAC that NIC has, as " +
				"aws-vpc-move-ip does; then make sure cloud-netconfig or nm-cloud-setup leave the VIP alone.",
			Type: ocf.String, Default: "lo",
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
			Type:      ocf.String, Default: "0",
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
			Type: ocf.String, Default: string(LookupENI),
			Choices: []string{string(LookupENI), string(LookupInstance)},
		},
		{
			Name:      ParamSourceDestCheck,
			Shortdesc: "Source/destination check handling",
			Longdesc: "An instance forwards packets for the VIP only with the source/destination " +
				"check off. verify: validate-all and start fail when it is on. disable: start turns " +
				"it off (needs ec2:ModifyNetworkInterfaceAttribute). ignore: not checked.",
			Type: ocf.String, Default: string(SourceDestVerify),
			Choices: []string{string(SourceDestIgnore), string(SourceDestVerify), string(SourceDestDisable)},
		},
		{
			Name:      ParamCreateRoute,
			Shortdesc: "Create a missing route",
			Longdesc:  "When a table has no route for destination_cidr, start creates it (CreateRoute). When false, a missing route is a configuration error.",
			Type:      ocf.Boolean, Default: "true",
		},
		{
			Name:      ParamRegion,
			Shortdesc: "AWS region",
			Longdesc:  "The AWS region of the route tables. The default is the AWS SDK's (AWS_REGION, AWS_DEFAULT_REGION, the profile's region), else this instance's region from the instance metadata service. Set it to let routeha start on a Nitro instance whose metadata service is disabled or down.",
			Type:      ocf.String, DefaultDoc: "the SDK's, else this instance's (IMDS)",
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
			Type:      ocf.String, DefaultDoc: "the default credential chain",
		},
		{
			Name:      ParamEndpoint,
			Shortdesc: "EC2 API endpoint URL",
			Longdesc:  "The EC2 API endpoint, for a VPC interface endpoint (https://vpce-....ec2.REGION.vpce.amazonaws.com). AWS_ENDPOINT_URL_EC2 is honoured when this is unset.",
			Type:      ocf.String,
			Check:     checkURL,
		},
		{
			Name:      ParamAuthType,
			Shortdesc: "Credentials source",
			Longdesc:  "key: the profile (or the default chain); role: the instance profile only, ignoring profile.",
			Type:      ocf.String, Default: string(AuthKey),
			Choices: []string{string(AuthKey), string(AuthRole)},
		},
		{
			Name:      ParamRoutingTableRole,
			Shortdesc: "IAM role for the route table calls",
			Longdesc:  "The ARN of an IAM role assumed (STS AssumeRole) for the route table calls, as for a shared VPC owned by another account. The region and endpoint settings apply to it too.",
			Type:      ocf.String,
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

// param returns the row of the named parameter (the zero Param if none).
func param(name string) ocf.Param {
	for _, p := range params() {
		if p.Name == name {
			return p
		}
	}
	return ocf.Param{}
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
			return nil, fmt.Errorf("entry %q is not a route table ID (rtb- and 8 or 17 hex digits)", ocf.Printable(id))
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
