package flowlog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Log is a Neutron network log (the logging API's "log" resource).
type Log struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	ProjectID   string `json:"project_id,omitempty"`
	// ResourceType is firewall_group or security_group.
	ResourceType string `json:"resource_type"`
	// ResourceID is the logged firewall group or security group; unset
	// logs every group of the resource type on TargetID, or of the project.
	ResourceID string `json:"resource_id,omitempty"`
	// TargetID limits the log to one port.
	TargetID string `json:"target_id,omitempty"`
	// Event is ACCEPT, DROP or ALL; "" means ALL.
	Event string `json:"event,omitempty"`
	// Enabled defaults to true when nil.
	Enabled *bool `json:"enabled,omitempty"`
}

// Resource types and events as Neutron spells them.
const (
	ResourceFirewallGroup = "firewall_group"
	ResourceSecurityGroup = "security_group"

	EventAccept = "ACCEPT"
	EventDrop   = "DROP"
	EventAll    = "ALL"
)

// IsEnabled reports enabled with Neutron's default (true).
func (l *Log) IsEnabled() bool { return l.Enabled == nil || *l.Enabled }

// EventOrAll is the upper-cased event with Neutron's default (ALL).
func (l *Log) EventOrAll() string {
	if l.Event == "" {
		return EventAll
	}
	return strings.ToUpper(l.Event)
}

// Covers reports whether the log records accepted (accept) or dropped
// flows.
func (l *Log) Covers(accept bool) bool {
	e := l.EventOrAll()
	return e == EventAll || (accept && e == EventAccept) || (!accept && e == EventDrop)
}

// Validate checks the log alone: an ID, a resource type Neutron knows (snat
// exists only with OVN and is refused as unsupported) and an event.
func (l *Log) Validate() error {
	var errs []error
	if l.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	switch l.ResourceType {
	case ResourceFirewallGroup, ResourceSecurityGroup:
	case "snat":
		errs = append(errs, fmt.Errorf("resource_type: snat logging exists only with OVN: %w", errors.ErrUnsupported))
	default:
		errs = append(errs, errdefs.Invalid("resource_type", "%q is not firewall_group or security_group", l.ResourceType))
	}
	switch l.EventOrAll() {
	case EventAccept, EventDrop, EventAll:
	default:
		errs = append(errs, errdefs.Invalid("event", "%q is not ACCEPT, DROP or ALL", l.Event))
	}
	return errors.Join(errs...)
}
