package agent

import (
	"context"
	"slices"
	"time"

	"github.com/suzlab/routeha/ocf"
)

// coverage says how many tables route the VIP here.
func coverage(states []tableState) Coverage {
	switch countHere(states) {
	case len(states):
		return CoverAll
	case 0:
		return CoverNone
	}
	return CoverSome
}

// recordingRoutes is the Routes of one action that records every
// successful read of the configured tables as this node's observation.
type recordingRoutes struct {
	Routes
	cfg   *Config
	self  Self
	store Observations
	log   *ocf.Logger
}

// recording wraps routes so that reads of the tables are remembered.
func (a *Agent) recording(routes Routes, log *ocf.Logger, cfg *Config, self Self) Routes {
	store := a.adapters.Observations(cfg)
	if store == nil {
		return routes
	}
	return &recordingRoutes{Routes: routes, cfg: cfg, self: self, store: store, log: log}
}

func (r *recordingRoutes) Tables(ctx context.Context, ids []string) ([]Table, error) {
	tables, err := r.Routes.Tables(ctx, ids)
	if err != nil || !slices.Equal(ids, r.cfg.Tables) || checkTablesPresent(r.cfg, r.self, tables) != nil {
		return tables, err
	}
	states := evaluate(r.cfg.Destination, r.self, tables)
	o := Observation{Time: time.Now(), Here: coverage(states), Tables: slices.Clone(r.cfg.Tables),
		Dest: r.cfg.Destination.String(), Instance: r.self.InstanceID}
	for _, s := range states {
		if !s.Here {
			o.Elsewhere = s.Table + ": " + describeRoute(s.Route)
			break
		}
	}
	if rerr := r.store.Record(ctx, o); rerr != nil {
		r.log.Warnf("cannot keep this read of the route tables for a later probe: %v", rerr)
	}
	return tables, nil
}

// lastObservation is this node's last observation of the configured
// tables, if there is one that fits the configuration (self may be
// unknown: zero).
func (a *Agent) lastObservation(ctx context.Context, log *ocf.Logger, cfg *Config, self Self) (Observation, bool) {
	store := a.adapters.Observations(cfg)
	if store == nil {
		return Observation{}, false
	}
	o, ok, err := store.Last(ctx)
	if err != nil {
		log.Warnf("ignoring the kept observation of the route tables: %v", err)
	}
	if !ok {
		return Observation{}, false
	}
	switch {
	case !slices.Equal(o.Tables, cfg.Tables) || o.Dest != cfg.Destination.String():
		log.Infof("ignoring the kept observation of the route tables: it was of %v for %s, not of this configuration", o.Tables, o.Dest)
		return Observation{}, false
	case self.InstanceID != "" && o.Instance != self.InstanceID:
		log.Warnf("ignoring the kept observation of the route tables: it was made by %s, not by this instance", o.Instance)
		return Observation{}, false
	}
	return o, true
}

// age is how old an observation is, in whole seconds (0 if the clock
// went back since).
func age(o Observation) time.Duration {
	d := time.Since(o.Time).Round(time.Second)
	if d < 0 {
		return 0
	}
	return d
}
