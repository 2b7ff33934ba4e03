package awsec2

// The parts of EC2's answers (API version 2016-11-15) that routeha reads
// with encoding/xml, which matches the elements by local name and skips
// everything not named here. DescribeRouteTables, read on every monitor, has
// a reader of its own (xmlwalk.go).

type describeNetworkInterfacesResponse struct {
	Interfaces []struct {
		ID              string `xml:"networkInterfaceId"`
		AZ              string `xml:"availabilityZone"`
		SourceDestCheck bool   `xml:"sourceDestCheck"`
		Attachment      struct {
			InstanceID string `xml:"instanceId"`
		} `xml:"attachment"`
	} `xml:"networkInterfaceSet>item"`
}

type describeInstancesResponse struct {
	Reservations []struct {
		Instances []xmlInstance `xml:"instancesSet>item"`
	} `xml:"reservationSet>item"`
}

type xmlInstance struct {
	ID    string `xml:"instanceId"`
	VPCID string `xml:"vpcId"`
	AZ    string `xml:"placement>availabilityZone"`
	ENIs  []struct {
		ID         string `xml:"networkInterfaceId"`
		VPCID      string `xml:"vpcId"`
		Attachment *struct {
			DeviceIndex      *int32 `xml:"deviceIndex"`
			NetworkCardIndex int32  `xml:"networkCardIndex"`
		} `xml:"attachment"`
	} `xml:"networkInterfaceSet>item"`
}
