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
	ids := req.list("RouteTableId")
	filters := req.filters()
	for _, f := range filters {
		switch f.name {
		case "route-table-id", "vpc-id", "association.subnet-id", "association.main",
			"association.route-table-id", "route.destination-cidr-block", "route.destination-ipv6-cidr-block",
			"route.instance-id", "route.network-interface-id", "route.gateway-id", "route.state", "route.origin", "owner-id":
		default:
			return nil, invalidFilter(f.name)
		}
	}
	if err := e.gate(req, ids); err != nil {
		return nil, err
	}
	e.mu.Lock()
	st := e.state
	if e.stale > 0 && e.staleOf != nil {
		st = e.staleOf
		e.stale--
	}
	defer e.mu.Unlock()
	var missing []string
	for _, id := range ids {
		if st.RouteTable(id) == nil {
			if !rtbIDRE.MatchString(id) {
				return nil, errf(400, "InvalidRouteTableId.Malformed", "Invalid id: \"%s\"", id)
			}
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFoundList("InvalidRouteTableID.NotFound", "routeTable", missing)
	}
	out := xDescribeRouteTables{xResp: e.resp(req)}
	for _, rt := range st.RouteTables {
		if len(ids) > 0 && !contains(ids, rt.ID) {
			continue
		}
		if !rtMatches(st, rt, filters) {
			continue
		}
		out.RouteTables = append(out.RouteTables, e.xRouteTable(st, rt))
	}
	return marshal(out), nil
}

