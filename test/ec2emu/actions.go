package ec2emu

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var rtbIDRE = regexp.MustCompile(`^rtb-([0-9a-f]{8}|[0-9a-f]{17})$`)

func (e *Emulator) dispatch(req *request) ([]byte, *apiError) {
	switch req.action {
	case "AssumeRole":
		return e.assumeRole(req)
	case "":
		return nil, errf(400, "MissingAction", "The request must contain the parameter Action")
	}
	if v := req.get("Version"); v != "" && v != "2016-11-15" {
		return nil, errf(400, "InvalidParameterValue", "Invalid API version %q", v)
	}
	switch req.action {
	case "DescribeRouteTables":
		return e.describeRouteTables(req)
	case "CreateRoute", "ReplaceRoute", "DeleteRoute":
		return e.routeWrite(req)
	case "DescribeInstances":
		return e.describeInstances(req)
	case "DescribeNetworkInterfaces":
		return e.describeENIs(req)
	case "DescribeInstanceAttribute":
		return e.describeInstanceAttribute(req)
	case "ModifyInstanceAttribute", "ModifyNetworkInterfaceAttribute":
		return e.modifyAttribute(req)
	case "DescribeVpcs":
		return e.describeVpcs(req)
	}
	return nil, errf(400, "InvalidAction", "The action %s is not valid for this web service.", req.action)
}

