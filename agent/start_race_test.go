package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/ocf"
)

// The start of a failover reads the old owner for longer than any constant
// settle time: the old owner is not a rival, so the new node (with the
// higher id here) waits within its deadline and succeeds, writing once.
func TestStartOldOwnerInStaleReadsIsNoRival(t *testing.T) {
	for _, alt := range []bool{false, true} {
		t.Run(fmt.Sprintf("alternating=%v", alt), func(t *testing.T) {
			routes := newFakeRoutes(table(rtb1, &nodeA), table(rtb2, &nodeA))
			routes.stale, routes.altStale = 8, alt
			w := newWorld(t, nodeB, routes) // B > A: A would win a rivalry
			w.params["routing_table"] = rtb1 + "," + rtb2
			r := w.run("start", map[string]string{"OCF_RESKEY_CRM_meta_timeout": "20000"})
			requireCode(t, ocf.Success, r)
			assert.Len(t, routes.realWrites(), 2, "one write per table; stale reads are not a reason to write again")
			for _, id := range []string{rtb1, rtb2} {
				assert.Equal(t, nodeB.InstanceID, routeFor(*routes.tables[id], vipDst).InstanceID)
			}
		})
	}
}

// The old owner comes back after this node's write was read back, and
// stays: that is a rival (here with the lower id), confirmed by several
// reads, and this node gives up naming it.
func TestStartOldOwnerComingBackIsARival(t *testing.T) {
	routes := newFakeRoutes(table(rtb1, &nodeA))
	seen := false
	routes.onRead = func(f *fakeRoutes, _ int) {
		r := routeFor(*f.tables[rtb1], vipDst)
		if r.InstanceID == nodeB.InstanceID {
			if seen {
				r.InstanceID, r.ENI = nodeA.InstanceID, nodeA.PrimaryENI
			}
			seen = true
		}
	}
	w := newWorld(t, nodeB, routes)
	r := w.run("start", map[string]string{"OCF_RESKEY_CRM_meta_timeout": "20000"})
	requireCode(t, ocf.ErrGeneric, r)
	assert.Contains(t, r.reason, nodeA.InstanceID)
	assert.Contains(t, r.stderr, "again, in ")
}

// A start that found every table its own still reads once more after a
// rival's plausible write window. A rival with the higher id that writes
// then is overwritten; one with the lower id wins, and this node hands
// over and fails, naming it.
func TestStartStaysHere(t *testing.T) {
	for _, c := range []struct {
		self, rival Self
		code        ocf.ExitCode
	}{{nodeA, nodeB, ocf.Success}, {nodeB, nodeA, ocf.ErrGeneric}} {
		t.Run(c.self.InstanceID, func(t *testing.T) {
			routes := newFakeRoutes(table(rtb1, &c.self), table(rtb2, &c.self))
			rivalWrote := false
			routes.onRead = func(f *fakeRoutes, n int) {
				if n == 3 && !rivalWrote { // after the first read back showed this node
					rivalWrote = true
					for _, id := range []string{rtb1, rtb2} {
						r := routeFor(*f.tables[id], vipDst)
						r.InstanceID, r.ENI = c.rival.InstanceID, c.rival.PrimaryENI
					}
				}
			}
			w := newWorld(t, c.self, routes)
			w.params["routing_table"] = rtb1 + "," + rtb2
			r := w.run("start", map[string]string{"OCF_RESKEY_CRM_meta_timeout": "20000"})
			requireCode(t, c.code, r)
			owner := c.self
			if c.code != ocf.Success {
				owner = c.rival
				assert.Contains(t, r.reason, c.rival.InstanceID)
			}
			for _, id := range []string{rtb1, rtb2} {
				assert.Equal(t, owner.InstanceID, routeFor(*routes.tables[id], vipDst).InstanceID, id)
			}
		})
	}
}

// An answer that lists tables nobody asked for: only routing_table is
// ever written, by start and by a handover.
func TestStartWritesOnlyConfiguredTables(t *testing.T) {
	const other = "rtb-0aaaaaaaaaaaaaaaa"
	routes := newFakeRoutes(table(rtb1, &nodeB), table(other, &nodeB))
	routes.extra = []string{other}
	w := newWorld(t, nodeA, routes)
	requireCode(t, ocf.Success, w.run("start", nil))
	for _, wr := range routes.writes {
		assert.Equal(t, rtb1, wr.Table)
	}
	assert.Equal(t, nodeB.InstanceID, routeFor(*routes.tables[other], vipDst).InstanceID)

	// A handover to a lower id (B yields to A) is limited the same way.
	routes = newFakeRoutes(table(rtb1, nil), table(other, &nodeB))
	routes.extra = []string{other}
	routes.onRead = func(f *fakeRoutes, n int) {
		if r := routeFor(*f.tables[rtb1], vipDst); r != nil && r.InstanceID == nodeB.InstanceID {
			r.InstanceID, r.ENI = nodeA.InstanceID, nodeA.PrimaryENI
		}
	}
	w = newWorld(t, nodeB, routes)
	requireCode(t, ocf.ErrGeneric, w.run("start", nil))
	for _, wr := range routes.writes {
		assert.Equal(t, rtb1, wr.Table)
	}
	assert.Equal(t, nodeB.InstanceID, routeFor(*routes.tables[other], vipDst).InstanceID, "the unconfigured table was handed over")
}

// 60 tables: at most maxWritesInFlight writes at once; writes that were
// performed but never answered are read back, not sent again.
func TestStartBoundsWritesAndReadsBackTimeouts(t *testing.T) {
	var tables []Table
	var ids []string
	for i := 0; i < 60; i++ {
		id := fmt.Sprintf("rtb-%017x", i+1)
		ids = append(ids, id)
		tables = append(tables, table(id, &nodeB))
	}
	routes := newFakeRoutes(tables...)
	unanswered := map[string]bool{ids[0]: true, ids[1]: true, ids[2]: true}
	routes.answer = func(ctx context.Context, w Write) error {
		routes.mu.Lock()
		hold := unanswered[w.Table]
		delete(unanswered, w.Table)
		routes.mu.Unlock()
		if hold {
			<-ctx.Done()
			return &APIError{Kind: KindTransient, Op: "ReplaceRoute", Err: ctx.Err()}
		}
		time.Sleep(2 * time.Millisecond)
		return nil
	}
	w := newWorld(t, nodeA, routes)
	w.params["routing_table"] = joinIDs(ids)
	r := w.run("start", map[string]string{"OCF_RESKEY_CRM_meta_timeout": "6000"})
	requireCode(t, ocf.Success, r)
	assert.LessOrEqual(t, routes.maxInFlight, maxWritesInFlight)
	assert.Greater(t, routes.maxInFlight, 1, "writes still run concurrently")
	require.Len(t, routes.realWrites(), 60, "each table written once")
	assert.Contains(t, r.stderr, "got no answer in time")
}

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += id
	}
	return s
}
