package awsec2_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/awsec2"
	"github.com/suzlab/routeha/test/ec2emu"
)

// emulated starts the EC2 emulator in-process with st (the standard
// fixture when nil) and returns it with a client pointed at it,
// built by NewClient as the agent builds it, with credentials from the
// environment and none of the host's shared files.
func emulated(t *testing.T, st *ec2emu.State) (*ec2emu.Emulator, *awsec2.Client, *awsec2.Attempts) {
	t.Helper()
	emu := ec2emu.New(st)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	awsec2.IsolateEnv(t, "AKIAROUTEHATEST")
	attempts := &awsec2.Attempts{}
	c, err := awsec2.NewClient(context.Background(), awsec2.LoadForTest(t, awsec2.LoadOptions{}), awsec2.Options{
		Region: ec2emu.DefaultRegion, Endpoint: srv.URL, Attempts: attempts,
	})
	require.NoError(t, err)
	return emu, c, attempts
}

// twoENIFixture gives instance A a second ENI at device index 1, listed
// before its primary one.
func twoENIFixture() *ec2emu.State {
	st := ec2emu.StandardFixture()
	st.ENIs = append([]ec2emu.ENI{{ID: "eni-0aaaaaaaaaaaaaaa2", Instance: ec2emu.FixtureInstanceA, DeviceIndex: 1,
		MAC: "02:00:00:00:00:a2", PrivateIP: "10.0.1.11", Subnet: ec2emu.FixtureSubnetA}}, st.ENIs...)
	return st
}

func TestInstanceFromTheEmulator(t *testing.T) {
	emu, c, _ := emulated(t, twoENIFixture())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := awsec2.Instance(ctx, c, ec2emu.DefaultRegion, ec2emu.FixtureInstanceA)
	require.NoError(t, err)
	assert.Equal(t, agent.Self{
		InstanceID: ec2emu.FixtureInstanceA, Region: ec2emu.DefaultRegion, AZ: ec2emu.FixtureAZA,
		PrimaryENI: ec2emu.FixtureENIA, ENIs: []string{ec2emu.FixtureENIA, "eni-0aaaaaaaaaaaaaaa2"}, VPCID: ec2emu.FixtureVPC,
	}, s)
	assert.Equal(t, map[string]int{"DescribeInstances": 1}, emu.Counts(), "one request")
	log := emu.Log()
	require.Len(t, log, 1)
	assert.Equal(t, ec2emu.FixtureInstanceA, log[0].Params["InstanceId.1"], "asks for this instance only")
}

func TestInstanceErrorsAreClassified(t *testing.T) {
	t.Run("unknown instance", func(t *testing.T) {
		_, c, _ := emulated(t, nil)
		_, err := awsec2.Instance(context.Background(), c, ec2emu.DefaultRegion, "i-0ffffffffffffff99")
		require.Error(t, err)
		var ae *agent.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "DescribeInstances", ae.Op)
		assert.Equal(t, "InvalidInstanceID.NotFound", ae.Code)
		assert.Equal(t, agent.KindOther, ae.Kind)
	})
	t.Run("denied", func(t *testing.T) {
		emu, c, _ := emulated(t, nil)
		emu.Deny(ec2emu.Deny{Principal: "*", Action: "DescribeInstances"})
		_, err := awsec2.Instance(context.Background(), c, ec2emu.DefaultRegion, ec2emu.FixtureInstanceA)
		assert.Equal(t, agent.KindDenied, agent.KindOf(err), "%v", err)
	})
	t.Run("throttled, then answered", func(t *testing.T) {
		emu, c, _ := emulated(t, nil)
		emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Action: "DescribeInstances", Count: 3})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := awsec2.Instance(ctx, c, ec2emu.DefaultRegion, ec2emu.FixtureInstanceA)
		require.NoError(t, err)
		assert.Equal(t, ec2emu.FixtureENIA, s.PrimaryENI)
		assert.Equal(t, 4, emu.Count("DescribeInstances"))
	})
	t.Run("throttled until the deadline", func(t *testing.T) {
		emu, c, _ := emulated(t, nil)
		emu.AddFault(ec2emu.Fault{Kind: ec2emu.Throttle, Action: "DescribeInstances"})
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		_, err := awsec2.Instance(ctx, c, ec2emu.DefaultRegion, ec2emu.FixtureInstanceA)
		var ae *agent.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, agent.KindTransient, ae.Kind)
		assert.Equal(t, "RequestLimitExceeded", ae.Code, "the last answer the retries saw")
	})
}

// attached is an ENI of a DescribeInstances answer, attached at a device
// and card index.
func attached(id string, device, card int32) string {
	return fmt.Sprintf(`<item><networkInterfaceId>%s</networkInterfaceId><vpcId>vpc-01234567</vpcId>`+
		`<attachment><attachmentId>eni-attach-1</attachmentId><deviceIndex>%d</deviceIndex><networkCardIndex>%d</networkCardIndex></attachment></item>`,
		id, device, card)
}

// instanceAnswer is a DescribeInstances answer for one instance in
// eu-west-1b with the given ENIs.
func instanceAnswer(id string, enis ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>
<reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet><item>
<instanceId>` + id + `</instanceId><vpcId>vpc-01234567</vpcId>
<placement><availabilityZone>eu-west-1b</availabilityZone><tenancy>default</tenancy></placement>
<instanceState><code>16</code><name>running</name></instanceState>
<networkInterfaceSet>` + strings.Join(enis, "") + `</networkInterfaceSet>
</item></instancesSet></item></reservationSet></DescribeInstancesResponse>`
}

func cannedInstance(body string) *awsec2.Client {
	return awsec2.NewCannedClient(awsec2.NewCannedHTTP(200, []byte(body)))
}

func TestInstanceENIsInDeviceOrder(t *testing.T) {
	out := instanceAnswer("i-0bbbbbbbbbbbbbbb2",
		attached("eni-2", 2, 0), attached("eni-1c1", 1, 1), attached("eni-0", 0, 0), attached("eni-1", 1, 0),
		"<item><networkInterfaceId>eni-detached</networkInterfaceId></item>")
	s, err := awsec2.Instance(context.Background(), cannedInstance(out), "eu-west-1", "i-0bbbbbbbbbbbbbbb2")
	require.NoError(t, err)
	assert.Equal(t, []string{"eni-0", "eni-1", "eni-1c1", "eni-2"}, s.ENIs, "device order, then card; no unattached ENI")
	assert.Equal(t, "eni-0", s.PrimaryENI)
	assert.Equal(t, "eu-west-1b", s.AZ)
	assert.Equal(t, "eu-west-1", s.Region, "the region asked in")
}

func TestInstanceAnswersThatAreNotEC2s(t *testing.T) {
	for name, out := range map[string]string{
		"empty":             `<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>`,
		"another instance":  instanceAnswer("i-0ccccccccccccccc3", attached("eni-0", 0, 0)),
		"no device 0":       instanceAnswer("i-0bbbbbbbbbbbbbbb2", attached("eni-1", 1, 0)),
		"device 0 on card1": instanceAnswer("i-0bbbbbbbbbbbbbbb2", attached("eni-0", 0, 1)),
	} {
		_, err := awsec2.Instance(context.Background(), cannedInstance(out), "eu-west-1", "i-0bbbbbbbbbbbbbbb2")
		var ae *agent.APIError
		require.ErrorAs(t, err, &ae, name)
		assert.Equal(t, agent.KindOther, ae.Kind, "%s: %v", name, err)
	}
}
