package lastread

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/suzlab/routeha/agent"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, "vip")
	_, ok, err := s.Last(context.Background())
	require.NoError(t, err)
	assert.False(t, ok, "no file is no observation")

	o := agent.Observation{Time: time.Now().Round(0).UTC(), Here: agent.CoverSome, Tables: []string{"rtb-1", "rtb-2"},
		Dest: "192.0.2.10/32", Instance: "i-0aaa", Elsewhere: "rtb-2: i-0bbb"}
	require.NoError(t, s.Record(context.Background(), o))
	got, ok, err := s.Last(context.Background())
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, o.Time.Equal(got.Time))
	got.Time = o.Time
	assert.Equal(t, o, got)

	fi, err := os.Lstat(Path(dir, "vip"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	assert.Equal(t, filepath.Join(dir, "routeha-vip.observation"), Path(dir, "vip"))
	assert.Equal(t, filepath.Join(dir, "routeha-a_b.observation"), Path(dir, "a/b"))
}

// A file this agent did not write is not believed.
func TestUntrustedIgnored(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, "vip")
	require.NoError(t, s.Record(context.Background(), agent.Observation{Time: time.Now(), Here: agent.CoverAll}))
	require.NoError(t, os.Chmod(Path(dir, "vip"), 0o666))
	_, ok, err := s.Last(context.Background())
	assert.False(t, ok)
	assert.ErrorContains(t, err, "0600")

	for name, body := range map[string]string{
		"garbage":      "{not json",
		"old version":  `{"version":0,"observation":{"time":"2026-01-01T00:00:00Z","here":"all"}}`,
		"bad coverage": `{"version":1,"observation":{"time":"2026-01-01T00:00:00Z","here":"most"}}`,
		"time missing": `{"version":1,"observation":{"here":"all"}}`,
	} {
		require.NoError(t, os.Remove(Path(dir, "vip")))
		require.NoError(t, os.WriteFile(Path(dir, "vip"), []byte(body), 0o600))
		_, ok, err := s.Last(context.Background())
		assert.False(t, ok, name)
		assert.Error(t, err, name)
	}
}

func TestNoRscTmpKeepsNothing(t *testing.T) {
	s := New("", "vip")
	require.NoError(t, s.Record(context.Background(), agent.Observation{Time: time.Now(), Here: agent.CoverAll}))
	_, ok, err := s.Last(context.Background())
	assert.False(t, ok)
	assert.NoError(t, err)
}
