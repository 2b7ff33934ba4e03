package awsec2

import (
	"encoding/xml"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
)

// oracle reads an answer with encoding/xml.
func oracle(data []byte) (routeTablesAnswer, error) {
	var r describeRouteTablesResponse
	if err := xml.Unmarshal(data, &r); err != nil {
		return routeTablesAnswer{}, err
	}
	out := routeTablesAnswer{NextToken: r.NextToken}
	for _, t := range r.RouteTables {
		out.Tables = append(out.Tables, convertTable(t))
	}
	return out, nil
}

func TestDecodeRouteTablesReadsWhatEncodingXMLReads(t *testing.T) {
	for _, doc := range []string{describeOK, describeEdgeCases, string(answerOf(3))} {
		got, err := decodeRouteTables([]byte(doc))
		require.NoError(t, err)
		want, err := oracle([]byte(doc))
		require.NoError(t, err)
		assert.Equal(t, normalize(want), normalize(got))
	}
	got, err := decodeRouteTables([]byte(describeEdgeCases))
	require.NoError(t, err)
	require.Len(t, got.Tables, 2)
	tb := got.Tables[0]
	assert.Equal(t, "rtb-<&>\"'é", tb.ID, "entities and character references")
	assert.Equal(t, "vpc-cdata", tb.VPCID)
	require.Len(t, tb.Routes, 2, "the prefix-list route is not an IP route")
	assert.Equal(t, netip.MustParsePrefix("10.0.0.0/16"), tb.Routes[0].Destination)
	assert.Equal(t, "local", tb.Routes[0].Gateway, "prefixed names match by local name")
	assert.True(t, tb.Routes[1].Blackhole)
	assert.Equal(t, "nat-1", tb.Routes[1].Gateway, "the first target present names the gateway")
	assert.True(t, tb.Main)
	assert.Empty(t, tb.Subnets, "a subnetId below the association's own level is not its")
	assert.Equal(t, "page2", got.NextToken)
}

const describeEdgeCases = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root -->
<ec2:DescribeRouteTablesResponse xmlns:ec2="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId attr='a>b' other="x/y">r-1</requestId>
  <routeTableSet>
    <item>
      <routeTableId>rtb-&lt;&amp;&gt;&quot;&apos;&#xe9;</routeTableId>
      <vpcId><![CDATA[vpc-]]>cda<!-- split -->ta</vpcId>
      <routeSet>
        <item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><ec2:gatewayId>local</ec2:gatewayId><state>active</state></item>
        <item><destinationCidrBlock>198.51.100.0/24</destinationCidrBlock><state>blackhole</state><tagSet><item><key>state</key></item></tagSet><carrierGatewayId>cagw-1</carrierGatewayId><natGatewayId>nat-1</natGatewayId></item>
        <item><destinationPrefixListId>pl-1</destinationPrefixListId><gatewayId>vpce-1</gatewayId></item>
      </routeSet>
      <associationSet>
        <item><main> true </main><associationState><state>associated</state></associationState></item>
        <item><main/><nested><subnetId>subnet-deep</subnetId></nested></item>
      </associationSet>
    </item>
    <item><routeTableId>rtb-2</routeTableId><routeSet/></item>
  </routeTableSet>
  <nextToken>page2</nextToken>
