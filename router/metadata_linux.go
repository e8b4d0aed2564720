package router

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The metadata redirect (WithMetadataPort), in the router's own table:
//
//	chain metadata (nat, prerouting, dstnat - 10):
//	  meta nfproto ipv4 iifname "qr-*" ip daddr 169.254.169.254 tcp dport 80 redirect to :<port>
//	  meta nfproto ipv6 iifname "qr-*" ip6 daddr fe80::a9fe:a9fe tcp dport 80 redirect to :<port>
//	chain metadata-input (filter, input, filter priority):
//	  tcp dport <port> ct status & dnat == 0 drop
//
// The redirect runs before the floating IPs' dnat, which never maps the
// metadata address anyway. Only a router with an internal interface gets
// the chains; the IPv6 rule comes with an internal interface on an IPv6
// subnet (Neutron's ip6tables rule, metadata_nat_rules with
// METADATA_V6_CIDR). Guests reach fe80::a9fe:a9fe through the route to it
// the router's advertisements carry (internal/ra), via the router's
// link-local address; the redirect then hands the connection to the
// listener in this namespace, which listens on both families.
const (
	metadataChain      = "metadata"
	metadataInputChain = "metadata-input"
)

// metadataAddr is 169.254.169.254, metadataAddr6 fe80::a9fe:a9fe.
var (
	metadataAddr  = [4]byte{169, 254, 169, 254}
	metadataAddr6 = netip.MustParseAddr("fe80::a9fe:a9fe").As16()
)

// metadataChains are the router's metadata chains, none when the
// redirect is off or the router has no internal interface.
func (rr *routerRun) metadataChains() []natChain {
	port := rr.r.opt.metadataPort
	if port == 0 || !hasInternal(rr.spec) {
		return nil
	}
	prio := *nftables.ChainPriorityNATDest - 10
	redirect := natRule{fmt.Sprintf("metadata %s:80 redirect :%d", "169.254.169.254", port), concat(ipv4(),
		ifnamePrefix(expr.MetaKeyIIFNAME, "qr-"),
		payload(16),
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: metadataAddr[:]},
		tcpDport(80),
		&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.Redir{RegisterProtoMin: 1})}
	rules := []natRule{redirect}
	if hasInternalV6(rr.spec) {
		rules = append(rules, natRule{fmt.Sprintf("metadata [%s]:80 redirect :%d", "fe80::a9fe:a9fe", port), concat(
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
			ifnamePrefix(expr.MetaKeyIIFNAME, "qr-"),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: metadataAddr6[:]},
			tcpDport(80),
			&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
			&expr.Redir{RegisterProtoMin: 1})})
	}
	guard := natRule{fmt.Sprintf("metadata :%d only redirected", port), concat(
		tcpDport(port),
		ctDNAT(expr.CmpOpEq),
		&expr.Verdict{Kind: expr.VerdictDrop})}
	return []natChain{
		{metadataChain, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, &prio, rules},
		{metadataInputChain, nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter, []natRule{guard}},
	}
}

func hasInternal(spec *routerSpec) bool {
	for _, i := range spec.Ifaces {
		if !i.Gateway {
			return true
		}
	}
	return false
}

// hasInternalV6 reports whether an internal interface is on an IPv6
// subnet.
func hasInternalV6(spec *routerSpec) bool {
	for _, i := range spec.Ifaces {
		if !i.Gateway && slices.ContainsFunc(i.Subnets, func(p netip.Prefix) bool { return p.Addr().Is6() }) {
			return true
		}
	}
	return false
}

// ifnamePrefix matches interface names starting with prefix, as nft's
// iifname "qr-*": the comparison covers the prefix's bytes only.
func ifnamePrefix(key expr.MetaKey, prefix string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(prefix)},
	}
}

// tcpDport matches TCP to port.
func tcpDport(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}
