package network

import (
	"log/slog"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// VXLANPort is the IANA VXLAN port, used unless WithVXLANPort says otherwise.
// (The kernel's own default, 8472, predates the IANA assignment.)
const VXLANPort = 4789

// Option configures a Realizer.
type Option func(*config)

type config struct {
	log          *slog.Logger
	mappings     map[string]string
	vxlanPort    int
	arpResponder bool
}

func defaultConfig() config {
	return config{
		log:          slog.New(slog.DiscardHandler),
		vxlanPort:    VXLANPort,
		arpResponder: true,
	}
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithPhysicalInterfaceMappings maps physical network names
// (provider:physical_network) to the host interfaces that carry them, as
// Neutron's physical_interface_mappings does. Flat networks enslave the
// interface itself, VLAN networks a sub-interface of it. The interfaces
// belong to the host: the realizer enslaves, releases and sets them up, and
// never creates, deletes or reconfigures them otherwise.
func WithPhysicalInterfaceMappings(m map[string]string) Option {
	return func(c *config) {
		c.mappings = make(map[string]string, len(m))
		for k, v := range m {
			c.mappings[k] = v
		}
	}
}

// WithVXLANPort sets the UDP destination port of VXLAN devices (default
// 4789). All nodes of a deployment must agree on it.
func WithVXLANPort(port int) Option { return func(c *config) { c.vxlanPort = port } }

// WithARPResponder turns the local ARP/ND responder of VXLAN networks on or
// off (default on). On, each VXLAN device answers ARP requests and IPv6
// neighbour solicitations for remote ports from its neighbour table (the
// "proxy" flag, with an entry per remote fixed IP), so they never cross the
// overlay; requests for addresses that are not fixed IPs of known ports
// (allowed address pairs, for instance) then go unanswered, as with Neutron's
// arp_responder. Off, they are flooded to the remote nodes.
func WithARPResponder(on bool) Option { return func(c *config) { c.arpResponder = on } }

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
