package awsec2

import (
	"context"
	"fmt"
	"net/url"
	"sort"

	"github.com/suzlab/routeha/agent"
)

// Instance describes one instance in one DescribeInstances request and
// returns it as the identity IMDS would have given: its AZ, VPC, ENIs in
// device order and the ENI of device 0 as the primary one. It is the
// identity of last resort, for an instance whose IMDS is disabled or
// down: EC2 does not know which instance is asking, so the caller names
// it (on Nitro, from the DMI asset tag), and the region, which is not in
// the answer, is the one the client was built for. attempts is the
// client's Options.Attempts, or nil.
func Instance(ctx context.Context, api *Client, attempts *Attempts, region, instanceID string) (agent.Self, error) {
	const op = "DescribeInstances"
	var out describeInstancesResponse
	if err := api.call(ctx, op, listParams(url.Values{}, "InstanceId", []string{instanceID}), &out); err != nil {
		return agent.Self{}, fail(attempts, op, err)
	}
	var found []xmlInstance
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if in.ID == instanceID {
				found = append(found, in)
			}
		}
	}
	// EC2 answers InvalidInstanceID.NotFound for an unknown id, never an
	// empty list: as in Tables, a list without it is not EC2's answer.
	if len(found) != 1 {
		return agent.Self{}, &agent.APIError{Kind: agent.KindUnreadable, Op: op,
			Err: fmt.Errorf("the answer lists %s %d times, not once; it is not a DescribeInstances response", instanceID, len(found))}
	}
	return selfOf(found[0], region)
}

// selfOf reads an instance the way imdsid reads IMDS, so that the two
// sources give the same agent.Self for the same instance.
func selfOf(in xmlInstance, region string) (agent.Self, error) {
	const op = "DescribeInstances"
	s := agent.Self{InstanceID: in.ID, Region: region, VPCID: in.VPCID, AZ: in.AZ}
	type eni struct {
		id           string
		device, card int32
		vpc          string
	}
	var enis []eni
	for _, n := range in.ENIs {
		a := n.Attachment
		if n.ID == "" || a == nil || a.DeviceIndex == nil {
			continue // without an attachment no route reaches the instance through it
		}
		enis = append(enis, eni{id: n.ID, device: *a.DeviceIndex, card: a.NetworkCardIndex, vpc: n.VPCID})
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
		return agent.Self{}, &agent.APIError{Kind: agent.KindUnreadable, Op: op,
			Err: fmt.Errorf("instance %s has no network interface at device index 0", s.InstanceID)}
	case s.AZ == "" || s.VPCID == "":
		return agent.Self{}, &agent.APIError{Kind: agent.KindUnreadable, Op: op,
			Err: fmt.Errorf("instance %s lacks its availability zone or VPC", s.InstanceID)}
	}
	return s, nil
}
