package dhcp

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Ports of DHCPv4 (RFC 2131).
const (
	serverPort4 = 67
	clientPort4 = 68
)

// minMaxMsgSize is the smallest message every client must accept (RFC 2131
// section 2: 576-byte datagrams, minus IP and UDP headers).
const minMaxMsgSize = 576 - 28

// reply4 is a decided answer: the message and where RFC 2131 section 4.1 says
// to send it.
type reply4 struct {
	msg *dhcpv4.DHCPv4
	dst netip.AddrPort
	// neigh asks for a neighbour entry yiaddr -> chaddr before sending: the
	// reply is unicast to a client that has no address yet and cannot
	// answer ARP.
	neigh bool
}

// handle4 decides the answer to one DHCPv4 message; nil means no answer.
// It never fails: whatever it cannot use it drops, logging why at debug.
func (c *Config) handle4(req *dhcpv4.DHCPv4, log *slog.Logger) *reply4 {
	dbg := log.Enabled(context.Background(), slog.LevelDebug)
	drop := func(why string, args ...any) *reply4 {
		if dbg {
			log.Debug("dhcp4 drop: "+why, append([]any{"network", c.NetworkID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String()}, args...)...)
		}
		return nil
	}
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return drop("not a BOOTREQUEST", "op", req.OpCode)
	}
	t := c.v4
	if t == nil {
		return drop("no DHCPv4 subnet on this network")
	}
	if req.HWType != iana.HWTypeEthernet || len(req.ClientHWAddr) != 6 {
		return drop("not an Ethernet client", "htype", req.HWType, "hlen", len(req.ClientHWAddr))
	}
	k, _ := keyOf(req.ClientHWAddr)
	h := t.hosts[k]
	if h == nil {
		return drop("unknown client")
	}
	mt := req.MessageType()
	giaddr := addr4(req.GatewayIPAddr)
	relayed := giaddr.IsValid() && !giaddr.IsUnspecified()
	leases := h.leases
	if relayed {
		leases = nil
		for _, l := range h.leases {
			if l.sn.prefix.Contains(giaddr) {
				leases = append(leases, l)
			}
		}
		if len(leases) == 0 {
			return drop("client has no reservation on the relay's subnet", "giaddr", giaddr)
		}
	}
	requested := addr4(req.Options.Get(dhcpv4.OptionRequestedIPAddress))
	ciaddr := addr4(req.ClientIPAddr)
	if ciaddr.IsUnspecified() {
		ciaddr = netip.Addr{}
	}
	find := func(a netip.Addr) *lease4 {
		for _, l := range leases {
			if l.ip == a {
				return l
			}
		}
		return nil
	}
	switch mt {
	case dhcpv4.MessageTypeDiscover:
		l := find(requested)
		if l == nil {
			l = leases[0]
		}
		if dbg {
			log.Debug("dhcp4 offer", "network", c.NetworkID, "port", h.portID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "yiaddr", l.ip, "giaddr", giaddr)
		}
		return c.answer(req, l, dhcpv4.MessageTypeOffer, relayed)
	case dhcpv4.MessageTypeRequest:
		if sid := addr4(req.Options.Get(dhcpv4.OptionServerIdentifier)); sid.IsValid() && !t.isServer(sid) {
			return drop("client chose another server", "server_id", sid)
		}
		want := requested
		if !want.IsValid() {
			want = ciaddr // RENEWING / REBINDING put the address in ciaddr
		}
		if l := find(want); l != nil {
			if dbg {
				log.Debug("dhcp4 ack", "network", c.NetworkID, "port", h.portID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "yiaddr", l.ip, "giaddr", giaddr)
			}
			return c.answer(req, l, dhcpv4.MessageTypeAck, relayed)
		}
		if dbg {
			log.Debug("dhcp4 nak: requested address is not the client's reservation", "network", c.NetworkID, "port", h.portID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "requested", want, "reserved", leases[0].ip)
		}
		return c.nak(req, leases[0].sn, relayed)
	case dhcpv4.MessageTypeInform:
		l := find(ciaddr)
		if l == nil {
			l = leases[0]
		}
		if dbg {
			log.Debug("dhcp4 inform ack", "network", c.NetworkID, "port", h.portID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "ciaddr", ciaddr)
		}
		return c.answer(req, l, dhcpv4.MessageTypeAck, relayed)
	case dhcpv4.MessageTypeRelease, dhcpv4.MessageTypeDecline:
		// Reservations are static: a released or declined address stays the
		// port's. A decline means a conflict on the wire worth knowing about.
		if dbg {
			log.Debug("dhcp4 "+mt.String()+" noted; the reservation stays", "network", c.NetworkID, "port", h.portID, "chaddr", req.ClientHWAddr.String(), "ciaddr", ciaddr, "requested", requested)
		}
		return nil
	}
	return drop("message type not served", "type", mt)
}

func (t *table4) isServer(a netip.Addr) bool {
	for _, s := range t.subnets {
		if s.server == a {
			return true
		}
	}
	return false
}

// isIPXE tells iPXE clients apart as Neutron's dnsmasq does
// (--dhcp-match=set:ipxe,175), also accepting the "iPXE" user class.
func isIPXE(req *dhcpv4.DHCPv4) bool {
	return req.Options.Has(dhcpv4.GenericOptionCode(opt4IPXE)) ||
		bytes.Contains(req.Options.Get(dhcpv4.GenericOptionCode(opt4UserClass)), []byte("iPXE"))
}