</ec2:DescribeRouteTablesResponse>
`

// Whatever is not well-formed XML is an error, never a shorter answer.
func TestDecodeRouteTablesRejectsWhatIsNotXML(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":               "",
		"blank":               " \n",
		"truncated":           describeOK[:len(describeOK)/2],
		"truncated in a tag":  describeOK[:strings.Index(describeOK, "<routeSet>")+5],
		"html":                "<!doctype html><html><head><meta charset=utf-8></head><body>Bad Gateway</body></html>",
		"json":                `{"RouteTables":[]}`,
		"crossed tags":        "<a><b></a></b>",
		"two roots":           "<a/><b/>",
		"text after the root": "<a/>trailing",
		"unknown entity":      "<a>&nbsp;</a>",
		"bad reference":       "<a>&#xZZ;</a>",
		"unterminated entity": "<a>&amp</a>",
		"open comment":        "<a><!-- </a>",
		"lt in a tag":         "<a <b>></a>",
		"bad name":            "<1a></1a>",
		"blank main":          "<r><routeTableSet><item><associationSet><item><main> </main></item></associationSet></item></routeTableSet></r>",
		"not a boolean":       "<r><routeTableSet><item><associationSet><item><main>yes</main></item></associationSet></item></routeTableSet></r>",
	} {
		_, err := decodeRouteTables([]byte(doc))
		assert.Error(t, err, name)
	}
}

// FuzzDecodeRouteTables holds decodeRouteTables to encoding/xml: where both
// read a document, they read the same tables; and it never panics.
func FuzzDecodeRouteTables(f *testing.F) {
	for _, seed := range []string{describeOK, describeEdgeCases, "<a><b>c</b></a>",
		"<r><routeTableSet><item><routeTableId>x<y/>z</routeTableId></item></routeTableSet></r>"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeRouteTables(data)
		if err != nil {
			return
		}
		want, err := oracle(data)
		if err != nil {
			return
		}
		if !reflect.DeepEqual(normalize(want), normalize(got)) {
			t.Fatalf("decodeRouteTables:\n%+v\nencoding/xml:\n%+v", got, want)
		}
	})
}

// normalize makes empty and nil slices equal.
func normalize(r routeTablesAnswer) routeTablesAnswer {
	if len(r.Tables) == 0 {
		r.Tables = nil
	}
	for i := range r.Tables {
		t := &r.Tables[i]
		if len(t.Routes) == 0 {
			t.Routes = nil
		}
		if len(t.Subnets) == 0 {
			t.Subnets = nil
		}
	}
	return r
}

// answerOf renders a DescribeRouteTables answer for n tables shaped like
// EC2's: a local route, a default route, the VIP's route, an association.
func answerOf(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><routeTableSet>`)
	for i := range n {
		fmt.Fprintf(&b, `<item><routeTableId>rtb-%017x</routeTableId><vpcId>vpc-0a1b2c3d4e5f60718</vpcId><ownerId>123456789012</ownerId><routeSet>`+
			`<item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock><gatewayId>local</gatewayId><state>active</state><origin>CreateRouteTable</origin></item>`+
			`<item><destinationCidrBlock>0.0.0.0/0</destinationCidrBlock><natGatewayId>nat-0123456789abcdef0</natGatewayId><state>active</state><origin>CreateRoute</origin></item>`+
			`<item><destinationCidrBlock>192.0.2.10/32</destinationCidrBlock><instanceId>i-0bbbbbbbbbbbbbbb2</instanceId><instanceOwnerId>123456789012</instanceOwnerId><networkInterfaceId>eni-0bbbbbbbbbbbbbbb2</networkInterfaceId><state>active</state><origin>CreateRoute</origin></item>`+
			`</routeSet><associationSet><item><routeTableAssociationId>rtbassoc-%017x</routeTableAssociationId><routeTableId>rtb-%017x</routeTableId><subnetId>subnet-0aaaaaaaaaaaaaaa1</subnetId><main>false</main><associationState><state>associated</state></associationState></item></associationSet>`+
			`<propagatingVgwSet/><tagSet><item><key>Name</key><value>table %d</value></item></tagSet></item>`, i+1, i+1, i+1, i)
	}
	b.WriteString(`</routeTableSet></DescribeRouteTablesResponse>`)
	return []byte(b.String())
}

// BenchmarkDecodeRouteTables50 compares the two readers on a 50-table
// answer (go test -bench DecodeRouteTables ./internal/awsec2).
func BenchmarkDecodeRouteTables50(b *testing.B) {
	data := answerOf(50)
	b.Run("walkXML", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := decodeRouteTables(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/xml+convert", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := oracle(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The oracle of FuzzDecodeRouteTables: encoding/xml's reading of the same
// answer, converted to the agent's tables the straightforward way.

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

func convertTable(t xmlRouteTable) agent.Table {
	at := agent.Table{ID: t.ID, VPCID: t.VPCID}
	for _, a := range t.Associations {
		if a.Main {
			at.Main = true
		}
		if a.SubnetID != "" {
			at.Subnets = append(at.Subnets, a.SubnetID)
		}
	}
	for _, rt := range t.Routes {
		dst, ok := destination(rt)
		if !ok {
			continue // prefix lists and the like: not an IP route
		}
		ar := agent.Route{
			Destination: dst,
			InstanceID:  rt.InstanceID,
			ENI:         rt.ENI,
			Blackhole:   rt.State == "blackhole",
		}
		for _, g := range []string{rt.GatewayID, rt.NatGatewayID, rt.TransitGatewayID,
			rt.VPCPeeringConnectionID, rt.EgressOnlyInternetGatewayID, rt.LocalGatewayID,
			rt.CarrierGatewayID, rt.CoreNetworkARN} {
			if g != "" {
				ar.Gateway = g
				break
			}
		}
		at.Routes = append(at.Routes, ar)
	}
	return at
}

func destination(rt xmlRoute) (netip.Prefix, bool) {
	s := rt.DestinationCIDR
	if s == "" {
		s = rt.DestinationIPv6CIDR
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}
