package awsec2

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeRouteTablesReadsWhatEncodingXMLReads(t *testing.T) {
	for _, doc := range []string{describeOK, describeEdgeCases} {
		got, err := decodeRouteTables([]byte(doc))
		require.NoError(t, err)
		var want describeRouteTablesResponse
		require.NoError(t, xml.Unmarshal([]byte(doc), &want))
		assert.Equal(t, want, got)
	}
	got, err := decodeRouteTables([]byte(describeEdgeCases))
	require.NoError(t, err)
	require.Len(t, got.RouteTables, 2)
	tb := got.RouteTables[0]
	assert.Equal(t, "rtb-<&>\"'é", tb.ID, "entities and character references")
	assert.Equal(t, "vpc-cdata", tb.VPCID)
	assert.Equal(t, "10.0.0.0/16", tb.Routes[0].DestinationCIDR)
	assert.Equal(t, "local", tb.Routes[0].GatewayID, "prefixed names match by local name")
	assert.Equal(t, "blackhole", tb.Routes[1].State)
	assert.True(t, tb.Associations[0].Main)
	assert.Empty(t, tb.Associations[1].SubnetID, "a subnetId below the association's own level is not its")
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
        <item><destinationCidrBlock>198.51.100.0/24</destinationCidrBlock><state>blackhole</state><tagSet><item><key>state</key></item></tagSet></item>
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
		var want describeRouteTablesResponse
		if xml.Unmarshal(data, &want) != nil {
			return
		}
		if !reflect.DeepEqual(normalize(want), normalize(got)) {
			t.Fatalf("decodeRouteTables:\n%+v\nencoding/xml:\n%+v", got, want)
		}
	})
}

// normalize makes empty and nil slices equal.
func normalize(r describeRouteTablesResponse) describeRouteTablesResponse {
	if len(r.RouteTables) == 0 {
		r.RouteTables = nil
	}
	for i := range r.RouteTables {
		t := &r.RouteTables[i]
		if len(t.Routes) == 0 {
			t.Routes = nil
		}
		if len(t.Associations) == 0 {
			t.Associations = nil
		}
	}
	return r
}
