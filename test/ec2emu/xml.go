package ec2emu

import "encoding/xml"

type xResp struct {
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
}

type xState struct {
	State string `xml:"state"`
}

type xRoute struct {
	DestinationCidrBlock     string `xml:"destinationCidrBlock,omitempty"`
	DestinationIpv6CidrBlock string `xml:"destinationIpv6CidrBlock,omitempty"`
	GatewayID                string `xml:"gatewayId,omitempty"`
	InstanceID               string `xml:"instanceId,omitempty"`
	InstanceOwnerID          string `xml:"instanceOwnerId,omitempty"`
	NetworkInterfaceID       string `xml:"networkInterfaceId,omitempty"`
	State                    string `xml:"state"`
	Origin                   string `xml:"origin"`
}

type xAssociation struct {
	ID               string `xml:"routeTableAssociationId"`
	RouteTableID     string `xml:"routeTableId"`
	SubnetID         string `xml:"subnetId,omitempty"`
	Main             bool   `xml:"main"`
	AssociationState xState `xml:"associationState"`
}

type xRouteTable struct {
	ID           string         `xml:"routeTableId"`
	VpcID        string         `xml:"vpcId"`
	OwnerID      string         `xml:"ownerId"`
	Routes       []xRoute       `xml:"routeSet>item"`
	Associations []xAssociation `xml:"associationSet>item"`
	Propagating  string         `xml:"propagatingVgwSet"`
	Tags         string         `xml:"tagSet"`
}

type xDescribeRouteTables struct {
	XMLName xml.Name `xml:"DescribeRouteTablesResponse"`
	xResp
	RouteTables []xRouteTable `xml:"routeTableSet>item"`
}

type xReturn struct {
	XMLName xml.Name
	xResp
	Return bool `xml:"return"`
}

type xPlainResp struct {
	XMLName xml.Name
	xResp
}

type xInstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type xPrivateIP struct {
	PrivateIPAddress string `xml:"privateIpAddress"`
	Primary          bool   `xml:"primary"`
}

type xAttachment struct {
	AttachmentID        string `xml:"attachmentId"`
	InstanceID          string `xml:"instanceId,omitempty"`
	InstanceOwnerID     string `xml:"instanceOwnerId,omitempty"`
	DeviceIndex         int    `xml:"deviceIndex"`
	Status              string `xml:"status"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type xENI struct {
	ID               string       `xml:"networkInterfaceId"`
	SubnetID         string       `xml:"subnetId"`
	VpcID            string       `xml:"vpcId"`
	AvailabilityZone string       `xml:"availabilityZone,omitempty"`
	OwnerID          string       `xml:"ownerId"`
	Status           string       `xml:"status"`
	MacAddress       string       `xml:"macAddress"`
	PrivateIPAddress string       `xml:"privateIpAddress"`
	SourceDestCheck  bool         `xml:"sourceDestCheck"`
	InterfaceType    string       `xml:"interfaceType"`
	Attachment       *xAttachment `xml:"attachment,omitempty"`
	PrivateIPs       []xPrivateIP `xml:"privateIpAddressesSet>item"`
}

type xInstance struct {
	ID               string         `xml:"instanceId"`
	ImageID          string         `xml:"imageId"`
	State            xInstanceState `xml:"instanceState"`
	InstanceType     string         `xml:"instanceType"`
	Placement        xPlacement     `xml:"placement"`
	PrivateIPAddress string         `xml:"privateIpAddress,omitempty"`
	SubnetID         string         `xml:"subnetId"`
	VpcID            string         `xml:"vpcId"`
	SourceDestCheck  bool           `xml:"sourceDestCheck"`
	ENIs             []xENI         `xml:"networkInterfaceSet>item"`
}

type xReservation struct {
	ID        string      `xml:"reservationId"`
	OwnerID   string      `xml:"ownerId"`
	Instances []xInstance `xml:"instancesSet>item"`
}

type xDescribeInstances struct {
	XMLName xml.Name `xml:"DescribeInstancesResponse"`
	xResp
	Reservations []xReservation `xml:"reservationSet>item"`
}

type xDescribeENIs struct {
	XMLName xml.Name `xml:"DescribeNetworkInterfacesResponse"`
	xResp
	ENIs []xENI `xml:"networkInterfaceSet>item"`
}

type xBoolValue struct {
	Value bool `xml:"value"`
}

type xDescribeInstanceAttribute struct {
	XMLName xml.Name `xml:"DescribeInstanceAttributeResponse"`
	xResp
	InstanceID      string     `xml:"instanceId"`
	SourceDestCheck xBoolValue `xml:"sourceDestCheck"`
}

type xCidrAssoc struct {
	AssociationID string `xml:"associationId"`
	CidrBlock     string `xml:"cidrBlock"`
	State         xState `xml:"cidrBlockState"`
}

type xIPv6CidrAssoc struct {
	AssociationID      string `xml:"associationId"`
	Ipv6CidrBlock      string `xml:"ipv6CidrBlock"`
	State              xState `xml:"ipv6CidrBlockState"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
}

type xVpc struct {
	ID              string           `xml:"vpcId"`
	OwnerID         string           `xml:"ownerId"`
	State           string           `xml:"state"`
	CidrBlock       string           `xml:"cidrBlock"`
	CidrAssocs      []xCidrAssoc     `xml:"cidrBlockAssociationSet>item"`
	IPv6CidrAssocs  []xIPv6CidrAssoc `xml:"ipv6CidrBlockAssociationSet>item"`
	DhcpOptionsID   string           `xml:"dhcpOptionsId"`
	InstanceTenancy string           `xml:"instanceTenancy"`
	IsDefault       bool             `xml:"isDefault"`
}

type xDescribeVpcs struct {
	XMLName xml.Name `xml:"DescribeVpcsResponse"`
	xResp
	Vpcs []xVpc `xml:"vpcSet>item"`
}

type xCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type xAssumeRole struct {
	XMLName     xml.Name     `xml:"AssumeRoleResponse"`
	Xmlns       string       `xml:"xmlns,attr"`
	Credentials xCredentials `xml:"AssumeRoleResult>Credentials"`
	RoleID      string       `xml:"AssumeRoleResult>AssumedRoleUser>AssumedRoleId"`
	RoleUserArn string       `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
	RequestID   string       `xml:"ResponseMetadata>RequestId"`
}
