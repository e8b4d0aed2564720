package dhcp

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"sort"

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

// reply4 is a decided answer: the encoded message and where RFC 2131
// section 4.1 says to send it.
type reply4 struct {
	typ dhcpv4.MessageType
	pkt []byte
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
	cl, why, args := c.client4(req)
	if why != "" {
		if dbg {
			log.Debug("dhcp4 drop: "+why, append([]any{"network", c.NetworkID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String()}, args...)...)
		}
		return nil
	}
	return c.respond4(req, cl, log, dbg)
}

// client4 is a BOOTREQUEST's client as this server knows it: its
// reservation and the leases it may get on the link the request came from.
type client4 struct {
	t       *table4
	h       *host4
	giaddr  netip.Addr
	relayed bool
}

// client4 finds the client of req, or says why req gets no answer. It
// returns a value: the packet path allocates nothing for it.
func (c *Config) client4(req *dhcpv4.DHCPv4) (cl client4, why string, args []any) {
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return cl, "not a BOOTREQUEST", []any{"op", req.OpCode}
	}
	t := c.v4
	if t == nil {
		return cl, "no DHCPv4 subnet on this network", nil
	}
	if req.HWType != iana.HWTypeEthernet || len(req.ClientHWAddr) != 6 {
		return cl, "not an Ethernet client", []any{"htype", req.HWType, "hlen", len(req.ClientHWAddr)}
	}
	k, _ := keyOf(req.ClientHWAddr)
	h := t.hosts[k]
	if h == nil {
		return cl, "unknown client", nil
	}
	cl = client4{t: t, h: h, giaddr: addr4(req.GatewayIPAddr)}
	cl.relayed = cl.giaddr.IsValid() && !cl.giaddr.IsUnspecified()
	if cl.first() == nil {
		return cl, "client has no reservation on the relay's subnet", []any{"giaddr", cl.giaddr}
	}
	return cl, "", nil
}

// onLink reports whether the client may get lease l on the link the
// request came from: any of its leases, or for a relayed request those on
// the relay's subnet. (A filter, not a filtered slice: the packet path
// allocates nothing for it.)
func (cl *client4) onLink(l *lease4) bool { return !cl.relayed || l.sn.prefix.Contains(cl.giaddr) }

// first is the client's first lease on the link, nil if none.
func (cl *client4) first() *lease4 {
	for _, l := range cl.h.leases {
		if cl.onLink(l) {
			return l
		}
	}
	return nil
}

// find returns the client's lease of address a on the link, or nil.
func (cl *client4) find(a netip.Addr) *lease4 {
	for _, l := range cl.h.leases {
		if l.ip == a && cl.onLink(l) {
			return l
		}
	}
	return nil
}

