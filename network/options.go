package network

import (
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/option"
)

// VXLANPort is the IANA VXLAN port, used unless WithVXLANPort says otherwise.
// (The kernel's own default, 8472, predates the IANA assignment.)
const VXLANPort = 4789

// Option configures a Realizer. A bad value makes NewRealizer fail.
type Option func(*config) error

type config struct {
	log          *slog.Logger
	mappings     map[string]string
	vxlanPort    int
	arpResponder bool
}

func defaultConfig() config {
	return config{
		log:          option.Discard(),
		vxlanPort:    VXLANPort,
		arpResponder: true,
	}
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithPhysicalInterfaceMappings maps physical network names
// (provider:physical_network) to the host interfaces that carry them, as
// Neutron's physical_interface_mappings does. Flat networks enslave the
// interface itself, VLAN networks a sub-interface of it. The interfaces
// belong to the host: the realizer enslaves, releases and sets them up, and
// never creates, deletes or reconfigures them otherwise.
func WithPhysicalInterfaceMappings(m map[string]string) Option {
	return func(c *config) error {
		var errs []error
		for _, physnet := range slices.Sorted(maps.Keys(m)) {
			if iface := m[physnet]; !naming.ValidIfName(iface) {
				errs = append(errs, errdefs.Invalid("physical_interface_mappings."+physnet, "%q is not an interface name", iface))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		c.mappings = maps.Clone(m)
		return nil
	}
}

// WithVXLANPort sets the UDP destination port of VXLAN devices (default
// 4789). All nodes of a deployment must agree on it.
func WithVXLANPort(port int) Option {
	return func(c *config) error {
		if port < 1 || port > 65535 {
			return errdefs.Invalid("vxlan_port", "%d is not a UDP port", port)
		}
		c.vxlanPort = port
		return nil
	}
}

// WithARPResponder turns the local ARP/ND responder of VXLAN networks on or
// off (default on). On, each VXLAN device answers ARP requests and IPv6
// neighbour solicitations for remote ports from its neighbour table (the
// "proxy" flag, with an entry per remote fixed IP), so they never cross the
// overlay; requests for addresses that are not fixed IPs of known ports
// (allowed address pairs, for instance) then go unanswered, as with Neutron's
// arp_responder. Off, they are flooded to the remote nodes.
func WithARPResponder(on bool) Option {
	return func(c *config) error { c.arpResponder = on; return nil }
}

// ParseInterfaceMappings parses Neutron's physical_interface_mappings syntax,
// "physnet1:eth1,physnet2:eth2", for WithPhysicalInterfaceMappings.
func ParseInterfaceMappings(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		physnet, iface, ok := strings.Cut(item, ":")
		physnet, iface = strings.TrimSpace(physnet), strings.TrimSpace(iface)
		switch {
		case !ok || physnet == "" || iface == "":
			return nil, errdefs.Invalid("physical_interface_mappings", "%q is not physnet:interface", item)
		case out[physnet] != "":
			return nil, errdefs.Conflict("physical_interface_mappings", "physical network %s is mapped twice", physnet)
		}
		out[physnet] = iface
	}
	return out, nil
}
