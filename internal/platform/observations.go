package platform

import (
	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/lastread"
)

// Observations returns the resource's last observation of its route
// tables, kept in HA_RSCTMP.
func (p *Platform) Observations(cfg *agent.Config) agent.Observations {
	return lastread.New(cfg.RscTmp, cfg.Resource)
}