// respond4 answers a known client by message type; nil means no answer.
func (c *Config) respond4(req *dhcpv4.DHCPv4, cl client4, log *slog.Logger, dbg bool) *reply4 {
	mt := req.MessageType()
	h, giaddr, relayed := cl.h, cl.giaddr, cl.relayed
	requested := addr4(req.Options.Get(dhcpv4.OptionRequestedIPAddress))
	ciaddr := addr4(req.ClientIPAddr)
	if ciaddr.IsUnspecified() {
		ciaddr = netip.Addr{}
	}
	switch mt {
	case dhcpv4.MessageTypeDiscover:
		l := cl.find(requested)
		if l == nil {
			l = cl.first()
		}
		if dbg {
			log.Debug("dhcp4 offer", "network", c.NetworkID, "port", h.portID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "yiaddr", l.ip, "giaddr", giaddr)
		}
		return c.answer(req, l, dhcpv4.MessageTypeOffer, relayed)
	case dhcpv4.MessageTypeRequest:
		if sid := addr4(req.Options.Get(dhcpv4.OptionServerIdentifier)); sid.IsValid() && !cl.t.isServer(sid) {
			if dbg {
				log.Debug("dhcp4 drop: client chose another server", "network", c.NetworkID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "server_id", sid)
			}
			return nil
		}
		want := requested
		if !want.IsValid() {
			want = ciaddr // RENEWING / REBINDING put the address in ciaddr
		}
		if l := cl.find(want); l != nil {
			if dbg {
				log.Debug("dhcp4 ack", "network", c.NetworkID, "port", h.portID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "yiaddr", l.ip, "giaddr", giaddr)
			}
			return c.answer(req, l, dhcpv4.MessageTypeAck, relayed)
		}
		if dbg {
			log.Debug("dhcp4 nak: requested address is not the client's reservation", "network", c.NetworkID, "port", h.portID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "requested", want, "reserved", cl.first().ip)
		}
		return c.nak(req, cl.first().sn, relayed)
	case dhcpv4.MessageTypeInform:
		l := cl.find(ciaddr)
		if l == nil {
			l = cl.first()
		}
		if dbg {
			log.Debug("dhcp4 inform ack", "network", c.NetworkID, "port", h.portID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "ciaddr", ciaddr)
		}
		return c.answer(req, l, dhcpv4.MessageTypeAck, relayed)
	case dhcpv4.MessageTypeRelease:
		// Reservations are static: a released address stays the port's.
		if dbg {
			log.Debug("dhcp4 release noted; the reservation stays", "network", c.NetworkID, "port", h.portID, "chaddr", req.ClientHWAddr.String(), "ciaddr", ciaddr)
		}
		return nil
	case dhcpv4.MessageTypeDecline:
		// The client found its address in use on the wire: someone else
		// holds the port's address, which an operator wants to hear about.
		log.Warn("dhcp4 decline: the client saw its reserved address in use", "network", c.NetworkID, "port", h.portID, "chaddr", req.ClientHWAddr.String(), "address", requested)
		return nil
	}
	if dbg {
		log.Debug("dhcp4 drop: message type not served", "network", c.NetworkID, "xid", req.TransactionID.String(), "chaddr", req.ClientHWAddr.String(), "type", mt)
	}
	return nil
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
	h := header4{typ: mt, siaddr: v.siaddr}
	block, keep := v.lease, keepAll
	if req.MessageType() == dhcpv4.MessageTypeInform {
		// RFC 2131 4.3.5: no lease time, no yiaddr; ciaddr is the client's.
		block, keep = v.inform, noLeaseTimes
		h.ciaddr = addr4(req.ClientIPAddr)
	} else {
		h.yiaddr = l.ip
		if mt == dhcpv4.MessageTypeAck {
			h.ciaddr = addr4(req.ClientIPAddr)
		}
	}
	var ms []byte
	if l.sn.routes != nil && requested(req, opt4MSClassles) {
		ms = appendOption4(nil, opt4MSClassles, l.sn.routes)
	}
	pkt := encode4(req, h, block, ms)
	if len(pkt) > maxMsgSize(req) {
		// Too big for the client: only what it asked for (and the essentials).
		pkt = encode4(req, h, encodeOptions4(v.opts, func(code uint8) bool {
			return keep(code) && (essential4(code) || requested(req, code))
		}), ms)
	}
	dst := dest4(req, h.yiaddr, relayed, false)
	ci := addr4(req.ClientIPAddr)
	return &reply4{typ: mt, pkt: pkt, dst: dst,
		neigh: !relayed && (!ci.IsValid() || ci.IsUnspecified()) && h.yiaddr.IsValid() && dst.Addr() == h.yiaddr}
}

func (c *Config) nak(req *dhcpv4.DHCPv4, sn *subnet4, relayed bool) *reply4 {
	// RFC 2131 4.3.2: through a relay, the broadcast bit makes the relay
	// broadcast the NAK to the client.
	h := header4{typ: dhcpv4.MessageTypeNak, broadcast: relayed}
	pkt := encode4(req, h, appendOption4(nil, opt4ServerID, sn.server.AsSlice()))
	return &reply4{typ: h.typ, pkt: pkt, dst: dest4(req, netip.Addr{}, relayed, true)}
}

// header4 is what a reply's fixed fields carry besides the request's.
type header4 struct {
	typ                    dhcpv4.MessageType
	ciaddr, yiaddr, siaddr netip.Addr
	broadcast              bool
}

const (
	bootpHeaderLen = 236
	bootpMinLen    = 300 // RFC 951: some relays drop shorter BOOTP messages
)

var magicCookie = [4]byte{99, 130, 83, 99}

