package awsec2

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The endpoints the SDK's rule sets give for EC2 and STS, by partition.
func TestEndpointFor(t *testing.T) {
	for _, c := range []struct {
		service, region string
		fips, dual      bool
		want            string
	}{
		{"ec2", "eu-west-1", false, false, "https://ec2.eu-west-1.amazonaws.com"},
		{"ec2", "us-east-1", true, false, "https://ec2-fips.us-east-1.amazonaws.com"},
		{"ec2", "us-east-1", false, true, "https://ec2.us-east-1.api.aws"},
		{"ec2", "us-east-1", true, true, "https://ec2-fips.us-east-1.api.aws"},
		{"ec2", "cn-north-1", false, false, "https://ec2.cn-north-1.amazonaws.com.cn"},
		{"ec2", "cn-north-1", false, true, "https://ec2.cn-north-1.api.amazonwebservices.com.cn"},
		{"ec2", "us-gov-west-1", false, false, "https://ec2.us-gov-west-1.amazonaws.com"},
		{"ec2", "us-gov-west-1", true, false, "https://ec2.us-gov-west-1.amazonaws.com"},
		{"ec2", "us-gov-west-1", true, true, "https://ec2-fips.us-gov-west-1.api.aws"},
		{"ec2", "us-iso-east-1", false, false, "https://ec2.us-iso-east-1.c2s.ic.gov"},
		{"ec2", "us-isob-east-1", false, false, "https://ec2.us-isob-east-1.sc2s.sgov.gov"},
		{"ec2", "eu-isoe-west-1", false, false, "https://ec2.eu-isoe-west-1.cloud.adc-e.uk"},
		{"ec2", "us-isof-south-1", false, false, "https://ec2.us-isof-south-1.csp.hci.ic.gov"},
		{"ec2", "eusc-de-east-1", false, false, "https://ec2.eusc-de-east-1.amazonaws.eu"},
		{"ec2", "us-east-1-fips", false, false, "https://ec2-fips.us-east-1.amazonaws.com"},
		{"ec2", "fips-us-gov-west-1", false, false, "https://ec2.us-gov-west-1.amazonaws.com"},
		{"ec2", "xx-new-1", false, false, "https://ec2.xx-new-1.amazonaws.com"},
		{"sts", "eu-west-1", false, false, "https://sts.eu-west-1.amazonaws.com"},
		{"sts", "us-east-2", true, false, "https://sts-fips.us-east-2.amazonaws.com"},
		{"sts", "aws-global", false, false, "https://sts.amazonaws.com"},
	} {
		got, err := endpointFor(c.service, c.region, c.fips, c.dual)
		require.NoError(t, err, "%+v", c)
		assert.Equal(t, c.want, got, "%+v", c)
	}
}

func TestEndpointForRefusesWhatIsNoRegion(t *testing.T) {
	for _, region := range []string{"", "eu-west-1.evil.example", "EU-WEST-1", "eu west 1"} {
		_, err := endpointFor("ec2", region, false, false)
		assert.Error(t, err, "%q", region)
	}
}
