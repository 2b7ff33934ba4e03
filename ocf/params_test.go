package ocf_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/suzlab/routeha/ocf"
)

// A value shown in a reason is bounded by its quoted width: quotes,
// backslashes and replaced bytes take two or more bytes each in %q.
func TestPrintableBoundsTheQuotedWidth(t *testing.T) {
	for _, v := range []string{strings.Repeat(`"`, 200), strings.Repeat(`\`, 200), strings.Repeat("\xff", 200),
		strings.Repeat("é", 200), strings.Repeat("a", 200), strings.Repeat("\u2028", 200)} {
		q := fmt.Sprintf("%q", ocf.Printable(v))
		if len(q) > 80+2+3 {
			t.Errorf("%q of a %d-byte value is %d bytes", ocf.Printable(v), len(v), len(q))
		}
	}
	if got := ocf.Printable("rtb-1234"); got != "rtb-1234" {
		t.Errorf("a short value is changed: %q", got)
	}
}
