package secgroup

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// The compiler's output is an intermediate form of nftables objects that
// builds on every OS: tables, chains, rules made of matches and statements,
// and sets with their elements. Each rule renders as nft syntax; the
// rendering is what `nft list` readers see in Plan output and what the rule's
// content hash is computed from, so the kernel objects are a lowering of the
// same text (lower_linux.go).

// family is an nftables table family.
type family string

const (
	familyInet   family = "inet"
	familyBridge family = "bridge"
)

// TableName is the name of both tables the realizer owns in the host
// namespace: `table inet neutrino` and `table bridge neutrino`.
const TableName = "neutrino"

// ruleset is the compiled policy of one node. A node without ports needs
// no tables: inet and bridge are nil.
type ruleset struct {
	inet, bridge *table
	// ports are the filtered ports with their numbers, for conntrack
	// cleanup and reports.
	ports map[uint32]*portInfo
	// groupPorts lists the filtered ports of each group (by number).
	groupPorts map[string][]uint32
	// remoteUsers lists, per member set name, the groups whose rules
	// reference it.
	setUsers map[string][]string
	// logs is the node's flow logging; nil without logs.
	logs *logPlan
}

// portInfo is what conntrack cleanup needs to know about a filtered port.
type portInfo struct {
	id     string
	tap    string
	zone   uint16
	addrs  []netip.Prefix
	groups []string
}

type table struct {
	family family
	chains []*chain
	sets   []*set
	chainx map[string]*chain
	setx   map[string]*set
}

// tables returns the ruleset's tables by family (nil when not needed).
func (rs *ruleset) tables() map[family]*table {
	return map[family]*table{familyInet: rs.inet, familyBridge: rs.bridge}
}

// families is the order tables are diffed and written in.
var families = []family{familyInet, familyBridge}

func newTable(f family) *table {
	return &table{family: f, chainx: map[string]*chain{}, setx: map[string]*set{}}
}

func (t *table) addChain(c *chain) *chain {
	t.chains = append(t.chains, c)
	t.chainx[c.name] = c
	return c
}

func (t *table) addSet(s *set) *set {
	t.sets = append(t.sets, s)
	t.setx[s.name] = s
	return s
}

// chainKind says what a chain is for, in reports.
type chainKind string

const (
	kindBase  chainKind = "base"
	kindPort  chainKind = "port"
	kindGroup chainKind = "group"
)

// hook makes a chain a base chain: type filter, policy accept.
type hook struct {
	name     string // prerouting, forward
	priority int
}

type chain struct {
	name  string
	hook  *hook
	kind  chainKind
	owner string // the port or group ID the chain belongs to
	dir   string // ingress or egress, for group chains
	rules []rule
	hs    []uint64 // hashes, computed once
	// logHashes, for group chains, gives the hashes of the chain's log
	// rules when its accepts are logged (whether they are or not).
	logHashes func() map[uint64]bool
}

// hashes returns the content hashes of the chain's rules, in order.
func (c *chain) hashes() []uint64 {
	if c.hs == nil {
		c.hs = make([]uint64, len(c.rules))
		for i := range c.rules {
			c.hs[i] = c.rules[i].hash()
		}
	}
	return c.hs
}

// rule is a conjunction of matches followed by statements, with a comment.
type rule struct {
	matches []match
	stmts   []stmt
	comment string
}

// String renders the rule in nft syntax.
func (r *rule) String() string {
	var b strings.Builder
	for _, m := range r.matches {
		b.WriteString(m.text)
		b.WriteByte(' ')
	}
	for i, s := range r.stmts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.String())
	}
	if r.comment != "" {
		fmt.Fprintf(&b, " comment %q", r.comment)
	}
	return b.String()
}

// hash identifies the rule's content; it is stored with the rule in the
// kernel so that a rule changed or deleted by hand is noticed cheaply.
func (r *rule) hash() uint64 {
	h := fnv.New64a()
	h.Write([]byte(compilerVersion))
	h.Write([]byte(r.String()))
	return h.Sum64()
}

// compilerVersion changes whenever the lowering of a rendering changes, so
// that rules written by an older release are rewritten.
const compilerVersion = "neutrino-secgroup/1\x00"

// loadKind says where a match reads its value.
type loadKind uint8

const (
	loadMeta loadKind = iota
	loadPayload
	loadCt
)

