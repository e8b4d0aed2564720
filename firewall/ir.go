package firewall

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
)

// The compiler's output is an intermediate form that builds on every OS:
// per router namespace one table of chains, each an ordered list of rules
// made of terms, plus the named limit objects the log rules share. Each
// rule renders as nft syntax; its content hash (stored with the rule in
// the kernel) is computed from that rendering, and lower_linux.go turns
// the same terms into kernel expressions.

// TableName is the name of the table the realizer owns in each router
// namespace: `table inet neutrino-fw`.
const TableName = "neutrino-fw"

// chainForward is the table's one base chain (hook forward, priority
// filter, policy accept).
const chainForward = "forward"

// ruleset is the compiled firewall of one node: a table per router
// (by router ID) that has at least one port in a firewall group.
type ruleset struct {
	tables map[string]*table
}

type table struct {
	router string
	chains []*chain
	limits []limit
	limitx map[string]bool
	// prefixes maps every NFLOG prefix of the table to what a record of it
	// says.
	prefixes map[string]*logSource
	// ports are the protected ports by device name.
	ports map[string]*portInfo
}

func (t *table) chain(name string) *chain {
	for _, c := range t.chains {
		if c.name == name {
			return c
		}
	}
	return nil
}

// portInfo is a protected port.
type portInfo struct {
	id, dev, group string
}

// limit is a named limit object: packets per second with a burst.
type limit struct {
	name        string
	rate, burst uint32
}

func (l limit) String() string {
	return fmt.Sprintf("limit %s { rate %d/second burst %d packets }", l.name, l.rate, l.burst)
}

type chain struct {
	name  string
	base  bool
	rules []rule
	hs    []uint64
}

// hashes returns the rules' content hashes, in order.
func (c *chain) hashes() []uint64 {
	if c.hs == nil {
		c.hs = make([]uint64, len(c.rules))
		for i := range c.rules {
			c.hs[i] = c.rules[i].hash()
		}
	}
	return c.hs
}

// rule is a conjunction of terms ending (usually) in a verdict.
type rule struct {
	terms   []term
	comment string
	// tuple is the Neutron rule the nft rule enforces, for cutting the
	// flows it allowed when it goes away; nil for other rules.
	tuple *tuple
}

func (r *rule) String() string {
	parts := make([]string, 0, len(r.terms)+1)
	for _, t := range r.terms {
		parts = append(parts, t.String())
	}
	if r.comment != "" {
		parts = append(parts, "comment "+strconv.Quote(r.comment))
	}
	return strings.Join(parts, " ")
}

// hash identifies the rule's content; compilerVersion changes whenever
// the lowering of a rendering changes.
func (r *rule) hash() uint64 {
	h := fnv.New64a()
	h.Write([]byte(compilerVersion))
	h.Write([]byte(r.String()))
	return h.Sum64()
}

const compilerVersion = "neutrino-firewall/1\x00"

// termKind is what a term matches or does.
type termKind uint8

const (
	tIIF        termKind = iota // iifname "dev"
	tOIF                        // oifname "dev"
	tCtState                    // ct state <bits>
	tNFProto                    // meta nfproto ipv4|ipv6
	tL4Proto                    // meta l4proto n
	tSaddr                      // ip/ip6 saddr prefix
	tDaddr                      // ip/ip6 daddr prefix
	tSport                      // th sport range
	tDport                      // th dport range
	tLimit                      // limit name "x"
	tLog                        // log prefix "p" group g
	tReturn                     // return
	tDrop                       // drop
	tJump                       // jump chain
	tRejectTCP                  // reject with tcp reset
	tRejectICMP                 // reject with icmpx port-unreachable
	tICMPv6Type                 // icmpv6 type range (in ports)
)

// Conntrack state bits (uapi nf_conntrack_common.h).
const (
	ctInvalid     = 1
	ctEstablished = 2
	ctRelated     = 4
)

type term struct {
	kind   termKind
	name   string       // device, chain, limit, log prefix
	num    uint32       // ct state bits, nfproto version, l4proto, log group
	prefix netip.Prefix // addresses
	ports  PortRange
}

var protoNames = map[uint32]string{1: "icmp", 6: "tcp", 17: "udp", 33: "dccp", 58: "ipv6-icmp", 132: "sctp"}

func (t term) String() string {
	switch t.kind {
	case tIIF:
		return "iifname " + strconv.Quote(t.name)
	case tOIF:
		return "oifname " + strconv.Quote(t.name)
	case tCtState:
		var s []string
		for _, x := range []struct {
			bit  uint32
			name string
		}{{ctInvalid, "invalid"}, {ctEstablished, "established"}, {ctRelated, "related"}} {
			if t.num&x.bit != 0 {
				s = append(s, x.name)
			}
		}
		return "ct state " + strings.Join(s, ",")
	case tNFProto:
		return "meta nfproto ipv" + strconv.Itoa(int(t.num))
	case tL4Proto:
		return "meta l4proto " + protoNames[t.num]
	case tSaddr, tDaddr:
		fam, dir := "ip", "saddr"
		if t.prefix.Addr().Is6() {
			fam = "ip6"
		}
		if t.kind == tDaddr {
			dir = "daddr"
		}
		return fam + " " + dir + " " + Address{t.prefix}.String()
	case tSport, tDport:
		dir := "sport"
		if t.kind == tDport {
			dir = "dport"
		}
		if t.ports.Min == t.ports.Max {
			return fmt.Sprintf("th %s %d", dir, t.ports.Min)
		}
		return fmt.Sprintf("th %s %d-%d", dir, t.ports.Min, t.ports.Max)
	case tICMPv6Type:
		return fmt.Sprintf("icmpv6 type %d-%d", t.ports.Min, t.ports.Max)
	case tLimit:
		return "limit name " + strconv.Quote(t.name)
	case tLog:
		return fmt.Sprintf("log prefix %q group %d", t.name, t.num)
	case tReturn:
		return "return"
	case tDrop:
		return "drop"
	case tJump:
		return "jump " + t.name
	case tRejectTCP:
		return "reject with tcp reset"
	case tRejectICMP:
		return "reject with icmpx port-unreachable"
	}
	return "?"
}

// String renders the table close to `nft list table`.
func (t *table) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", TableName)
	for _, l := range t.limits {
		fmt.Fprintf(&b, "\t%s\n", l)
	}
	for _, c := range t.chains {
		fmt.Fprintf(&b, "\tchain %s {\n", c.name)
		if c.base {
			b.WriteString("\t\ttype filter hook forward priority filter; policy accept;\n")
		}
		for i := range c.rules {
			fmt.Fprintf(&b, "\t\t%s\n", c.rules[i].String())
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}