// encode4 writes a BOOTREPLY for req: same xid, flags, giaddr and chaddr;
// the message type, then the pre-encoded option blocks, then the client
// identifier (RFC 6842) and the relay agent information (RFC 3046, last)
// echoed, the end option and BOOTP padding.
func encode4(req *dhcpv4.DHCPv4, h header4, blocks ...[]byte) []byte {
	n := bootpHeaderLen + 4 + 3 + 1
	for _, b := range blocks {
		n += len(b)
	}
	cid := req.Options.Get(dhcpv4.OptionClientIdentifier)
	agent := req.Options.Get(dhcpv4.OptionRelayAgentInformation)
	n += len(cid) + len(agent) + 8
	b := make([]byte, bootpHeaderLen, max(n, bootpMinLen))
	b[0] = byte(dhcpv4.OpcodeBootReply)
	b[1] = byte(req.HWType)
	b[2] = byte(min(len(req.ClientHWAddr), 16))
	copy(b[4:8], req.TransactionID[:])
	flags := req.Flags
	if h.broadcast {
		flags |= 0x8000
	}
	binary.BigEndian.PutUint16(b[10:12], flags)
	putAddr4(b[12:16], h.ciaddr)
	putAddr4(b[16:20], h.yiaddr)
	putAddr4(b[20:24], h.siaddr)
	putAddr4(b[24:28], addr4(req.GatewayIPAddr))
	copy(b[28:44], req.ClientHWAddr)
	b = append(b, magicCookie[:]...)
	b = append(b, opt4MsgType, 1, byte(h.typ))
	for _, blk := range blocks {
		b = append(b, blk...)
	}
	if cid != nil {
		b = appendOption4(b, uint8(dhcpv4.OptionClientIdentifier.Code()), cid)
	}
	if agent != nil {
		b = appendOption4(b, opt4AgentInfo, agent)
	}
	b = append(b, 255)
	for len(b) < bootpMinLen {
		b = append(b, 0)
	}
	return b
}

func putAddr4(dst []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(dst, v[:])
	}
}

// appendOption4 appends one option, split into 255-byte pieces (RFC 3396).
func appendOption4(b []byte, code uint8, data []byte) []byte {
	if len(data) == 0 {
		return append(b, code, 0)
	}
	for len(data) > 0 {
		n := min(len(data), 255)
		b = append(b, code, byte(n))
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return b
}

// encodeOptions4 encodes the options keep accepts, in code order.
func encodeOptions4(o dhcpv4.Options, keep func(uint8) bool) []byte {
	codes := make([]int, 0, len(o))
	for c := range o {
		if c != 0 && c != 255 && c != opt4MsgType && c != opt4AgentInfo && keep(c) {
			codes = append(codes, int(c))
		}
	}
	sort.Ints(codes)
	var b []byte
	for _, c := range codes {
		b = appendOption4(b, uint8(c), o[uint8(c)])
	}
	return b
}

func keepAll(uint8) bool { return true }

func noLeaseTimes(code uint8) bool {
	return code != opt4LeaseTime && code != opt4T1 && code != opt4T2
}

// essential4 are the options a reply is not worth sending without.
func essential4(code uint8) bool {
	switch code {
	case opt4ServerID, opt4LeaseTime, opt4Mask:
		return true
	}
	return false
}

// dest4 applies RFC 2131 section 4.1: to the relay when giaddr is set; NAKs
// are broadcast; to ciaddr when the client has an address; broadcast when
// the client asked; otherwise unicast to yiaddr at chaddr.
func dest4(req *dhcpv4.DHCPv4, yiaddr netip.Addr, relayed, nak bool) netip.AddrPort {
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
	if req.IsBroadcast() || !yiaddr.IsValid() || yiaddr.IsUnspecified() {
		return bcast
	}
	return netip.AddrPortFrom(yiaddr, clientPort4)
}

func requested(req *dhcpv4.DHCPv4, code uint8) bool {
	return bytes.IndexByte(req.Options.Get(dhcpv4.GenericOptionCode(opt4ParamList)), code) >= 0
}

// maxMsgSize is the largest reply the client accepts (option 57, at least
// the 576-byte datagram every client must take).
func maxMsgSize(req *dhcpv4.DHCPv4) int {
	if m := req.Options.Get(dhcpv4.OptionMaximumDHCPMessageSize); len(m) == 2 {
		return max(int(binary.BigEndian.Uint16(m)), minMaxMsgSize)
	}
	return minMaxMsgSize
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
