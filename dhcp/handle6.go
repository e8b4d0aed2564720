package dhcp

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// reply6 is a decided DHCPv6 answer and its destination: the client's
// address and port, or the relay's for a relayed message.
type reply6 struct {
	msg dhcpv6.DHCPv6
	dst netip.AddrPort
}

// drop6 is why a DHCPv6 message gets no answer, with log attributes.
type drop6 struct {
	why  string
	args []any
}

func dropped6(why string, args ...any) *drop6 { return &drop6{why, args} }

// handle6 decides the answer to one DHCPv6 message received from peer;
// nil means no answer. Relayed messages are unwrapped, answered for the
// client inside, and wrapped back for the relay.
func (c *Config) handle6(msg dhcpv6.DHCPv6, peer netip.AddrPort, log *slog.Logger) *reply6 {
	dbg := log.Enabled(context.Background(), slog.LevelDebug)
	resp, outer, d := c.decide6(msg, peer, log, dbg)
	var out dhcpv6.DHCPv6 = resp
	if d == nil && outer != nil {
		var err error
		if out, err = dhcpv6.NewRelayReplFromRelayForw(outer, resp); err != nil {
			d = dropped6("cannot wrap the reply for the relay", "err", err)
		}
	}
	if d != nil {
		if dbg {
			log.Debug("dhcp6 drop: "+d.why, append([]any{"network", c.NetworkID, "peer", peer}, d.args...)...)
		}
		return nil
	}
	return &reply6{msg: out, dst: peer}
}

// decide6 finds the client of msg and its reservation and builds the
// reply, unwrapped; outer is the outermost relay message, nil if msg came
// straight from the client.
func (c *Config) decide6(msg dhcpv6.DHCPv6, peer netip.AddrPort, log *slog.Logger, dbg bool) (*dhcpv6.Message, *dhcpv6.RelayMessage, *drop6) {
	t := c.v6
	if t == nil {
		return nil, nil, dropped6("no DHCPv6 subnet on this network")
	}
	outer, inner, req, d := unwrap6(msg)
	if d != nil {
		return nil, nil, d
	}
	mac, how := clientMAC6(req, inner, peer)
	k, ok := keyOf(mac)
	if !ok {
		return nil, nil, dropped6("cannot tell the client's MAC (no DUID-LL/LLT, no client link-layer address, no EUI-64 link-local source)", "type", req.Type())
	}
	h := t.hosts[k]
	if h == nil {
		return nil, nil, dropped6("unknown client", "mac", net.HardwareAddr(mac).String(), "by", how)
	}
	if sid := req.Options.ServerID(); sid != nil && !sid.Equal(t.serverID) {
		return nil, nil, dropped6("message for another server", "type", req.Type())
	}
	resp, d := c.reply6(t, h, req, h.onLinkOf(inner), mac, log, dbg)
	return resp, outer, d
}

// unwrap6 returns the client message inside msg and the outermost and
// innermost relay messages around it (nil when msg came straight from the
// client).
func unwrap6(msg dhcpv6.DHCPv6) (outer, inner *dhcpv6.RelayMessage, req *dhcpv6.Message, d *drop6) {
	switch m := msg.(type) {
	case *dhcpv6.Message:
		return nil, nil, m, nil
	case *dhcpv6.RelayMessage:
		if m.Type() != dhcpv6.MessageTypeRelayForward {
			return nil, nil, nil, dropped6("relay message is not a RELAY-FORW", "type", m.Type())
		}
		outer, inner = m, m
		for range 32 { // RFC 8415 HOP_COUNT_LIMIT
			d, err := dhcpv6.DecapsulateRelay(inner)
			if err != nil {
				return nil, nil, nil, dropped6("malformed relay message", "err", err)
			}
			if r, ok := d.(*dhcpv6.RelayMessage); ok {
				inner = r
				continue
			}
			req, _ = d.(*dhcpv6.Message)
			break
		}
		if req == nil {
			return nil, nil, nil, dropped6("relay message without a client message")
		}
		return outer, inner, req, nil
	}
	return nil, nil, nil, dropped6("unexpected message")
}