// Kernel numbers of what rules load (uapi nf_tables.h), kept here so that
// the compiler builds on every OS.
const (
	metaProtocol = 1  // NFT_META_PROTOCOL
	metaMark     = 3  // NFT_META_MARK
	metaIIFName  = 6  // NFT_META_IIFNAME
	metaOIFName  = 7  // NFT_META_OIFNAME
	metaNFProto  = 15 // NFT_META_NFPROTO
	metaL4Proto  = 16 // NFT_META_L4PROTO

	ctState = 0 // NFT_CT_STATE

	baseLL        = 0 // NFT_PAYLOAD_LL_HEADER
	baseNetwork   = 1 // NFT_PAYLOAD_NETWORK_HEADER
	baseTransport = 2 // NFT_PAYLOAD_TRANSPORT_HEADER

	nfprotoIPv4 = 2  // NFPROTO_IPV4
	nfprotoIPv6 = 10 // NFPROTO_IPV6

	ctStateInvalid     = 1
	ctStateEstablished = 2
	ctStateRelated     = 4
)

// load is one value a match reads into a register.
type load struct {
	kind loadKind
	key  uint32 // meta or ct key
	base uint32 // payload base
	off  uint32 // payload offset
	len  uint32
}

func metaLoad(key, n uint32) load { return load{kind: loadMeta, key: key, len: n} }
func payloadLoad(base, off, n uint32) load {
	return load{kind: loadPayload, base: base, off: off, len: n}
}

// regLen is the space a value takes in a concatenation: registers are 4
// bytes wide.
func regLen(n uint32) uint32 { return (n + 3) &^ 3 }

// matchOp is how a match compares what it loaded.
type matchOp uint8

const (
	opEq matchOp = iota
	opNeq
	opRange // value <= x <= high
	opIn    // x in @set
	opNotIn // x not in @set
)

// match loads one value (or a concatenation of values, for set lookups),
// optionally masks it, and compares it.
type match struct {
	loads []load
	mask  []byte
	op    matchOp
	value []byte
	high  []byte
	set   string
	text  string
}

// stmtKind is what a statement does.
type stmtKind uint8

const (
	stmtAccept stmtKind = iota
	stmtDrop
	stmtJump
	stmtGoto
	stmtVMap    // key vmap @set
	stmtZoneSet // ct zone set <zone>
	stmtNotrack
	stmtMarkSet // meta mark set meta mark & and ^ xor
	stmtMarkMap // meta mark set key map @set
	stmtLimit   // limit rate <rate>/second burst <burst> packets
	stmtLog     // log prefix "<prefix>" group <group>
)

type stmt struct {
	kind  stmtKind
	chain string // jump, goto
	key   []load // vmap, zone map
	mask  []byte // vmap key mask
	set   string // vmap, zone map
	and   uint32 // mark set
	xor   uint32
	zone  uint16 // zone set
	text  string // key rendering for maps
	// limit
	rate, burst uint32
	// log
	prefix string
	group  uint16
}

func (s stmt) String() string {
	switch s.kind {
	case stmtAccept:
		return "accept"
	case stmtDrop:
		return "drop"
	case stmtJump:
		return "jump " + s.chain
	case stmtGoto:
		return "goto " + s.chain
	case stmtVMap:
		return s.text + " vmap @" + s.set
	case stmtZoneSet:
		return "ct zone set " + strconv.Itoa(int(s.zone))
	case stmtNotrack:
		return "notrack"
	case stmtMarkMap:
		return "meta mark set " + s.text + " map @" + s.set
	case stmtLimit:
		return fmt.Sprintf("limit rate %d/second burst %d packets", s.rate, s.burst)
	case stmtLog:
		return fmt.Sprintf("log prefix %q group %d", s.prefix, s.group)
	case stmtMarkSet:
		return fmt.Sprintf("meta mark set meta mark & 0x%08x | 0x%08x", s.and, s.xor)
	}
	return "?"
}

// setType names an nftables set key or data type.
type setType string

const (
	typeIfname     setType = "ifname"
	typeMark       setType = "mark"
	typeIPv4       setType = "ipv4_addr"
	typeIPv6       setType = "ipv6_addr"
	typeICMPv6Type setType = "icmpv6_type"
	typeVerdict    setType = "verdict"
	typeIfMAC      setType = "ifname . ether_addr"
	typeIfMACv4    setType = "ifname . ether_addr . ipv4_addr"
	typeIfMACv6    setType = "ifname . ether_addr . ipv6_addr"
	typeNone       setType = ""
)

// Key lengths.
const (
	ifnameLen = 16 // IFNAMSIZ
	macRegLen = 8  // 6 bytes padded to two registers
	markLen   = 4
)

// set is a named set or map.
type set struct {
	name     string
	key      setType
	data     setType // typeNone for a plain set
	interval bool
	comment  string
	elems    []elem
}

func (s *set) isMap() bool { return s.data != typeNone }

// spec is what must match for an existing kernel set to be reused: key
// type and length, data type, flags, as the kernel reports them.
func (s *set) spec() string {
	km, kl := typeMagic(s.key)
	dm, _ := typeMagic(s.data)
	return specString(km, kl, dm, s.interval, s.isMap())
}

func specString(keyMagic, keyLen, dataMagic uint32, interval, isMap bool) string {
	return fmt.Sprintf("key %d/%d data %d interval %t map %t", keyMagic, keyLen, dataMagic, interval, isMap)
}

