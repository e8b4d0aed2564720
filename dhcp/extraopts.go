package dhcp

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/rfc1035label"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

// valueKind says how an extra option's text value is encoded on the wire,
// following dnsmasq's option table (dnsmasq --help dhcp / dhcp6), because
// Neutron hands extra_dhcp_opts to dnsmasq verbatim and users write them for
// dnsmasq.
type valueKind uint8

const (
	kindGuess      valueKind = iota // dnsmasq's guess: hex bytes, a number, addresses, or a string
	kindAddrs                       // comma-separated addresses of the option's family
	kindString                      // raw text
	kindU8                          // 1-byte number (also booleans)
	kindU16                         // 2-byte number
	kindU32                         // 4-byte signed or unsigned number
	kindTime                        // 4-byte seconds; accepts 30s, 10m, 2h, 1d, infinite
	kindNames                       // RFC 1035 encoded domain list
	kindRoutes                      // RFC 3442 classless routes: dst/len,gw,...
	kindEmpty                       // no value at all (rapid-commit)
	kindNextServer                  // BOOTP siaddr field, not an option
	kindNTP6                        // RFC 5908 NTP server suboptions (addresses)
	kindParams6                     // RFC 5970 boot file parameters: length-prefixed strings
)

type optDef struct {
	name string
	code uint16
	kind valueKind
}

// optTable4 is dnsmasq 2.90's table of named DHCPv4 options.
var optTable4 = []optDef{
	{"netmask", 1, kindAddrs}, {"time-offset", 2, kindU32}, {"router", 3, kindAddrs},
	{"dns-server", 6, kindAddrs}, {"log-server", 7, kindAddrs}, {"lpr-server", 9, kindAddrs},
	{"hostname", 12, kindString}, {"boot-file-size", 13, kindU16}, {"domain-name", 15, kindString},
	{"swap-server", 16, kindAddrs}, {"root-path", 17, kindString}, {"extension-path", 18, kindString},
	{"ip-forward-enable", 19, kindU8}, {"non-local-source-routing", 20, kindU8},
	{"policy-filter", 21, kindAddrs}, {"max-datagram-reassembly", 22, kindU16},
	{"default-ttl", 23, kindU8}, {"mtu", 26, kindU16}, {"all-subnets-local", 27, kindU8},
	{"broadcast", 28, kindAddrs}, {"router-discovery", 31, kindU8}, {"router-solicitation", 32, kindAddrs},
	{"static-route", 33, kindAddrs}, {"trailer-encapsulation", 34, kindU8}, {"arp-timeout", 35, kindU32},
	{"ethernet-encap", 36, kindU8}, {"tcp-ttl", 37, kindU8}, {"tcp-keepalive", 38, kindU32},
	{"nis-domain", 40, kindString}, {"nis-server", 41, kindAddrs}, {"ntp-server", 42, kindAddrs},
	{"netbios-ns", 44, kindAddrs}, {"netbios-dd", 45, kindAddrs}, {"netbios-nodetype", 46, kindU8},
	{"netbios-scope", 47, kindString}, {"x-windows-fs", 48, kindAddrs}, {"x-windows-dm", 49, kindAddrs},
	{"lease-time", 51, kindTime}, {"T1", 58, kindTime}, {"T2", 59, kindTime},
	{"vendor-class", 60, kindString}, {"nis+-domain", 64, kindString}, {"nis+-server", 65, kindAddrs},
	{"tftp-server", 66, kindString}, {"bootfile-name", 67, kindString}, {"mobile-ip-home", 68, kindAddrs},
	{"smtp-server", 69, kindAddrs}, {"pop3-server", 70, kindAddrs}, {"nntp-server", 71, kindAddrs},
	{"irc-server", 74, kindAddrs}, {"user-class", 77, kindString}, {"rapid-commit", 80, kindEmpty},
	{"client-arch", 93, kindU16}, {"client-interface-id", 94, kindGuess}, {"client-machine-id", 97, kindGuess},
	{"posix-timezone", 100, kindString}, {"tzdb-timezone", 101, kindString}, {"ipv6-only", 108, kindTime},
	{"domain-search", 119, kindNames}, {"sip-server", 120, kindGuess},
	{"classless-static-route", 121, kindRoutes}, {"vendor-id-encap", 125, kindGuess},
	{"tftp-server-address", 150, kindAddrs}, {"server-ip-address", 255, kindNextServer},
}

// optTable6 is dnsmasq 2.90's table of named DHCPv6 options.
var optTable6 = []optDef{
	{"sip-server-domain", 21, kindNames}, {"sip-server", 22, kindAddrs}, {"dns-server", 23, kindAddrs},
	{"domain-search", 24, kindNames}, {"nis-server", 27, kindAddrs}, {"nis+-server", 28, kindAddrs},
	{"nis-domain", 29, kindNames}, {"nis+-domain", 30, kindNames}, {"sntp-server", 31, kindAddrs},
	{"information-refresh-time", 32, kindTime}, {"posix-timezone", 41, kindString},
	{"tzdb-timezone", 42, kindString}, {"ntp-server", 56, kindNTP6}, {"bootfile-url", 59, kindString},
	{"bootfile-param", 60, kindParams6},
}

