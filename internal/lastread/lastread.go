// Package lastread keeps a resource's last observation of its route tables
// (agent.Observations) in HA_RSCTMP, so that a probe can answer from it
// while the EC2 API cannot be read. The file is written atomically with
// mode 0600 and believed only when it is a regular 0600 file of this user
// (internal/rsctmp); HA_RSCTMP lives until the node reboots.
package lastread

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/rsctmp"
)

// version changes whenever the file's fields change meaning.
const version = 1

// maxSize bounds what is read back: an observation is a few hundred bytes.
const maxSize = 1 << 16

type file struct {
	Version     int               `json:"version"`
	Observation agent.Observation `json:"observation"`
}

// Store is one resource's observation file.
type Store struct{ path string }

var _ agent.Observations = (*Store)(nil)

// New returns the store of resource in rscTmp; with rscTmp empty, a store
// that keeps nothing.
func New(rscTmp, resource string) *Store {
	if rscTmp == "" {
		return &Store{}
	}
	return &Store{path: Path(rscTmp, resource)}
}

// Path is where a resource's last observation is kept.
func Path(rscTmp, resource string) string {
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, resource)
	return filepath.Join(rscTmp, "routeha-"+safe+".observation")
}

// Last reads the observation. A missing file is no observation and no
// error; a file that is not this agent's own, or does not parse, is no
// observation with an error saying why.
func (s *Store) Last(context.Context) (agent.Observation, bool, error) {
	if s.path == "" {
		return agent.Observation{}, false, nil
	}
	b, err := rsctmp.ReadPrivate(s.path, maxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return agent.Observation{}, false, nil
	}
	if err != nil {
		return agent.Observation{}, false, fmt.Errorf("observation: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return agent.Observation{}, false, fmt.Errorf("observation %s: %w", s.path, err)
	}
	if f.Version != version || f.Observation.Time.IsZero() {
		return agent.Observation{}, false, fmt.Errorf("observation %s: version %d, not %d", s.path, f.Version, version)
	}
	switch f.Observation.Here {
	case agent.CoverAll, agent.CoverNone, agent.CoverSome:
	default:
		return agent.Observation{}, false, fmt.Errorf("observation %s: unknown coverage %q", s.path, f.Observation.Here)
	}
	return f.Observation, true, nil
}

// Record replaces the observation, atomically.
func (s *Store) Record(_ context.Context, o agent.Observation) error {
	if s.path == "" {
		return nil
	}
	b, err := json.Marshal(file{Version: version, Observation: o})
	if err != nil {
		return err
	}
	if err := rsctmp.WritePrivate(s.path, b); err != nil {
		return fmt.Errorf("observation: %w", err)
	}
	return nil
}