func (c *Config) answer(req *dhcpv4.DHCPv4, l *lease4, mt dhcpv4.MessageType, relayed bool) *reply4 {
	v := &l.plain
	if l.ipxe != nil && isIPXE(req) {
		v = l.ipxe
	}
	resp := newReply4(req, len(v.opts)+4)
	for k, b := range v.opts {
		resp.Options[k] = b
	}
	resp.Options[opt4MsgType] = []byte{byte(mt)}
	if l.sn.routes != nil && requested(req, opt4MSClassles) {
		resp.Options[opt4MSClassles] = l.sn.routes
	}
	if v.siaddr.IsValid() {
		resp.ServerIPAddr = v.siaddr.AsSlice()
	}
	if req.MessageType() == dhcpv4.MessageTypeInform {
		// RFC 2131 4.3.5: no lease time, no yiaddr.
		delete(resp.Options, opt4LeaseTime)
		delete(resp.Options, opt4T1)
		delete(resp.Options, opt4T2)
		resp.ClientIPAddr = req.ClientIPAddr
		return &reply4{msg: resp, dst: dest4(req, nil, relayed, false)}
	}
	resp.YourIPAddr = l.ip.AsSlice()
	if mt == dhcpv4.MessageTypeAck {
		resp.ClientIPAddr = req.ClientIPAddr
	}
	r := &reply4{msg: resp, dst: dest4(req, resp, relayed, false)}
	ci := addr4(req.ClientIPAddr)
	r.neigh = !relayed && (!ci.IsValid() || ci.IsUnspecified()) && r.dst.Addr() == l.ip
	return r
}

func (c *Config) nak(req *dhcpv4.DHCPv4, sn *subnet4, relayed bool) *reply4 {
	resp := newReply4(req, 3)
	resp.Options[opt4MsgType] = []byte{byte(dhcpv4.MessageTypeNak)}
	resp.Options[opt4ServerID] = sn.server.AsSlice()
	if relayed {
		// RFC 2131 4.3.2: the relay must broadcast a NAK to the client.
		resp.SetBroadcast()
	}
	return &reply4{msg: resp, dst: dest4(req, resp, relayed, true)}
}

// newReply4 starts a BOOTREPLY for req: same xid, flags, giaddr and chaddr,
// the relay agent information echoed (RFC 3046) and the client identifier
// too (RFC 6842).
func newReply4(req *dhcpv4.DHCPv4, nopts int) *dhcpv4.DHCPv4 {
	resp := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: req.GatewayIPAddr,
		ClientHWAddr:  req.ClientHWAddr,
		Options:       make(dhcpv4.Options, nopts+2),
	}
	if b := req.Options.Get(dhcpv4.OptionRelayAgentInformation); b != nil {
		resp.Options[opt4AgentInfo] = b
	}
	if b := req.Options.Get(dhcpv4.OptionClientIdentifier); b != nil {
		resp.Options[uint8(dhcpv4.OptionClientIdentifier.Code())] = b
	}
	return resp
}

// dest4 applies RFC 2131 section 4.1: to the relay when giaddr is set; NAKs
// are broadcast; to ciaddr when the client has an address; broadcast when
// the client asked; otherwise unicast to yiaddr at chaddr.
func dest4(req, resp *dhcpv4.DHCPv4, relayed, nak bool) netip.AddrPort {
	bcast := netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), clientPort4)
	switch {
	case relayed:
		return netip.AddrPortFrom(addr4(req.GatewayIPAddr), serverPort4)
	case nak:
		return bcast
	}
	if ci := addr4(req.ClientIPAddr); ci.IsValid() && !ci.IsUnspecified() {
		return netip.AddrPortFrom(ci, clientPort4)
	}
	if req.IsBroadcast() || resp == nil {
		return bcast
	}
	if yi := addr4(resp.YourIPAddr); yi.IsValid() && !yi.IsUnspecified() {
		return netip.AddrPortFrom(yi, clientPort4)
	}
	return bcast
}

func requested(req *dhcpv4.DHCPv4, code uint8) bool {
	return bytes.IndexByte(req.Options.Get(dhcpv4.GenericOptionCode(opt4ParamList)), code) >= 0
}

// marshal4 encodes resp, dropping options the client did not ask for when
// the reply would exceed the size the client accepts.
func marshal4(req, resp *dhcpv4.DHCPv4) []byte {
	b := resp.ToBytes()
	limit := minMaxMsgSize
	if m := req.Options.Get(dhcpv4.OptionMaximumDHCPMessageSize); len(m) == 2 {
		if n := int(binary.BigEndian.Uint16(m)); n > limit {
			limit = n
		}
	}
	if len(b) <= limit {
		return b
	}
	for k := range resp.Options {
		switch k {
		case opt4MsgType, opt4ServerID, opt4LeaseTime, opt4AgentInfo, opt4Mask:
			continue
		}
		if !requested(req, k) {
			delete(resp.Options, k)
		}
	}
	return resp.ToBytes()
}

// addr4 converts a 4-byte (or 16-byte mapped) address; invalid otherwise.
func addr4(b []byte) netip.Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		if a := netip.AddrFrom16([16]byte(b)); a.Is4In6() {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}
