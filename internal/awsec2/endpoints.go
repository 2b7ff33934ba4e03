package awsec2

import (
	"fmt"
	"strings"
)

// partition is the part of AWS a region belongs to, and the DNS suffixes
// of its endpoints.
type partition struct {
	name      string
	prefix    string // region names start so ("cn-", "us-gov-"); "" for aws
	dns       string
	dualStack string
}

// partitionOf follows the SDK's partitions.json; a region of no known
// partition is taken to be in aws, as the SDK does. Longer prefixes come
// first: us-isob- before us-iso-, us-gov- before aws's us-.
func partitionOf(region string) partition {
	for _, p := range []partition{
		{name: "aws-cn", prefix: "cn-", dns: "amazonaws.com.cn", dualStack: "api.amazonwebservices.com.cn"},
		{name: "aws-us-gov", prefix: "us-gov-", dns: "amazonaws.com", dualStack: "api.aws"},
		{name: "aws-iso-b", prefix: "us-isob-", dns: "sc2s.sgov.gov", dualStack: "api.aws.scloud"},
		{name: "aws-iso-f", prefix: "us-isof-", dns: "csp.hci.ic.gov", dualStack: "api.aws.hci.ic.gov"},
		{name: "aws-iso", prefix: "us-iso-", dns: "c2s.ic.gov", dualStack: "api.aws.ic.gov"},
		{name: "aws-iso-e", prefix: "eu-isoe-", dns: "cloud.adc-e.uk", dualStack: "api.cloud-aws.adc-e.uk"},
		{name: "aws-eusc", prefix: "eusc-", dns: "amazonaws.eu", dualStack: "api.amazonwebservices.eu"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p
		}
	}
	return partition{name: "aws", dns: "amazonaws.com", dualStack: "api.aws"}
}

// endpointFor is the URL of a service (ec2, sts) in a region, by the rules
// of the services' endpoint rule sets: https://SERVICE[-fips].REGION.SUFFIX,
// with the partition's dual-stack suffix when dual-stack is asked for. In
// GovCloud the ordinary endpoints are already FIPS endpoints.
func endpointFor(service, region string, fips, dualStack bool) (string, error) {
	if region == "" {
		return "", fmt.Errorf("no region for the %s endpoint: set the region parameter", service)
	}
	for _, r := range region {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return "", fmt.Errorf("region %q is not a region name", region)
		}
	}
	// Pseudo-regions such as us-gov-west-1-fips or fips-us-gov-west-1
	// name the FIPS endpoint of the region.
	if r, ok := strings.CutPrefix(region, "fips-"); ok {
		region, fips = r, true
	}
	if r, ok := strings.CutSuffix(region, "-fips"); ok {
		region, fips = r, true
	}
	if region == "aws-global" && service == "sts" && !fips && !dualStack {
		return "https://sts.amazonaws.com", nil
	}
	p := partitionOf(region)
	host, suffix := service, p.dns
	switch {
	case fips && !dualStack && p.name == "aws-us-gov":
		// GovCloud's ordinary endpoints are FIPS endpoints.
	case fips:
		host += "-fips"
	}
	if dualStack {
		suffix = p.dualStack
	}
	return "https://" + host + "." + region + "." + suffix, nil
}
