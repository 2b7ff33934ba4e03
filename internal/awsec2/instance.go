package awsec2

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/suzlab/routeha/agent"
)

// Instance describes one instance in one DescribeInstances request and
// returns it as the identity IMDS would have given: its AZ, VPC, ENIs in
// device order and the ENI of device 0 as the primary one. It is the
// identity of last resort, for an instance whose IMDS is disabled or
// down: EC2 does not know which instance is asking, so the caller names
// it (on Nitro, from the DMI asset tag), and the region, which is not in
// the answer, is the one the client was built for.
func Instance(ctx context.Context, api *Client, region, instanceID string) (agent.Self, error) {
	const op = "DescribeInstances"
	// EC2 answers InvalidInstanceID.NotFound for an unknown id, never an
	// empty list: as in Tables, a list without it (or with it twice) is
	// not EC2's answer, and is retried.
	var found []types.Instance
	check := checkResult(op, func(result any) error {
		out, ok := result.(*ec2.DescribeInstancesOutput)
		if !ok {
			return fmt.Errorf("no %s answer", op)
		}
		found = found[:0]
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if aws.ToString(in.InstanceId) == instanceID {
					found = append(found, in)
				}
			}
		}
		if len(found) != 1 {
			return fmt.Errorf("the answer lists %s %d times, not once; it is not a DescribeInstances response", instanceID, len(found))
		}
		return nil
	})
	_, err := api.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}},
		func(o *ec2.Options) { o.APIOptions = append(o.APIOptions, check) })
	if err != nil {
		return agent.Self{}, fail(api.attempts, op, err)
	}
	return selfOf(found[0], region)
}

// selfOf reads an instance the way imdsid reads IMDS, so that the two
// sources give the same agent.Self for the same instance.
func selfOf(in types.Instance, region string) (agent.Self, error) {
	const op = "DescribeInstances"
	s := agent.Self{InstanceID: aws.ToString(in.InstanceId), Region: region, VPCID: aws.ToString(in.VpcId)}
	if in.Placement != nil {
		s.AZ = aws.ToString(in.Placement.AvailabilityZone)
	}
	type eni struct {
		id           string
		device, card int32
		vpc          string
	}
	var enis []eni
	for _, n := range in.NetworkInterfaces {
		a := n.Attachment
		if aws.ToString(n.NetworkInterfaceId) == "" || a == nil || a.DeviceIndex == nil {
			continue // without an attachment no route reaches the instance through it
		}
		enis = append(enis, eni{id: aws.ToString(n.NetworkInterfaceId), device: *a.DeviceIndex,
			card: aws.ToInt32(a.NetworkCardIndex), vpc: aws.ToString(n.VpcId)})
	}
	// IMDS lists ENIs by device number; card index breaks ties on
	// instances with several network cards.
	sort.SliceStable(enis, func(a, b int) bool {
		if enis[a].device != enis[b].device {
			return enis[a].device < enis[b].device
		}
		return enis[a].card < enis[b].card
	})
	for _, e := range enis {
		s.ENIs = append(s.ENIs, e.id)
		// The primary ENI is device 0 of card 0, the one an instance is
		// launched with and cannot lose.
		if e.device == 0 && e.card == 0 && s.PrimaryENI == "" {
			s.PrimaryENI = e.id
			if s.VPCID == "" {
				s.VPCID = e.vpc
			}
		}
	}
	switch {
	case s.PrimaryENI == "":
		return agent.Self{}, &agent.APIError{Kind: agent.KindOther, Op: op,
			Err: fmt.Errorf("instance %s has no network interface at device index 0", s.InstanceID)}
	case s.AZ == "" || s.VPCID == "":
		return agent.Self{}, &agent.APIError{Kind: agent.KindOther, Op: op,
			Err: fmt.Errorf("instance %s lacks its availability zone or VPC", s.InstanceID)}
	}
	return s, nil
}
