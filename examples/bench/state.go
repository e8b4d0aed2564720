//go:build linux

package main

import (
	"fmt"
	"slices"
	"strings"
)

// The state dump: what a node's dataplane is, read back from the kernel,
// with namespace names relative to the node's prefix ("node" is the node
// itself). The bench derives the baselines' commands from dumps of
// Neutrino's results and proves that each baseline made the same state by
// comparing dumps.

type state struct {
	NS map[string]*nsState `json:"namespaces"`
}

type nsState struct {
	Links   map[string]*linkState `json:"links"`
	Addrs   []addrState           `json:"addrs"`
	Routes  []routeState          `json:"routes"` // every table
	Neigh   []neighState          `json:"neigh"`  // permanent IPv4/IPv6 neighbours
	FDB     []fdbState            `json:"fdb"`    // forwarding entries of VXLAN devices
	Sysctls map[string]string     `json:"sysctls"`
	Tables  []*nftTable           `json:"tables"`
	DHCP    bool                  `json:"dhcp"` // something listens on UDP port 67
}

type linkState struct {
	Name, Kind, Master string
	MTU                int
	MAC, Alias         string
	Up                 bool
	AddrGen            string // IPv6 addr_gen_mode (1: none)
	Peer               string // veth: "<namespace>/<name>"
	VNI                int    // VXLAN
	Local              string
	Port               int
	Learning, Proxy    bool
	TapMode            string
	FixedMAC           bool // see portMAC
	// What pairs veth ends; not part of the state.
	index, parent, nsid int
}

// portMAC reports a MAC the realizers set from a port: those of the
// router and DHCP namespaces' devices. The node's devices (bridges, VXLAN,
// taps, veths' host ends) keep the random ones the kernel gives them.
func (l *linkState) portMAC() bool { return l.FixedMAC }

// String is what two links must share to count as the same device.
func (l *linkState) String() string {
	s := fmt.Sprintf("%s kind=%s master=%s mtu=%d alias=%q up=%v addrgen=%s peer=%s", l.Name, l.Kind, l.Master, l.MTU, l.Alias, l.Up, l.AddrGen, l.Peer)
	if l.portMAC() {
		s += " mac=" + l.MAC
	}
	switch l.Kind {
	case "vxlan":
		s += fmt.Sprintf(" vni=%d local=%s port=%d learning=%v proxy=%v", l.VNI, l.Local, l.Port, l.Learning, l.Proxy)
	case "tuntap":
		s += " " + l.TapMode
	}
	return s
}

type addrState struct {
	Dev, Prefix, Brd string
	Scope            int
}

func (a addrState) String() string {
	return fmt.Sprintf("%s %s brd=%s scope=%d", a.Dev, a.Prefix, a.Brd, a.Scope)
}

// kernelMade reports addresses the kernel makes by itself: loopback's and
// IPv6 link-local ones.
func (a addrState) kernelMade() bool {
	return a.Dev == "lo" || strings.HasPrefix(a.Prefix, "fe80:")
}

type routeState struct {
	Table, Type, Proto, Scope, Metric int
	Dst, Gw, Dev, Src                 string
	V6                                bool
}

func (r routeState) String() string {
	s := fmt.Sprintf("table %d type %d %s", r.Table, r.Type, r.Dst)
	if r.Gw != "" {
		s += " via " + r.Gw
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	s += fmt.Sprintf(" proto %d scope %d", r.Proto, r.Scope)
	if r.Src != "" {
		s += " src " + r.Src
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	return s
}

// kernelMade: routes the kernel derives from addresses and devices
// (rtm_protocol kernel).
func (r routeState) kernelMade() bool { return r.Proto == 2 }

type neighState struct{ IP, Dev, MAC string }

func (n neighState) String() string { return n.IP + " dev " + n.Dev + " lladdr " + n.MAC }

type fdbState struct{ MAC, Dev, Dst string }

func (f fdbState) String() string { return f.MAC + " dev " + f.Dev + " dst " + f.Dst }

// strs renders a list of states as sorted strings.
func strs[T fmt.Stringer](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	slices.Sort(out)
	return out
}

func (s *nsState) table(family, name string) *nftTable {
	for _, t := range s.Tables {
		if t.Family == family && t.Name == name {
			return t
		}
	}
	return nil
}

// onlySysctls keeps the sysctls in keys (namespace name -> key -> true; a
// namespace missing from keys takes keys["*"]).
func (st *state) onlySysctls(keys map[string]map[string]bool) {
	for name, s := range st.NS {
		want := keys[name]
		if want == nil {
			want = keys["*"]
		}
		for k := range s.Sysctls {
			if !want[k] {
				delete(s.Sysctls, k)
			}
		}
	}
}