// gate applies authorisation and DryRun. It returns a non-nil error when the
// request must stop here.
func (e *Emulator) gate(req *request, tables []string) *apiError {
	if err := e.authorize(req, tables); err != nil {
		return err
	}
	if req.dryRun {
		return errf(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	return nil
}

func (e *Emulator) resp(req *request) xResp { return xResp{Xmlns: EC2Namespace, RequestID: req.id} }

func match(values []string, v string) bool {
	for _, w := range values {
		if w == v || w == "*" {
			return true
		}
		if strings.Contains(w, "*") {
			re := "^" + strings.ReplaceAll(regexp.QuoteMeta(w), `\*`, ".*") + "$"
			if ok, _ := regexp.MatchString(re, v); ok {
				return true
			}
		}
	}
	return false
}

func invalidFilter(name string) *apiError {
	return errf(400, "InvalidParameterValue", "The filter '%s' is invalid", name)
}

func notFoundList(code, what string, ids []string) *apiError {
	if len(ids) == 1 {
		return errf(400, code, "The %s ID '%s' does not exist", what, ids[0])
	}
	return errf(400, code, "The %s IDs '%s' do not exist", what, strings.Join(ids, ", "))
}

// ---- route tables ----

func (e *Emulator) describeRouteTables(req *request) ([]byte, *apiError) {
	routes := func(rt RouteTable, field func(r Route) string) []string {
		var out []string
		for _, r := range rt.Routes {
			out = append(out, values(field(r))...)
		}
		return out
	}
	tableID := func(_ *State, rt RouteTable) []string { return values(rt.ID) }
	spec := describeSpec[RouteTable]{
		idParam: "RouteTableId", notFound: "InvalidRouteTableID.NotFound", noun: "routeTable",
		items: e.routeTablesView,
		id:    func(rt RouteTable) string { return rt.ID },
		malformed: func(id string) *apiError {
			if !rtbIDRE.MatchString(id) {
				return errf(400, "InvalidRouteTableId.Malformed", "Invalid id: \"%s\"", id)
			}
			return nil
		},
		tables: true,
		stale:  true,
		filters: filterSet[RouteTable]{
			"route-table-id":             tableID,
			"association.route-table-id": tableID,
			"vpc-id":                     func(_ *State, rt RouteTable) []string { return values(rt.VPC) },
			"owner-id":                   func(st *State, _ RouteTable) []string { return values(st.AccountID) },
			"association.subnet-id":      func(_ *State, rt RouteTable) []string { return rt.Subnets },
			"association.main":           func(_ *State, rt RouteTable) []string { return values(strconv.FormatBool(rt.Main)) },
			"route.destination-cidr-block": func(_ *State, rt RouteTable) []string {
				return routes(rt, func(r Route) string { return r.DestinationCIDR })
			},
			"route.destination-ipv6-cidr-block": func(_ *State, rt RouteTable) []string {
				return routes(rt, func(r Route) string { return r.DestinationIPv6CIDR })
			},
			"route.instance-id": func(_ *State, rt RouteTable) []string {
				return routes(rt, func(r Route) string { return r.InstanceID })
			},
			"route.network-interface-id": func(_ *State, rt RouteTable) []string {
				return routes(rt, func(r Route) string { return r.NetworkInterfaceID })
			},
			"route.gateway-id": func(_ *State, rt RouteTable) []string {
				return routes(rt, func(r Route) string { return r.GatewayID })
			},
			"route.state":  func(st *State, rt RouteTable) []string { return routes(rt, st.RouteState) },
			"route.origin": func(_ *State, rt RouteTable) []string { return routes(rt, func(r Route) string { return r.Origin }) },
		},
	}
	out := xDescribeRouteTables{xResp: e.resp(req)}
	e.mu.Lock()
	all := e.allTables
	e.mu.Unlock()
	if all {
		c := *req
		c.params = map[string]string{}
		for k, v := range req.params {
			if !strings.HasPrefix(k, "RouteTableId.") {
				c.params[k] = v
			}
		}
		req = &c
	}
	if err := describe(e, req, spec, func(st *State, rt RouteTable) {
		out.RouteTables = append(out.RouteTables, e.xRouteTable(st, rt))
	}); err != nil {
		return nil, err
	}
	return marshal(out), nil
}

func assocID(table, subnet string) string {
	h := hex.EncodeToString([]byte(table + subnet))
	for len(h) < 17 {
		h += "0"
	}
	return "rtbassoc-" + h[len(h)-17:]
}

func (e *Emulator) xRouteTable(st *State, rt RouteTable) xRouteTable {
	x := xRouteTable{ID: rt.ID, VpcID: rt.VPC, OwnerID: st.AccountID}
	for _, r := range rt.Routes {
		xr := xRoute{
			DestinationCidrBlock:     r.DestinationCIDR,
			DestinationIpv6CidrBlock: r.DestinationIPv6CIDR,
			GatewayID:                r.GatewayID,
			InstanceID:               r.InstanceID,
			NetworkInterfaceID:       r.NetworkInterfaceID,
			State:                    st.RouteState(r),
			Origin:                   r.Origin,
		}
		if xr.Origin == "" {
			xr.Origin = "CreateRoute"
		}
		if r.InstanceID != "" {
			xr.InstanceOwnerID = st.AccountID
		}
		x.Routes = append(x.Routes, xr)
	}
	if rt.Main {
		x.Associations = append(x.Associations, xAssociation{ID: assocID(rt.ID, "main"), RouteTableID: rt.ID, Main: true, AssociationState: xState{"associated"}})
	}
	for _, s := range rt.Subnets {
		x.Associations = append(x.Associations, xAssociation{ID: assocID(rt.ID, s), RouteTableID: rt.ID, SubnetID: s, AssociationState: xState{"associated"}})
	}
	return x
}

func (e *Emulator) routeWrite(req *request) ([]byte, *apiError) {
	table := req.get("RouteTableId")
	if table == "" {
		return nil, errf(400, "MissingParameter", "The request must contain the parameter routeTableId")
	}
	dest4, dest6 := req.get("DestinationCidrBlock"), req.get("DestinationIpv6CidrBlock")
	var dest string
	switch {
	case dest4 != "" && dest6 != "":
		return nil, errf(400, "InvalidParameterCombination", "The parameter destinationCidrBlock cannot be used with the parameter destinationIpv6CidrBlock")
	case dest4 != "":
		p, err := netip.ParsePrefix(dest4)
		if err != nil || !p.Addr().Is4() {
			return nil, errf(400, "InvalidParameterValue", "Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.", dest4)
		}
		dest = p.Masked().String()
	case dest6 != "":
		p, err := netip.ParsePrefix(dest6)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
			return nil, errf(400, "InvalidParameterValue", "Value (%s) for parameter destinationIpv6CidrBlock is invalid. This is not a valid IPv6 CIDR block.", dest6)
		}
		dest = p.Masked().String()
	default:
		return nil, errf(400, "MissingParameter", "The request must contain the parameter destinationCidrBlock or destinationIpv6CidrBlock")
	}
	inst, eni, gw := req.get("InstanceId"), req.get("NetworkInterfaceId"), req.get("GatewayId")
	if req.action != "DeleteRoute" {
		n := 0
		for _, v := range []string{inst, eni, gw} {
			if v != "" {
				n++
			}
		}
		for _, k := range []string{"NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId", "EgressOnlyInternetGatewayId", "LocalGatewayId", "CarrierGatewayId", "VpcEndpointId", "CoreNetworkArn"} {
			if req.get(k) != "" {
				return nil, errf(400, "InvalidParameterValue", "The emulator does not support the route target %s", k)
			}
		}
		if n == 0 {
			return nil, errf(400, "MissingParameter", "The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, egressOnlyInternetGatewayId, transitGatewayId, localGatewayId, carrierGatewayId, coreNetworkArn or instanceId")
		}
		if n > 1 {
			return nil, errf(400, "InvalidParameterCombination", "More than one target specified. Please specify only one of gatewayId, networkInterfaceId or instanceId")
		}
	}
	if err := e.gate(req, []string{table}); err != nil {
		return nil, err
	}

	e.mu.Lock()
	rt := e.state.RouteTable(table)
	if rt == nil {
		e.mu.Unlock()
		if !rtbIDRE.MatchString(table) {
			return nil, errf(400, "InvalidRouteTableId.Malformed", "Invalid id: \"%s\"", table)
		}
		return nil, errf(400, "InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", table)
	}
	before := e.state.Snapshot()
	idx := rt.find(dest)
	var newRoute Route
	if req.action != "DeleteRoute" {
		var err *apiError
		newRoute, err = e.buildRoute(rt, dest, inst, eni, gw)
		if err != nil {
			e.mu.Unlock()
			return nil, err
		}
	}
	var aerr *apiError
	switch req.action {
	case "CreateRoute":
		if idx >= 0 {
			aerr = errf(400, "RouteAlreadyExists", "The route identified by %s already exists.", dest)
			break
		}
		rt.Routes = append(rt.Routes, newRoute)
	case "ReplaceRoute":
		switch {
		case idx < 0:
			aerr = errf(400, "InvalidParameterValue", "There is no route defined for '%s' in the route table. Use CreateRoute instead.", dest)
		case rt.Routes[idx].GatewayID == "local":
			aerr = errf(400, "InvalidParameterValue", "Cannot replace local route %s in route table %s", dest, table)
		default:
			newRoute.Origin = rt.Routes[idx].Origin
			if newRoute.Origin == "" {
				newRoute.Origin = "CreateRoute"
			}
			rt.Routes[idx] = newRoute
		}
	case "DeleteRoute":
		switch {
		case idx < 0:
			aerr = errf(400, "InvalidRoute.NotFound", "no route with destination-cidr-block %s in route table %s", dest, table)
		case rt.Routes[idx].GatewayID == "local":
			aerr = errf(400, "InvalidParameterValue", "cannot remove local route %s in route table %s", dest, table)
		default:
			rt.Routes = append(rt.Routes[:idx], rt.Routes[idx+1:]...)
		}
	}
	if aerr != nil {
		e.mu.Unlock()
		return nil, aerr
	}
	e.staleWrite(table, before.RouteTable(table))
	if e.staleN > 0 {
		if e.stale == 0 || e.staleOf == nil {
			e.staleOf = before
		}
		e.stale = e.staleN
	}
	snap := e.state.Snapshot()
	hook := e.onChange
	e.mu.Unlock()
	if hook != nil {
		hook(snap)
	}
	name := xml.Name{Space: "", Local: req.action + "Response"}
	if req.action == "CreateRoute" || req.action == "ReplaceRoute" {
		return marshal(xReturn{XMLName: name, xResp: e.resp(req), Return: true}), nil
	}
	return marshal(xPlainResp{XMLName: name, xResp: e.resp(req)}), nil
}

// buildRoute validates the target and returns the route to store. Call with
// e.mu held.
func (e *Emulator) buildRoute(rt *RouteTable, dest, inst, eni, gw string) (Route, *apiError) {
	r := Route{Origin: "CreateRoute"}
	if isV6(dest) {
		r.DestinationIPv6CIDR = dest
	} else {
		r.DestinationCIDR = dest
	}
	st := e.state
	switch {
	case inst != "":
		in := st.instance(inst)
		if in == nil {
			return r, errf(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", inst)
		}
		enis := st.enisOf(inst)
		if len(enis) > 1 {
			return r, errf(400, "InvalidInstanceID", "There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", inst)
		}
		if in.VPC != rt.VPC {
			return r, errf(400, "InvalidParameterValue", "route table %s and instance %s belong to different networks", rt.ID, inst)
		}
		r.InstanceID = inst
		if len(enis) == 1 {
			r.NetworkInterfaceID = enis[0].ID
		}
	case eni != "":
		en := st.eni(eni)
		if en == nil {
			return r, errf(400, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", eni)
		}
		if sn := st.subnet(en.Subnet); sn != nil && sn.VPC != rt.VPC {
			return r, errf(400, "InvalidParameterValue", "route table %s and network interface %s belong to different networks", rt.ID, eni)
		}
		r.NetworkInterfaceID = eni
		r.InstanceID = en.Instance
	default:
		if gw == "local" {
			return r, errf(400, "InvalidParameterValue", "The destination CIDR block %s is not one of this VPC's CIDR blocks, so it cannot target local", dest)
		}
		if !strings.HasPrefix(gw, "igw-") && !strings.HasPrefix(gw, "vgw-") {
			return r, errf(400, "InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", gw)
		}
		r.GatewayID = gw
	}
	return r, nil
}

// ---- instances and interfaces ----

func (e *Emulator) xENI(st *State, en ENI) xENI {
	x := xENI{
		ID: en.ID, SubnetID: en.Subnet, OwnerID: st.AccountID, Status: "available",
		MacAddress: en.MAC, PrivateIPAddress: en.PrivateIP, SourceDestCheck: en.SourceDestCheck,
		InterfaceType: "interface",
		PrivateIPs:    []xPrivateIP{{PrivateIPAddress: en.PrivateIP, Primary: true}},
	}
	if sn := st.subnet(en.Subnet); sn != nil {
		x.VpcID, x.AvailabilityZone = sn.VPC, sn.AZ
	}
	if en.Instance != "" {
		x.Status = "in-use"
		x.Attachment = &xAttachment{
			AttachmentID: "eni-attach-" + strings.TrimPrefix(en.ID, "eni-"), InstanceID: en.Instance,
			InstanceOwnerID: st.AccountID, DeviceIndex: en.DeviceIndex, Status: "attached", DeleteOnTermination: en.DeviceIndex == 0,
		}
	}
	return x
}

var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

func (e *Emulator) describeInstances(req *request) ([]byte, *apiError) {
	spec := describeSpec[Instance]{
		idParam: "InstanceId", notFound: "InvalidInstanceID.NotFound", noun: "instance",
		items: func(st *State) []Instance { return st.Instances },
		id:    func(in Instance) string { return in.ID },
		filters: filterSet[Instance]{
			"instance-id":         func(_ *State, in Instance) []string { return values(in.ID) },
			"vpc-id":              func(_ *State, in Instance) []string { return values(in.VPC) },
			"subnet-id":           func(_ *State, in Instance) []string { return values(in.Subnet) },
			"availability-zone":   func(_ *State, in Instance) []string { return values(in.AZ) },
			"instance-state-name": func(_ *State, in Instance) []string { return values(in.State) },
			"network-interface.network-interface-id": func(st *State, in Instance) []string {
				var ids []string
				for _, en := range st.enisOf(in.ID) {
					ids = append(ids, en.ID)
				}
				return ids
			},
		},
	}
	out := xDescribeInstances{xResp: e.resp(req)}
	if err := describe(e, req, spec, func(st *State, in Instance) {
		x := xInstance{
			ID: in.ID, ImageID: "ami-0123456789abcdef0", State: xInstanceState{Code: stateCodes[in.State], Name: in.State},
			InstanceType: "t3.micro", Placement: xPlacement{AvailabilityZone: in.AZ, Tenancy: "default"},
			SubnetID: in.Subnet, VpcID: in.VPC, SourceDestCheck: in.SourceDestCheck,
		}
		for _, en := range st.enisOf(in.ID) {
			if en.DeviceIndex == 0 {
				x.PrivateIPAddress = en.PrivateIP
			}
			x.ENIs = append(x.ENIs, e.xENI(st, *en))
		}
		out.Reservations = append(out.Reservations, xReservation{ID: "r-" + strings.TrimPrefix(in.ID, "i-"), OwnerID: st.AccountID, Instances: []xInstance{x}})
	}); err != nil {
		return nil, err
	}
	return marshal(out), nil
}

func (e *Emulator) describeENIs(req *request) ([]byte, *apiError) {
	// Only an attached interface has an instance and a device index.
	attached := func(en ENI, v string) []string {
		if en.Instance == "" {
			return nil
		}
		return values(v)
	}
	privateIP := func(_ *State, en ENI) []string { return values(en.PrivateIP) }
	spec := describeSpec[ENI]{
		idParam: "NetworkInterfaceId", notFound: "InvalidNetworkInterfaceID.NotFound", noun: "networkInterface",
		items: func(st *State) []ENI { return st.ENIs },
		id:    func(en ENI) string { return en.ID },
		filters: filterSet[ENI]{
			"attachment.instance-id": func(_ *State, en ENI) []string { return attached(en, en.Instance) },
			"network-interface-id":   func(_ *State, en ENI) []string { return values(en.ID) },
			"vpc-id": func(st *State, en ENI) []string {
				if sn := st.subnet(en.Subnet); sn != nil {
					return values(sn.VPC)
				}
				return nil
			},
			"subnet-id":                    func(_ *State, en ENI) []string { return values(en.Subnet) },
			"mac-address":                  func(_ *State, en ENI) []string { return values(en.MAC) },
			"attachment.device-index":      func(_ *State, en ENI) []string { return attached(en, strconv.Itoa(en.DeviceIndex)) },
			"private-ip-address":           privateIP,
			"addresses.private-ip-address": privateIP,
		},
	}
	out := xDescribeENIs{xResp: e.resp(req)}
	if err := describe(e, req, spec, func(st *State, en ENI) {
		out.ENIs = append(out.ENIs, e.xENI(st, en))
	}); err != nil {
		return nil, err
	}
	return marshal(out), nil
}

func (e *Emulator) describeInstanceAttribute(req *request) ([]byte, *apiError) {
	id, attr := req.get("InstanceId"), req.get("Attribute")
	if id == "" {
		return nil, errf(400, "MissingParameter", "The request must contain the parameter instanceId")
	}
	if attr == "" {
		return nil, errf(400, "MissingParameter", "The request must contain the parameter attribute")
	}
	if attr != "sourceDestCheck" {
		return nil, errf(400, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid or not supported by the emulator", attr)
	}
	if err := e.gate(req, nil); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.state.instance(id)
	if in == nil {
		return nil, errf(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	}
	return marshal(xDescribeInstanceAttribute{xResp: e.resp(req), InstanceID: id, SourceDestCheck: xBoolValue{in.SourceDestCheck}}), nil
}

func (e *Emulator) modifyAttribute(req *request) ([]byte, *apiError) {
	idParam, idName := "InstanceId", "instanceId"
	if req.action == "ModifyNetworkInterfaceAttribute" {
		idParam, idName = "NetworkInterfaceId", "networkInterfaceId"
	}
	id := req.get(idParam)
	if id == "" {
		return nil, errf(400, "MissingParameter", "The request must contain the parameter %s", idName)
	}
	raw := req.get("SourceDestCheck.Value")
	if raw == "" && req.get("Attribute") == "sourceDestCheck" {
		raw = req.get("Value")
	}
	if raw == "" {
		return nil, errf(400, "MissingParameter", "The request must contain the parameter sourceDestCheck (the emulator supports only that attribute)")
	}
	val, err := strconv.ParseBool(raw)
	if err != nil {
		return nil, errf(400, "InvalidParameterValue", "Value (%s) for parameter sourceDestCheck is invalid", raw)
	}
	if err := e.gate(req, nil); err != nil {
		return nil, err
	}
	e.mu.Lock()
	st := e.state
	if req.action == "ModifyInstanceAttribute" {
		in := st.instance(id)
		if in == nil {
			e.mu.Unlock()
			return nil, errf(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
		in.SourceDestCheck = val
		for _, en := range st.enisOf(id) {
			if en.DeviceIndex == 0 {
				en.SourceDestCheck = val
			}
		}
	} else {
		en := st.eni(id)
		if en == nil {
			e.mu.Unlock()
			return nil, errf(400, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '%s' does not exist", id)
		}
		en.SourceDestCheck = val
		if in := st.instance(en.Instance); in != nil && en.DeviceIndex == 0 {
			in.SourceDestCheck = val
		}
	}
	snap := st.Snapshot()
	hook := e.onChange
	e.mu.Unlock()
	if hook != nil {
		hook(snap)
	}
	return marshal(xReturn{XMLName: xml.Name{Local: req.action + "Response"}, xResp: e.resp(req), Return: true}), nil
}

func (e *Emulator) describeVpcs(req *request) ([]byte, *apiError) {
	cidrs := func(_ *State, v VPC) []string { return v.CIDRs }
	spec := describeSpec[VPC]{
		idParam: "VpcId", notFound: "InvalidVpcID.NotFound", noun: "vpc",
		items: func(st *State) []VPC { return st.VPCs },
		id:    func(v VPC) string { return v.ID },
		filters: filterSet[VPC]{
			"vpc-id":                            func(_ *State, v VPC) []string { return values(v.ID) },
			"cidr":                              cidrs,
			"cidr-block-association.cidr-block": cidrs,
		},
	}
	out := xDescribeVpcs{xResp: e.resp(req)}
	if err := describe(e, req, spec, func(st *State, v VPC) {
		x := xVpc{ID: v.ID, OwnerID: st.AccountID, State: "available", DhcpOptionsID: "dopt-0123456789abcdef0", InstanceTenancy: "default"}
		for i, c := range v.CIDRs {
			if i == 0 {
				x.CidrBlock = c
			}
			x.CidrAssocs = append(x.CidrAssocs, xCidrAssoc{AssociationID: fmt.Sprintf("vpc-cidr-assoc-%017x", i+1), CidrBlock: c, State: xState{"associated"}})
		}
		for i, c := range v.IPv6CIDRs {
			x.IPv6CidrAssocs = append(x.IPv6CidrAssocs, xIPv6CidrAssoc{AssociationID: fmt.Sprintf("vpc-cidr-assoc-%017x", i+100), Ipv6CidrBlock: c, State: xState{"associated"}, NetworkBorderGroup: st.Region})
		}
		out.Vpcs = append(out.Vpcs, x)
	}); err != nil {
		return nil, err
	}
	return marshal(out), nil
}

// ---- STS ----

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func (e *Emulator) assumeRole(req *request) ([]byte, *apiError) {
	role := req.get("RoleArn")
	if role == "" {
		return nil, errf(400, "ValidationError", "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if !strings.HasPrefix(role, "arn:aws:iam::") || !strings.Contains(role, ":role/") {
		return nil, errf(400, "ValidationError", "%s is invalid", role)
	}
	session := req.get("RoleSessionName")
	if session == "" {
		return nil, errf(400, "ValidationError", "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	}
	if err := e.authorize(req, nil); err != nil {
		return nil, errf(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", req.principal, role)
	}
	dur := time.Hour
	if s := req.get("DurationSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 900 || n > 43200 {
			return nil, errf(400, "ValidationError", "The requested DurationSeconds exceeds the allowed range")
		}
		dur = time.Duration(n) * time.Second
	}
	key := "ASIA" + strings.ToUpper(randHex(16))
	k := issuedKey{RoleArn: role, Secret: randHex(40), Token: "FwoGZXIvYXdzE" + randHex(100), Expires: e.clock().Add(dur).UTC().Truncate(time.Second)}
	e.mu.Lock()
	e.issued[key] = k
	e.mu.Unlock()
	name := role[strings.LastIndex(role, "/")+1:]
	acct := strings.Split(role, ":")[4]
	return marshal(xAssumeRole{
		Xmlns:       STSNamespace,
		Credentials: xCredentials{AccessKeyID: key, SecretAccessKey: k.Secret, SessionToken: k.Token, Expiration: k.Expires.Format(time.RFC3339)},
		RoleID:      "AROA" + strings.ToUpper(randHex(17)) + ":" + session,
		RoleUserArn: "arn:aws:sts::" + acct + ":assumed-role/" + name + "/" + session,
		RequestID:   req.id,
	}), nil
}