// Client tags an extra option may be limited to, as Neutron writes them for
// dnsmasq (dnsmasq tags its iPXE clients with --dhcp-match=set:ipxe,175 and
// --dhcp-userclass=set:ipxe6,iPXE).
const (
	tagNone    = ""
	tagIPXE    = "ipxe"
	tagNotIPXE = "!ipxe"
)

// extraOpt is one parsed extra_dhcp_opt.
type extraOpt struct {
	v6     bool
	tag    string
	code   uint16
	kind   valueKind
	remove bool   // empty value: the option is not sent (Neutron's way to suppress one)
	text   string // the value; encoded per subnet (0.0.0.0 means the server itself)
}

// parseExtraOpts validates a port's extra_dhcp_opts. Errors name the port and
// the option, with the field path.
func parseExtraOpts(p *port.Port) ([]extraOpt, error) {
	var errs []error
	var out []extraOpt
	for i, o := range p.ExtraDHCPOpts {
		e, err := parseExtraOpt(o)
		if err != nil {
			errs = append(errs, errdefs.Prefix(portPath(p.ID), errdefs.Prefix(errdefs.Index("extra_dhcp_opts", i), err)))
			continue
		}
		// Encode once with a placeholder server address to validate the value.
		if _, err := e.encode(placeholderSelf(e.v6)); err != nil {
			errs = append(errs, errdefs.Prefix(portPath(p.ID), errdefs.Prefix(errdefs.Index("extra_dhcp_opts", i),
				errdefs.Invalid("opt_value", "option %q: %v", o.OptName, err))))
			continue
		}
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}

func portPath(id string) string { return "ports[" + id + "]" }

func placeholderSelf(v6 bool) netip.Addr {
	if v6 {
		return netip.MustParseAddr("2001:db8::1")
	}
	return netip.MustParseAddr("192.0.2.1")
}

func parseExtraOpt(o port.ExtraDHCPOpt) (extraOpt, error) {
	e := extraOpt{text: strings.TrimSpace(o.OptValue)}
	switch o.IPVersion {
	case 0, 4:
	case 6:
		e.v6 = true
	default:
		return e, errdefs.Invalid("ip_version", "%d is not 4 or 6", o.IPVersion)
	}
	name := strings.TrimSpace(o.OptName)
	for strings.HasPrefix(name, "tag:") {
		t, rest, ok := strings.Cut(name[len("tag:"):], ",")
		if !ok {
			return e, errdefs.Invalid("opt_name", "%q: a tag must be followed by an option", o.OptName)
		}
		switch {
		case t == tagIPXE && !e.v6, t == "ipxe6" && e.v6:
			e.tag = tagIPXE
		case t == tagNotIPXE && !e.v6, t == "!ipxe6" && e.v6:
			e.tag = tagNotIPXE
		default:
			return e, errdefs.Invalid("opt_name", "%q: unsupported tag %q (only ipxe/!ipxe for IPv4, ipxe6/!ipxe6 for IPv6)", o.OptName, t)
		}
		name = rest
	}
	if e.v6 {
		name = strings.TrimPrefix(name, "option6:")
	} else {
		name = strings.TrimPrefix(name, "option:")
	}
	table, max := optTable4, 254
	if e.v6 {
		table, max = optTable6, 65535
	}
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > max {
			return e, errdefs.Invalid("opt_name", "option number %d out of range 1-%d", n, max)
		}
		e.code, e.kind = uint16(n), kindGuess
		for _, d := range table {
			if int(d.code) == n && d.kind != kindNextServer {
				e.kind = d.kind
			}
		}
	} else {
		found := false
		for _, d := range table {
			if strings.EqualFold(d.name, name) {
				e.code, e.kind, found = d.code, d.kind, true
				break
			}
		}
		if !found {
			v := "4"
			if e.v6 {
				v = "6"
			}
			return e, errdefs.Invalid("opt_name", "unknown DHCPv%s option %q", v, o.OptName)
		}
	}
	if !e.v6 && isServerOwned4(e.code) {
		return e, errdefs.Invalid("opt_name", "option %q (%d) is the server's own and cannot be set per port", o.OptName, e.code)
	}
	e.remove = e.text == "" && e.kind != kindEmpty
	return e, nil
}

// isServerOwned4 lists options a port must not override: they carry the
// protocol itself rather than configuration.
func isServerOwned4(code uint16) bool {
	switch code {
	case 0, 50, 52, 53, 54, 55, 57, 61, 82:
		return true
	}
	return false
}