func rtMatches(st *State, rt RouteTable, filters []filter) bool {
	anyRoute := func(fn func(r Route) string, values []string) bool {
		for _, r := range rt.Routes {
			if match(values, fn(r)) {
				return true
			}
		}
		return false
	}
	for _, f := range filters {
		ok := false
		switch f.name {
		case "route-table-id", "association.route-table-id":
			ok = match(f.values, rt.ID)
		case "vpc-id":
			ok = match(f.values, rt.VPC)
		case "owner-id":
			ok = match(f.values, st.AccountID)
		case "association.subnet-id":
			for _, s := range rt.Subnets {
				ok = ok || match(f.values, s)
			}
		case "association.main":
			ok = match(f.values, strconv.FormatBool(rt.Main))
		case "route.destination-cidr-block":
			ok = anyRoute(func(r Route) string { return r.DestinationCIDR }, f.values)
		case "route.destination-ipv6-cidr-block":
			ok = anyRoute(func(r Route) string { return r.DestinationIPv6CIDR }, f.values)
		case "route.instance-id":
			ok = anyRoute(func(r Route) string { return r.InstanceID }, f.values)
		case "route.network-interface-id":
			ok = anyRoute(func(r Route) string { return r.NetworkInterfaceID }, f.values)
		case "route.gateway-id":
			ok = anyRoute(func(r Route) string { return r.GatewayID }, f.values)
		case "route.state":
			ok = anyRoute(st.RouteState, f.values)
		case "route.origin":
			ok = anyRoute(func(r Route) string { return r.Origin }, f.values)
		}
		if !ok {
			return false
		}
	}
	return true
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
	ids := req.list("InstanceId")
	filters := req.filters()
	for _, f := range filters {
		switch f.name {
		case "instance-id", "vpc-id", "subnet-id", "availability-zone", "instance-state-name", "network-interface.network-interface-id":
		default:
			return nil, invalidFilter(f.name)
		}
	}
	if err := e.gate(req, nil); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state
	var missing []string
	for _, id := range ids {
		if st.instance(id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFoundList("InvalidInstanceID.NotFound", "instance", missing)
	}
	out := xDescribeInstances{xResp: e.resp(req)}
	for _, in := range st.Instances {
		if len(ids) > 0 && !contains(ids, in.ID) {
			continue
		}
		enis := st.enisOf(in.ID)
		ok := true
		for _, f := range filters {
			switch f.name {
			case "instance-id":
				ok = ok && match(f.values, in.ID)
			case "vpc-id":
				ok = ok && match(f.values, in.VPC)
			case "subnet-id":
				ok = ok && match(f.values, in.Subnet)
			case "availability-zone":
				ok = ok && match(f.values, in.AZ)
			case "instance-state-name":
				ok = ok && match(f.values, in.State)
			case "network-interface.network-interface-id":
				any := false
				for _, en := range enis {
					any = any || match(f.values, en.ID)
				}
				ok = ok && any
			}
		}
		if !ok {
			continue
		}
		x := xInstance{
			ID: in.ID, ImageID: "ami-0123456789abcdef0", State: xInstanceState{Code: stateCodes[in.State], Name: in.State},
			InstanceType: "t3.micro", Placement: xPlacement{AvailabilityZone: in.AZ, Tenancy: "default"},
			SubnetID: in.Subnet, VpcID: in.VPC, SourceDestCheck: in.SourceDestCheck,
		}
		for _, en := range enis {
			if en.DeviceIndex == 0 {
				x.PrivateIPAddress = en.PrivateIP
			}
			x.ENIs = append(x.ENIs, e.xENI(st, *en))
		}
		out.Reservations = append(out.Reservations, xReservation{ID: "r-" + strings.TrimPrefix(in.ID, "i-"), OwnerID: st.AccountID, Instances: []xInstance{x}})
	}
	return marshal(out), nil
}

func (e *Emulator) describeENIs(req *request) ([]byte, *apiError) {
	ids := req.list("NetworkInterfaceId")
	filters := req.filters()
	for _, f := range filters {
		switch f.name {
		case "attachment.instance-id", "network-interface-id", "vpc-id", "subnet-id", "mac-address", "attachment.device-index", "private-ip-address", "addresses.private-ip-address":
		default:
			return nil, invalidFilter(f.name)
		}
	}
	if err := e.gate(req, nil); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state
	var missing []string
	for _, id := range ids {
		if st.eni(id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFoundList("InvalidNetworkInterfaceID.NotFound", "networkInterface", missing)
	}
	out := xDescribeENIs{xResp: e.resp(req)}
	for _, en := range st.ENIs {
		if len(ids) > 0 && !contains(ids, en.ID) {
			continue
		}
		x := e.xENI(st, en)
		ok := true
		for _, f := range filters {
			switch f.name {
			case "attachment.instance-id":
				ok = ok && en.Instance != "" && match(f.values, en.Instance)
			case "network-interface-id":
				ok = ok && match(f.values, en.ID)
			case "vpc-id":
				ok = ok && match(f.values, x.VpcID)
			case "subnet-id":
				ok = ok && match(f.values, en.Subnet)
			case "mac-address":
				ok = ok && match(f.values, en.MAC)
			case "attachment.device-index":
				ok = ok && en.Instance != "" && match(f.values, strconv.Itoa(en.DeviceIndex))
			case "private-ip-address", "addresses.private-ip-address":
				ok = ok && match(f.values, en.PrivateIP)
			}
		}
		if ok {
			out.ENIs = append(out.ENIs, x)
		}
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
	ids := req.list("VpcId")
	filters := req.filters()
	for _, f := range filters {
		if f.name != "vpc-id" && f.name != "cidr" && f.name != "cidr-block-association.cidr-block" {
			return nil, invalidFilter(f.name)
		}
	}
	if err := e.gate(req, nil); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state
	var missing []string
	for _, id := range ids {
		if st.vpc(id) == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFoundList("InvalidVpcID.NotFound", "vpc", missing)
	}
	out := xDescribeVpcs{xResp: e.resp(req)}
	for _, v := range st.VPCs {
		if len(ids) > 0 && !contains(ids, v.ID) {
			continue
		}
		ok := true
		for _, f := range filters {
			switch f.name {
			case "vpc-id":
				ok = ok && match(f.values, v.ID)
			default:
				any := false
				for _, c := range v.CIDRs {
					any = any || match(f.values, c)
				}
				ok = ok && any
			}
		}
		if !ok {
			continue
		}
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
	k := issuedKey{RoleArn: role, Secret: randHex(40), Token: "FwoGZXIvYXdzE" + randHex(100), Expires: e.now().Add(dur).UTC().Truncate(time.Second)}
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
