package ec2emu

import (
	"encoding/json"
	"fmt"
	"time"
)

// FaultKind names an injected fault.
type FaultKind string

// Fault kinds.
const (
	// Throttle answers RequestLimitExceeded (503).
	Throttle FaultKind = "throttle"
	// InternalError answers InternalError (500).
	InternalError FaultKind = "internal-error"
	// Unavailable answers Unavailable (503).
	Unavailable FaultKind = "unavailable"
	// Latency delays the request by Delay (aborted when the client goes away),
	// then serves it normally.
	Latency FaultKind = "latency"
	// SlowAnswer performs the request, then delays its answer by Delay
	// (aborted when the client goes away: the request took effect all the
	// same, as when an answer is lost on the way).
	SlowAnswer FaultKind = "slow-answer"
	// Drop hijacks the connection and closes it without a response.
	Drop FaultKind = "drop"
	// HTMLError answers an HTML 500 page (not XML), as moto does for
	// unsupported filters.
	HTMLError FaultKind = "html-error"
	// AuthFailure answers AuthFailure (401): the credentials the request
	// was signed with are not valid (revoked, or a role's session ended).
	AuthFailure FaultKind = "auth-failure"
)

// Fault is one injected fault rule. It applies to requests of Action (every
// action when empty) for the next Count matching requests, or to all of them
// while it is set when Count is 0.
type Fault struct {
	Kind   FaultKind     `json:"kind"`
	Action string        `json:"action,omitempty"`
	Count  int           `json:"count,omitempty"`
	Delay  time.Duration `json:"delay,omitempty"`
}

// UnmarshalJSON accepts delay as a duration string ("30s") or nanoseconds.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var raw struct {
		Kind   FaultKind       `json:"kind"`
		Action string          `json:"action"`
		Count  int             `json:"count"`
		Delay  json.RawMessage `json:"delay"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	f.Kind, f.Action, f.Count, f.Delay = raw.Kind, raw.Action, raw.Count, 0
	if len(raw.Delay) > 0 {
		var s string
		if err := json.Unmarshal(raw.Delay, &s); err == nil {
			d, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			f.Delay = d
		} else {
			var n int64
			if err := json.Unmarshal(raw.Delay, &n); err != nil {
				return fmt.Errorf("delay: %w", err)
			}
			f.Delay = time.Duration(n)
		}
	}
	switch f.Kind {
	case Throttle, InternalError, Unavailable, Latency, SlowAnswer, Drop, HTMLError, AuthFailure:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	return nil
}

// AddFault adds a fault rule.
func (e *Emulator) AddFault(f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, f)
}

// Faults returns the active fault rules.
func (e *Emulator) Faults() []Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Fault(nil), e.faults...)
}

// ClearFaults removes every fault rule and turns stale reads off.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
	e.staleN, e.stale, e.staleOf = 0, 0, nil
	e.tableStale = map[string]*tableStaleness{}
	e.allTables = false
}

// SetStaleReads makes the next n DescribeRouteTables calls after any route
// write answer with the state from before the write (eventual consistency).
// 0 turns it off.
func (e *Emulator) SetStaleReads(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.staleN = n
	if n == 0 {
		e.stale, e.staleOf = 0, nil
	}
}

type effects struct {
	delay time.Duration
	after time.Duration
	drop  bool
	html  bool
	err   *apiError
}

// takeFaults consumes the fault rules matching action.
func (e *Emulator) takeFaults(action string) effects {
	e.mu.Lock()
	defer e.mu.Unlock()
	var fx effects
	kept := e.faults[:0]
	for _, f := range e.faults {
		if f.Action != "" && f.Action != action {
			kept = append(kept, f)
			continue
		}
		switch f.Kind {
		case Latency:
			fx.delay += f.Delay
		case SlowAnswer:
			fx.after += f.Delay
		case Drop:
			fx.drop = true
		case HTMLError:
			fx.html = true
		case Throttle:
			if fx.err == nil {
				fx.err = errf(503, "RequestLimitExceeded", "Request limit exceeded.")
			}
		case InternalError:
			if fx.err == nil {
				fx.err = errf(500, "InternalError", "An internal error has occurred")
			}
		case Unavailable:
			if fx.err == nil {
				fx.err = errf(503, "Unavailable", "The server is overloaded and can't handle the request")
			}
		case AuthFailure:
			if fx.err == nil {
				fx.err = errf(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
			}
		}
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				continue
			}
		}
		kept = append(kept, f)
	}
	e.faults = kept
	return fx
}
