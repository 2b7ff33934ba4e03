package agent_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/ocf"
)

// fuzzParams are the parameters FuzzMetadataParse sets, in argument order.
var fuzzParams = []string{
	"ip", "address", "routing_table", "destination_cidr", "interface", "iflabel",
	"lookup_type", "create_route", "region", "endpoint", "routing_table_role", "profile",
}

// FuzzMetadataParse feeds arbitrary values to Parse. It must never panic;
// it either returns values that satisfy every documented check, or a
// *ParamError naming a real parameter in one printable line.
func FuzzMetadataParse(f *testing.F) {
	f.Add("192.0.2.10", "", "rtb-0123456789abcdef0", "", "", "", "", "", "", "", "", "")
	f.Add("2001:db8::10", "2001:db8::10", "rtb-0123abcd, rtb-4567abcd", "2001:db8::/64", "eth0", "vip",
		"InstanceId", "no", "eu-west-1", "http://127.0.0.1:5000", "arn:aws:iam::123456789012:role/x", "default")
	f.Add("", "192.0.2.1", "rtb-0123abcd,rtb-0123abcd", "192.0.2.1/24", "lo\x00", "0", "x", "maybe", "EU", "ftp://", "role", "\n")
	f.Fuzz(func(t *testing.T, ip, address, rtb, cidr, iface, label, lookupType, create, region, endpoint, role, profile string) {
		vals := map[string]string{}
		for i, v := range []string{ip, address, rtb, cidr, iface, label, lookupType, create, region, endpoint, role, profile} {
			if v != "" {
				vals[fuzzParams[i]] = v
			}
		}
		md := agent.New("fuzz", nil).Definition()
		v, err := ocf.ParseParams(md.Params, lookup(vals))
		_, err2 := ocf.ParseParams(md.Params, lookup(vals))
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Parse is not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			var pe *ocf.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParamError: %v", err, err)
			}
			if !slices.ContainsFunc(md.Params, func(p ocf.Param) bool { return p.Name == pe.Param }) {
				t.Fatalf("error names unknown parameter %q", pe.Param)
			}
			msg := err.Error()
			if msg == "" || strings.ContainsAny(msg, "\n\r\x00") {
				t.Fatalf("reason is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, "parameter "+pe.Param) {
				t.Fatalf("reason does not start with the parameter: %q", msg)
			}
			if !utf8.ValidString(msg) {
				t.Fatalf("reason is not valid UTF-8: %q", msg)
			}
			if len(msg) > 400 {
				t.Fatalf("reason is %d bytes long: %q", len(msg), msg)
			}
			return
		}
		// Success: every value satisfies the documented contract.
		a, perr := netip.ParseAddr(v.Get("ip"))
		if perr != nil || a.Zone() != "" || a.Is4In6() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
			t.Fatalf("accepted ip %q", v.Get("ip"))
		}
		// address fills ip; when both are set they name the same address
		// (ip keeps its own spelling).
		if b, err := netip.ParseAddr(address); address != "" && (err != nil || b != a) {
			t.Fatalf("address %q did not become ip (%q)", address, v.Get("ip"))
		}
		ids, terr := agent.ParseTableIDs(v.Get("routing_table"))
		if terr != nil || len(ids) == 0 {
			t.Fatalf("accepted routing_table %q: %v", v.Get("routing_table"), terr)
		}
		if c := v.Get("destination_cidr"); c != "" {
			p, cerr := netip.ParsePrefix(c)
			if cerr != nil || p.Masked() != p {
				t.Fatalf("accepted destination_cidr %q", c)
			}
		}
		if !slices.Contains([]string{"InstanceId", "NetworkInterfaceId"}, v.Get("lookup_type")) {
			t.Fatalf("accepted lookup_type %q", v.Get("lookup_type"))
		}
		if _, berr := ocf.ParseBool(v.Get("create_route")); berr != nil {
			t.Fatalf("accepted create_route %q", v.Get("create_route"))
		}
		for _, n := range []string{"interface", "iflabel"} {
			if s := v.Get(n); len(s) == 0 || len(s) > 15 {
				t.Fatalf("accepted %s %q", n, s)
			}
		}
		for name, val := range vals {
			if strings.ContainsRune(val, 0) {
				t.Fatalf("accepted a NUL byte in %s", name)
			}
			if name != "address" && v.Get(name) != val {
				t.Fatalf("%s=%q came back as %q", name, val, v.Get(name))
			}
		}
	})
}
