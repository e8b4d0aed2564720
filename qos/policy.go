package qos

import (
	"errors"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Directions of a bandwidth limit or minimum bandwidth rule, as seen from
// the instance.
const (
	Egress  = "egress"  // from the instance (Neutron's default)
	Ingress = "ingress" // toward the instance
)

// Policy is a Neutron QoS policy.
type Policy struct {
	ID                    string                 `json:"id"`
	Name                  string                 `json:"name,omitempty"`
	ProjectID             string                 `json:"project_id,omitempty"`
	BandwidthLimitRules   []BandwidthLimitRule   `json:"bandwidth_limit_rules,omitempty"`
	DSCPMarkingRules      []DSCPMarkingRule      `json:"dscp_marking_rules,omitempty"`
	MinimumBandwidthRules []MinimumBandwidthRule `json:"minimum_bandwidth_rules,omitempty"`
	Shared                bool                   `json:"shared,omitempty"`
	IsDefault             bool                   `json:"is_default,omitempty"`
	Description           string                 `json:"description,omitempty"`
}

// BandwidthLimitRule caps a port's rate in one direction. MaxKbps and
// MaxBurstKbps are kilobits (1,000 bits) per second and kilobits.
type BandwidthLimitRule struct {
	ID           string `json:"id,omitempty"`
	Direction    string `json:"direction,omitempty"` // "" is egress
	MaxKbps      int    `json:"max_kbps"`
	MaxBurstKbps int    `json:"max_burst_kbps,omitempty"`
}

// DSCPMarkingRule marks the instance's packets with a DSCP value.
type DSCPMarkingRule struct {
	ID       string `json:"id,omitempty"`
	DSCPMark int    `json:"dscp_mark"`
}

// MinimumBandwidthRule is a guarantee Neutron's Linux bridge agent does not
// enforce; neither does Neutrino (it is reported).
type MinimumBandwidthRule struct {
	ID        string `json:"id,omitempty"`
	Direction string `json:"direction,omitempty"`
	MinKbps   int    `json:"min_kbps"`
}

// Dir is the rule's direction with Neutron's default.
func (r BandwidthLimitRule) Dir() string {
	if r.Direction == "" {
		return Egress
	}
	return r.Direction
}

// validDSCP are the DSCP marks Neutron accepts (VALID_DSCP_MARKS).
var validDSCP = map[int]bool{0: true, 8: true, 10: true, 12: true, 14: true, 16: true, 18: true, 20: true, 22: true,
	24: true, 26: true, 28: true, 30: true, 32: true, 34: true, 36: true, 38: true, 40: true, 46: true, 48: true, 56: true}

// Validate checks the policy on its own, with paths relative to it: one
// bandwidth limit per direction, a burst only with a maximum, one DSCP mark.
func (p *Policy) Validate() error {
	var errs []error
	if p.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	dirs := map[string]int{}
	for i, r := range p.BandwidthLimitRules {
		path := errdefs.Index("bandwidth_limit_rules", i)
		switch {
		case r.Direction != "" && r.Direction != Egress && r.Direction != Ingress:
			errs = append(errs, errdefs.Invalid(path+".direction", "%q: egress or ingress", r.Direction))
			continue
		case r.MaxKbps < 0:
			errs = append(errs, errdefs.Invalid(path+".max_kbps", "%d is negative", r.MaxKbps))
		case r.MaxKbps == 0 && r.MaxBurstKbps != 0:
			errs = append(errs, errdefs.Invalid(path+".max_burst_kbps", "%d given without max_kbps: a burst needs a maximum rate", r.MaxBurstKbps))
		case r.MaxKbps == 0:
			errs = append(errs, errdefs.Invalid(path+".max_kbps", "required"))
		case r.MaxBurstKbps < 0:
			errs = append(errs, errdefs.Invalid(path+".max_burst_kbps", "%d is negative", r.MaxBurstKbps))
		case r.MaxKbps > 1<<31/1000*8:
			errs = append(errs, errdefs.Invalid(path+".max_kbps", "%d is above %d", r.MaxKbps, 1<<31/1000*8))
		}
		if j, dup := dirs[r.Dir()]; dup {
			errs = append(errs, errdefs.Conflict(path+".direction", "%s repeats bandwidth_limit_rules[%d]'s direction", r.Dir(), j))
		}
		dirs[r.Dir()] = i
	}
	for i, r := range p.DSCPMarkingRules {
		path := errdefs.Index("dscp_marking_rules", i)
		if !validDSCP[r.DSCPMark] {
			errs = append(errs, errdefs.Invalid(path+".dscp_mark", "%d is not a valid DSCP mark (0, 8-40 even, 46, 48, 56)", r.DSCPMark))
		}
		if i > 0 {
			errs = append(errs, errdefs.Conflict(path, "a policy has one DSCP marking rule"))
		}
	}
	for i, r := range p.MinimumBandwidthRules {
		path := errdefs.Index("minimum_bandwidth_rules", i)
		if r.Direction != "" && r.Direction != Egress && r.Direction != Ingress {
			errs = append(errs, errdefs.Invalid(path+".direction", "%q: egress or ingress", r.Direction))
		}
		if r.MinKbps <= 0 {
			errs = append(errs, errdefs.Invalid(path+".min_kbps", "%d: a positive rate is required", r.MinKbps))
		}
	}
	return errors.Join(errs...)
}

// bytesPerSecond converts kilobits per second.
func bytesPerSecond(kbps int) uint64 { return uint64(kbps) * 1000 / 8 }

// burstBytes is the burst of a limit in bytes: max_burst_kbps, or 80 % of
// max_kbps when it is 0 (the Linux bridge agent's default, which lets TCP
// reach the rate), and never below one full-size frame.
func (r BandwidthLimitRule) burstBytes() uint32 {
	kb := r.MaxBurstKbps
	if kb == 0 {
		kb = r.MaxKbps * 8 / 10
	}
	b := uint64(kb) * 1000 / 8
	if b < 1600 {
		b = 1600
	}
	return uint32(b)
}

func (r BandwidthLimitRule) String() string {
	return fmt.Sprintf("%s %d kbps burst %d bytes", r.Dir(), r.MaxKbps, r.burstBytes())
}