// encode returns the option's wire value; self replaces the address 0.0.0.0
// (or ::), which dnsmasq reads as "the server's own address".
func (e extraOpt) encode(self netip.Addr) ([]byte, error) {
	v := e.text
	switch e.kind {
	case kindEmpty:
		return []byte{}, nil
	case kindString:
		return []byte(v), nil
	case kindAddrs, kindNextServer:
		return encodeAddrs(v, e.v6, self)
	case kindU8, kindU16, kindU32:
		return encodeUint(v, map[valueKind]int{kindU8: 1, kindU16: 2, kindU32: 4}[e.kind])
	case kindTime:
		return encodeTime(v)
	case kindNames:
		return encodeNames(v)
	case kindRoutes:
		return encodeRoutes(v, self)
	case kindNTP6:
		b, err := encodeAddrs(v, true, self)
		if err != nil {
			return nil, err
		}
		var out []byte
		for i := 0; i+16 <= len(b); i += 16 {
			out = append(out, 0, 1, 0, 16) // suboption NTP_SUBOPTION_SRV_ADDR
			out = append(out, b[i:i+16]...)
		}
		return out, nil
	case kindParams6:
		var out []byte
		for _, p := range strings.Split(v, ",") {
			out = binary.BigEndian.AppendUint16(out, uint16(len(p)))
			out = append(out, p...)
		}
		return out, nil
	}
	return encodeGuess(v, e.v6, self)
}

func encodeAddrs(v string, v6 bool, self netip.Addr) ([]byte, error) {
	var out []byte
	for _, s := range strings.Split(v, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || a.Is6() != v6 || a.Zone() != "" {
			fam := "IPv4"
			if v6 {
				fam = "IPv6"
			}
			return nil, fmt.Errorf("%q is not an %s address", s, fam)
		}
		if a.IsUnspecified() && self.IsValid() {
			a = self
		}
		out = append(out, a.AsSlice()...)
	}
	return out, nil
}

func encodeUint(v string, size int) ([]byte, error) {
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil || n < -(1<<31) || n >= 1<<(8*size) || (size < 4 && n < 0) {
		return nil, fmt.Errorf("%q is not a %d-byte number", v, size)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	return b[4-size:], nil
}

func encodeTime(v string) ([]byte, error) {
	if strings.EqualFold(v, "infinite") {
		return []byte{0xff, 0xff, 0xff, 0xff}, nil
	}
	mult := int64(1)
	if n := len(v); n > 1 {
		switch v[n-1] {
		case 's', 'S':
			v = v[:n-1]
		case 'm', 'M':
			mult, v = 60, v[:n-1]
		case 'h', 'H':
			mult, v = 3600, v[:n-1]
		case 'd', 'D':
			mult, v = 86400, v[:n-1]
		case 'w', 'W':
			mult, v = 7*86400, v[:n-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n*mult > 0xffffffff {
		return nil, fmt.Errorf("%q is not a time in seconds (or with s/m/h/d/w, or infinite)", v)
	}
	return binary.BigEndian.AppendUint32(nil, uint32(n*mult)), nil
}

func encodeNames(v string) ([]byte, error) {
	var names []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSuffix(strings.TrimSpace(s), ".")
		if s == "" || len(s) > 253 {
			return nil, fmt.Errorf("%q is not a domain name", s)
		}
		for _, l := range strings.Split(s, ".") {
			if l == "" || len(l) > 63 {
				return nil, fmt.Errorf("%q is not a domain name", s)
			}
		}
		names = append(names, s)
	}
	return (&rfc1035label.Labels{Labels: names}).ToBytes(), nil
}

func encodeRoutes(v string, self netip.Addr) ([]byte, error) {
	parts := strings.Split(v, ",")
	if len(parts)%2 != 0 {
		return nil, fmt.Errorf("%q is not a list of destination,gateway pairs", v)
	}
	var rs []route4
	for i := 0; i < len(parts); i += 2 {
		dst, err := netip.ParsePrefix(strings.TrimSpace(parts[i]))
		if err != nil || !dst.Addr().Is4() {
			return nil, fmt.Errorf("%q is not an IPv4 destination", parts[i])
		}
		gw, err := netip.ParseAddr(strings.TrimSpace(parts[i+1]))
		if err != nil || !gw.Is4() {
			return nil, fmt.Errorf("%q is not an IPv4 gateway", parts[i+1])
		}
		rs = append(rs, route4{dst.Masked(), gw})
	}
	return encodeRoutes4(rs), nil
}

// encodeGuess follows dnsmasq for options it has no type for: colon-separated
// hex bytes, then a decimal number in the fewest bytes, then addresses, then
// a string.
func encodeGuess(v string, v6 bool, self netip.Addr) ([]byte, error) {
	if isHexBytes(v) {
		return hex.DecodeString(strings.ReplaceAll(v, ":", ""))
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		switch {
		case n > 0xffff:
			return binary.BigEndian.AppendUint32(nil, uint32(n)), nil
		case n > 0xff:
			return binary.BigEndian.AppendUint16(nil, uint16(n)), nil
		default:
			return []byte{byte(n)}, nil
		}
	}
	if b, err := encodeAddrs(v, v6, self); err == nil {
		return b, nil
	}
	return []byte(v), nil
}

// isHexBytes reports "xx:xx:..." with at least one colon and two hex digits
// per group, dnsmasq's hex notation.
func isHexBytes(v string) bool {
	groups := strings.Split(v, ":")
	if len(groups) < 2 {
		return false
	}
	for _, g := range groups {
		if len(g) != 2 {
			return false
		}
		if _, err := hex.DecodeString(g); err != nil {
			return false
		}
	}
	return true
}
