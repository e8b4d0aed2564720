package dhcp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/server6"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv6"

	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
)

// NewServer starts a server for cfg on cfg.Interface inside ns: the sockets
// are created inside the namespace (bound to the device, DHCPv4 on port 67,
// DHCPv6 on port 547 joined to All_DHCP_Relay_Agents_and_Servers), then
// served from goroutines that may run anywhere. The server keeps its own
// reference to the namespace; Close releases everything.
func NewServer(ns *namespace.Handle, cfg *Config, opts ...ServerOption) (*Server, error) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	s.cfg.Store(cfg)
	own, err := namespace.OpenPath(ns.Path())
	if err != nil {
		return nil, err
	}
	var iface *net.Interface
	err = own.Do(func() error {
		var err error
		if iface, err = net.InterfaceByName(cfg.Interface); err != nil {
			return fmt.Errorf("dhcp device %s: %w", cfg.Interface, nl.Err(err))
		}
		if cfg.HasV4() {
			if s.conn4, err = server4.NewIPv4UDPConn(cfg.Interface, &net.UDPAddr{Port: serverPort4}); err != nil {
				return fmt.Errorf("dhcp4 socket on %s: %w", cfg.Interface, err)
			}
		}
		if cfg.HasV6() {
			if s.conn6, err = server6.NewIPv6UDPConn(cfg.Interface, &net.UDPAddr{IP: net.IPv6unspecified, Port: dhcpv6.DefaultServerPort}); err != nil {
				return fmt.Errorf("dhcp6 socket on %s: %w", cfg.Interface, err)
			}
		}
		return nil
	})
	if err == nil && s.conn6 != nil {
		group := &net.UDPAddr{IP: dhcpv6.AllDHCPRelayAgentsAndServers}
		if jerr := ipv6.NewPacketConn(s.conn6).JoinGroup(iface, group); jerr != nil {
			err = fmt.Errorf("dhcp6 join %s on %s: %w", group.IP, cfg.Interface, jerr)
		}
	}
	if err != nil {
		for _, c := range []*net.UDPConn{s.conn4, s.conn6} {
			if c != nil {
				c.Close()
			}
		}
		return nil, errors.Join(err, own.Close())
	}
	h := own.Netlink()
	ifindex := iface.Index
	s.neigh = func(ip netip.Addr, mac net.HardwareAddr) error {
		return nl.Err(h.NeighSet(&netlink.Neigh{
			LinkIndex:    ifindex,
			Family:       netlink.FAMILY_V4,
			State:        netlink.NUD_REACHABLE,
			IP:           ip.AsSlice(),
			HardwareAddr: mac,
		}))
	}
	s.release = own.Close
	s.start()
	s.log.Debug("dhcp server started", "network", cfg.NetworkID, "device", cfg.Interface, "v4", cfg.HasV4(), "v6", cfg.HasV6(), "reservations", cfg.Reservations())
	return s, nil
}
