package awsec2

// The parts of EC2's answers (API version 2016-11-15) that routeha reads.
// encoding/xml matches the elements by local name; everything not named
// here is skipped.

type describeRouteTablesResponse struct {
	RouteTables []xmlRouteTable `xml:"routeTableSet>item"`
	NextToken   string          `xml:"nextToken"`
}

type xmlRouteTable struct {
	ID           string           `xml:"routeTableId"`
	VPCID        string           `xml:"vpcId"`
	Routes       []xmlRoute       `xml:"routeSet>item"`
	Associations []xmlAssociation `xml:"associationSet>item"`
}

type xmlAssociation struct {
	Main     bool   `xml:"main"`
	SubnetID string `xml:"subnetId"`
}

type xmlRoute struct {
	DestinationCIDR     string `xml:"destinationCidrBlock"`
	DestinationIPv6CIDR string `xml:"destinationIpv6CidrBlock"`
	InstanceID          string `xml:"instanceId"`
	ENI                 string `xml:"networkInterfaceId"`
	State               string `xml:"state"`
	// Targets other than an instance or an ENI, in the order in which
	// the adapter names them.
	GatewayID                   string `xml:"gatewayId"`
	NatGatewayID                string `xml:"natGatewayId"`
	TransitGatewayID            string `xml:"transitGatewayId"`
	VPCPeeringConnectionID      string `xml:"vpcPeeringConnectionId"`
	EgressOnlyInternetGatewayID string `xml:"egressOnlyInternetGatewayId"`
	LocalGatewayID              string `xml:"localGatewayId"`
	CarrierGatewayID            string `xml:"carrierGatewayId"`
	CoreNetworkARN              string `xml:"coreNetworkArn"`
}

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