// typeMagic is nft's datatype number and the key length of a set type
// (nft datatype.h; a concatenation packs 6 bits per member, each member
// padded to 4 bytes).
func typeMagic(t setType) (magic, length uint32) {
	const (
		verdict = 1
		ipv4    = 7
		ipv6    = 8
		ether   = 9
		mark    = 19
		icmp6   = 29
		ifname  = 41
	)
	switch t {
	case typeIfname:
		return ifname, ifnameLen
	case typeMark:
		return mark, markLen
	case typeIPv4:
		return ipv4, 4
	case typeIPv6:
		return ipv6, 16
	case typeICMPv6Type:
		return icmp6, 1
	case typeVerdict:
		return verdict, 0
	case typeIfMAC:
		return ifname<<6 | ether, ifnameLen + macRegLen
	case typeIfMACv4:
		return (ifname<<6|ether)<<6 | ipv4, ifnameLen + macRegLen + 4
	case typeIfMACv6:
		return (ifname<<6|ether)<<6 | ipv6, ifnameLen + macRegLen + 16
	}
	return 0, 0
}

// concatenated reports whether keys of t are concatenations.
func (t setType) concatenated() bool { return strings.Contains(string(t), " . ") }

// elem is one element. Interval sets keep [key, end) with end exclusive
// for plain address intervals (nft.Interval), and [key, end] inclusive for
// concatenations, as the kernel stores them; open is an interval to the
// end of the address space.
type elem struct {
	key     []byte
	end     []byte
	open    bool
	data    []byte
	verdict string // "jump <chain>" or "goto <chain>"
	comment string
}

// id is the element's identity for diffing: its fields, each preceded by
// its length, in one string (a map key, never shown).
func (e elem) id() string {
	n := len(e.key) + len(e.end) + len(e.data) + len(e.verdict) + len(e.comment) + 6
	b := make([]byte, 0, n)
	for _, f := range [][]byte{e.key, e.end, e.data} {
		b = append(b, byte(len(f)))
		b = append(b, f...)
	}
	if e.open {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = append(b, byte(len(e.verdict)))
	b = append(b, e.verdict...)
	b = append(b, e.comment...)
	return string(b)
}

// keyID is the element's key alone: two elements with one key and
// different data are an update of a map entry.
func (e elem) keyID() string {
	k := e
	k.data, k.verdict, k.comment = nil, "", ""
	return k.id()
}

// sortElems orders elements by key, the order the kernel is sent them in.
func sortElems(es []elem) {
	sort.Slice(es, func(i, j int) bool {
		if c := bytes.Compare(es[i].key, es[j].key); c != 0 {
			return c < 0
		}
		return bytes.Compare(es[i].end, es[j].end) < 0
	})
}

// Encodings of keys as the kernel stores them.

func ifnameBytes(name string) []byte {
	b := make([]byte, ifnameLen)
	copy(b, name)
	return b
}

func ifnameString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// markBytes is a mark in host byte order, as meta mark loads it.
func markBytes(v uint32) []byte {
	return binary.NativeEndian.AppendUint32(nil, v)
}

func markValue(b []byte) uint32 {
	if len(b) != markLen {
		return 0
	}
	return binary.NativeEndian.Uint32(b)
}

// zoneBytes is a conntrack zone in host byte order, as ct zone set reads it.
func zoneBytes(z uint16) []byte { return binary.NativeEndian.AppendUint16(nil, z) }

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func macBytes(mac []byte) []byte {
	b := make([]byte, macRegLen)
	copy(b, mac)
	return b
}

// String renders the table in nft syntax, close to `nft list table`.
func (t *table) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table %s %s {\n", t.family, TableName)
	for _, s := range t.sets {
		kw := "set"
		typ := string(s.key)
		if s.isMap() {
			kw, typ = "map", typ+" : "+string(s.data)
		}
		fmt.Fprintf(&b, "\t%s %s {\n\t\ttype %s\n", kw, s.name, typ)
		if s.interval {
			b.WriteString("\t\tflags interval\n")
		}
		if s.comment != "" {
			fmt.Fprintf(&b, "\t\tcomment %q\n", s.comment)
		}
		if len(s.elems) > 0 {
			fmt.Fprintf(&b, "\t\t# %d elements\n", len(s.elems))
		}
		b.WriteString("\t}\n")
	}
	for _, c := range t.chains {
		fmt.Fprintf(&b, "\tchain %s {\n", c.name)
		if c.hook != nil {
			fmt.Fprintf(&b, "\t\ttype filter hook %s priority %d; policy accept;\n", c.hook.name, c.hook.priority)
		}
		for i := range c.rules {
			fmt.Fprintf(&b, "\t\t%s\n", c.rules[i].String())
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}