// onLinkOf returns the host's addresses on the link a relay names (its
// link-address), or all of them for a message from the client's own link.
func (h *host6) onLinkOf(inner *dhcpv6.RelayMessage) []lease6 {
	if inner == nil {
		return h.addrs
	}
	link, ok := netip.AddrFromSlice(inner.LinkAddr)
	if !ok || link.IsUnspecified() {
		return h.addrs
	}
	var addrs []lease6
	for _, a := range h.addrs {
		if a.sn.prefix.Contains(link.Unmap()) {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// reply6 answers req from host h, whose addresses on the client's link are
// addrs, by message type.
func (c *Config) reply6(t *table6, h *host6, req *dhcpv6.Message, addrs []lease6, mac net.HardwareAddr, log *slog.Logger, dbg bool) (*dhcpv6.Message, *drop6) {
	resp := &dhcpv6.Message{TransactionID: req.TransactionID, MessageType: dhcpv6.MessageTypeReply}
	if cid := req.GetOneOption(dhcpv6.OptionClientID); cid != nil {
		resp.AddOption(cid)
	}
	resp.AddOption(dhcpv6.OptServerID(t.serverID))
	opts := h.plain
	if h.ipxe != nil && bytes.Contains(bytes.Join(req.Options.UserClasses(), nil), []byte("iPXE")) {
		opts = h.ipxe
	}
	addConfig := func() {
		for _, o := range opts {
			resp.AddOption(o)
		}
	}
	mt := req.Type()
	switch mt {
	case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind:
		if req.GetOneOption(dhcpv6.OptionClientID) == nil {
			return nil, dropped6("no client identifier", "type", mt)
		}
		if mt == dhcpv6.MessageTypeSolicit {
			if req.GetOneOption(dhcpv6.OptionRapidCommit) != nil {
				resp.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionRapidCommit})
			} else {
				resp.MessageType = dhcpv6.MessageTypeAdvertise
			}
		}
		lease := leaseDurations(c)
		for _, ia := range req.Options.IANA() {
			resp.AddOption(answerIANA(ia, addrs, lease))
		}
		addConfig()
		if dbg {
			log.Debug("dhcp6 "+resp.MessageType.String(), "network", c.NetworkID, "port", h.portID, "for", mt.String(), "mac", mac.String(), "addresses", len(addrs))
		}
	case dhcpv6.MessageTypeInformationRequest:
		addConfig()
		if dbg {
			log.Debug("dhcp6 reply to information-request", "network", c.NetworkID, "port", h.portID, "mac", mac.String())
		}
	case dhcpv6.MessageTypeConfirm:
		status, n := t.confirm(req)
		if n == 0 {
			return nil, dropped6("confirm without addresses")
		}
		resp.AddOption(&dhcpv6.OptStatusCode{StatusCode: status, StatusMessage: status.String()})
		if dbg {
			log.Debug("dhcp6 reply to confirm", "network", c.NetworkID, "port", h.portID, "status", status.String())
		}
	case dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline:
		// Reservations are static; acknowledge and keep them.
		resp.AddOption(&dhcpv6.OptStatusCode{StatusCode: iana.StatusSuccess, StatusMessage: "reservation kept"})
		if dbg {
			log.Debug("dhcp6 "+mt.String()+" noted; the reservation stays", "network", c.NetworkID, "port", h.portID)
		}
	default:
		return nil, dropped6("message type not served", "type", mt)
	}
	return resp, nil
}

// confirm checks the addresses of a CONFIRM against the served links
// (RFC 8415 18.3.3): NotOnLink if any is on none of them; n counts them.
func (t *table6) confirm(req *dhcpv6.Message) (status iana.StatusCode, n int) {
	status = iana.StatusSuccess
	for _, ia := range req.Options.IANA() {
		for _, a := range ia.Options.Addresses() {
			n++
			ip, _ := netip.AddrFromSlice(a.IPv6Addr)
			if !t.onLink(ip.Unmap()) {
				status = iana.StatusNotOnLink
			}
		}
	}
	return status, n
}

type durations6 struct{ valid, t1, t2 time.Duration }

func leaseDurations(c *Config) durations6 {
	s := c.lease
	if s == 0xffffffff {
		inf := time.Duration(0xffffffff) * time.Second
		return durations6{inf, inf, inf}
	}
	d := time.Duration(s) * time.Second
	return durations6{d, d / 2, d * 7 / 8}
}

// answerIANA gives an IA_NA the client's reserved addresses. Addresses the
// client asked for that are not (or no longer) its reservation come back
// with zero lifetimes, telling the client to stop using them (RFC 8415
// 18.3.4); a client without a reservation gets NoAddrsAvail.
func answerIANA(ia *dhcpv6.OptIANA, addrs []lease6, d durations6) *dhcpv6.OptIANA {
	out := &dhcpv6.OptIANA{IaId: ia.IaId}
	if len(addrs) == 0 {
		out.Options.Add(&dhcpv6.OptStatusCode{StatusCode: iana.StatusNoAddrsAvail, StatusMessage: "no address reserved"})
		return out
	}
	out.T1, out.T2 = d.t1, d.t2
	mine := map[netip.Addr]bool{}
	for _, a := range addrs {
		mine[a.ip] = true
		out.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: a.ip.AsSlice(), PreferredLifetime: d.valid, ValidLifetime: d.valid})
	}
	for _, old := range ia.Options.Addresses() {
		ip, ok := netip.AddrFromSlice(old.IPv6Addr)
		if ok && !ip.IsUnspecified() && !mine[ip.Unmap()] {
			out.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: old.IPv6Addr})
		}
	}
	return out
}

func (t *table6) onLink(a netip.Addr) bool {
	for _, s := range t.subnets {
		if s.prefix.Contains(a) {
			return true
		}
	}
	return false
}

// clientMAC6 finds the client's MAC: from a DUID-LL or DUID-LLT client
// identifier, else the client link-layer address a relay added (RFC 6939),
// else the EUI-64 interface identifier of the link-local source address.
func clientMAC6(req *dhcpv6.Message, inner *dhcpv6.RelayMessage, peer netip.AddrPort) ([]byte, string) {
	switch d := req.Options.ClientID().(type) {
	case *dhcpv6.DUIDLL:
		if d.HWType == iana.HWTypeEthernet {
			return d.LinkLayerAddr, "duid-ll"
		}
	case *dhcpv6.DUIDLLT:
		if d.HWType == iana.HWTypeEthernet {
			return d.LinkLayerAddr, "duid-llt"
		}
	}
	src := peer.Addr()
	if inner != nil {
		if ht, lla := inner.Options.ClientLinkLayerAddress(); ht == iana.HWTypeEthernet && len(lla) == 6 {
			return lla, "client-link-layer-address"
		}
		a, _ := netip.AddrFromSlice(inner.PeerAddr)
		src = a
	}
	if mac := eui64MAC(src); mac != nil {
		return mac, "eui-64"
	}
	return nil, ""
}

// eui64MAC inverts SLAAC's modified EUI-64 on a link-local address.
func eui64MAC(a netip.Addr) []byte {
	if !a.Is6() || !a.IsLinkLocalUnicast() {
		return nil
	}
	b := a.As16()
	if b[11] != 0xff || b[12] != 0xfe {
		return nil
	}
	return []byte{b[8] ^ 0x02, b[9], b[10], b[13], b[14], b[15]}
}
