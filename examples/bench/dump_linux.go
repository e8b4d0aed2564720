package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/namespace"
)

// dumpNode reads the node's namespace and every namespace under its
// prefix. sysctlKeys are the namespace-wide sysctls to read (nil: none).
func dumpNode(n *node, sysctlKeys []string) (*state, error) {
	st := &state{NS: map[string]*nsState{}}
	names, err := n.mgr.List()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		h := n.h
		if name != "node" {
			if h, err = n.mgr.Open(name); err != nil {
				return nil, err
			}
		}
		s, err := dumpNS(h, sysctlKeys, name != "node")
		if name != "node" {
			h.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		st.NS[name] = s
	}
	pairVeths(st)
	return st, nil
}

func dumpNS(h *namespace.Handle, sysctlKeys []string, fixedMACs bool) (*nsState, error) {
	s := &nsState{Links: map[string]*linkState{}, Sysctls: map[string]string{}}
	nlh := h.Netlink()
	links, err := namespace.Dump(nlh.LinkList)
	if err != nil {
		return nil, err
	}
	byIndex := map[int]string{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		a := l.Attrs()
		ls := &linkState{Name: a.Name, Kind: l.Type(), Master: byIndex[a.MasterIndex], MTU: a.MTU, MAC: a.HardwareAddr.String(),
			Alias: a.Alias, Up: a.Flags&net.FlagUp != 0, FixedMAC: fixedMACs && a.Name != "lo", index: a.Index, parent: a.ParentIndex, nsid: a.NetNsID}
		switch v := l.(type) {
		case *netlink.Vxlan:
			ls.VNI, ls.Local, ls.Port, ls.Learning, ls.Proxy = v.VxlanId, v.SrcAddr.String(), v.Port, v.Learning, v.Proxy
		case *netlink.Tuntap:
			ls.TapMode = fmt.Sprintf("mode=%d flags=%#x", v.Mode, v.Flags&^netlink.TUNTAP_TUN_EXCL)
		}
		s.Links[a.Name] = ls
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		addrs, err := namespace.Dump(func() ([]netlink.Addr, error) { return nlh.AddrList(nil, fam) })
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			// IPv6 link-local addresses, and the kernel's IPv6 routes, follow
			// from what is compared (the devices' addr_gen_mode, addresses and
			// state) a moment later: when the kernel's link watch sees the
			// carrier, up to a second after the device comes up, and when
			// duplicate address detection ends. Left out, so a dump does not
			// depend on when it is taken.
			if a.IP.IsLinkLocalUnicast() && a.IP.To4() == nil {
				continue
			}
			ones, _ := a.Mask.Size()
			as := addrState{Dev: byIndex[a.LinkIndex], Prefix: fmt.Sprintf("%s/%d", a.IP, ones), Scope: a.Scope}
			if a.Broadcast != nil {
				as.Brd = a.Broadcast.String()
			}
			s.Addrs = append(s.Addrs, as)
		}
	}
	routes, err := namespace.Dump(func() ([]netlink.Route, error) {
		return nlh.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		rs := routeOf(r, byIndex)
		if rs.V6 && rs.kernelMade() {
			continue // see below
		}
		s.Routes = append(s.Routes, rs)
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		neighs, err := namespace.Dump(func() ([]netlink.Neigh, error) { return nlh.NeighList(0, fam) })
		if err != nil {
			return nil, err
		}
		for _, e := range neighs {
			if e.State&netlink.NUD_PERMANENT != 0 {
				s.Neigh = append(s.Neigh, neighState{IP: e.IP.String(), Dev: byIndex[e.LinkIndex], MAC: e.HardwareAddr.String()})
			}
		}
	}
	fdb, err := namespace.Dump(func() ([]netlink.Neigh, error) { return nlh.NeighList(0, unix.AF_BRIDGE) })
	if err != nil {
		return nil, err
	}
	for _, e := range fdb {
		// Entries without a remote are the device's own address.
		if l := s.Links[byIndex[e.LinkIndex]]; l != nil && l.Kind == "vxlan" && e.IP != nil {
			s.FDB = append(s.FDB, fdbState{MAC: e.HardwareAddr.String(), Dev: l.Name, Dst: e.IP.String()})
		}
	}
	err = h.Do(func() error {
		for name, l := range s.Links {
			l.AddrGen = readFile(filepath.Join("/proc/sys/net/ipv6/conf", name, "addr_gen_mode"))
		}
		for _, k := range sysctlKeys {
			if v, ok := readSysctl(k); ok {
				s.Sysctls[k] = v
			}
		}
		s.DHCP = listensUDP(67)
		out, err := exec.Command("nft", "list", "ruleset").CombinedOutput()
		if err != nil {
			return fmt.Errorf("nft list ruleset: %v: %s", err, out)
		}
		s.Tables = parseRuleset(string(out))
		return nil
	})
	return s, err
}

func routeOf(r netlink.Route, byIndex map[int]string) routeState {
	rs := routeState{Table: r.Table, Type: r.Type, Proto: int(r.Protocol), Scope: int(r.Scope), Metric: r.Priority,
		V6: r.Family == unix.AF_INET6, Dst: "default"}
	if rs.V6 {
		rs.Dst = "::/0"
	}
	if r.Dst != nil {
		if ones, _ := r.Dst.Mask.Size(); ones > 0 {
			rs.Dst = fmt.Sprintf("%s/%d", r.Dst.IP, ones)
		}
	}
	if r.Gw != nil {
		rs.Gw = r.Gw.String()
	}
	if r.LinkIndex > 0 {
		rs.Dev = byIndex[r.LinkIndex]
	}
	if r.Src != nil {
		rs.Src = r.Src.String()
	}
	return rs
}

// pairVeths names each veth end's peer. A veth whose peer lives in another
// namespace reports the peer's index there: every such pair here joins the
// node to one of its router or DHCP namespaces.
func pairVeths(st *state) {
	nodeNS := st.NS["node"]
	if nodeNS == nil {
		return
	}
	nodeByIndex := map[int]*linkState{}
	for _, l := range nodeNS.Links {
		nodeByIndex[l.index] = l
	}
	for _, l := range nodeNS.Links {
		if l.Kind == "veth" && l.nsid < 0 {
			if p := nodeByIndex[l.parent]; p != nil {
				l.Peer = "node/" + p.Name
			}
		}
	}
	for name, s := range st.NS {
		if name == "node" {
			continue
		}
		for _, l := range s.Links {
			if l.Kind != "veth" {
				continue
			}
			if p := nodeByIndex[l.parent]; p != nil && p.Kind == "veth" && p.parent == l.index {
				l.Peer, p.Peer = "node/"+p.Name, name+"/"+l.Name
			}
		}
	}
}

func readFile(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func readSysctl(key string) (string, bool) {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	if err != nil {
		return "", false
	}
	return strings.Join(strings.Fields(string(b)), " "), true
}

// listensUDP reports a UDP socket bound to port in the calling thread's
// namespace (/proc/thread-self/net shows the thread's namespace; /proc/self
// the main thread's).
func listensUDP(port int) bool {
	want := fmt.Sprintf(":%04X ", port)
	for _, f := range []string{"/proc/thread-self/net/udp", "/proc/thread-self/net/udp6"} {
		lines := strings.Split(readFile(f), "\n")
		for _, l := range lines[min(1, len(lines)):] {
			if fields := strings.Fields(l); len(fields) > 1 && strings.HasSuffix(fields[1]+" ", want) {
				return true
			}
		}
	}
	return false
}

// namespaceSysctls lists the namespace-wide sysctls (per-device
// directories left out) of the calling thread's namespace.
func namespaceSysctls() []string {
	var keys []string
	perDevice := func(p string) bool {
		for _, d := range []string{"/conf/", "/neigh/"} {
			if i := strings.Index(p, d); i >= 0 {
				rest := p[i+len(d):]
				return !strings.HasPrefix(rest, "all/") && !strings.HasPrefix(rest, "default/")
			}
		}
		return false
	}
	_ = filepath.WalkDir("/proc/sys/net", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || perDevice(p) {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Mode().Perm()&0o444 == 0 {
			return nil
		}
		key := strings.ReplaceAll(strings.TrimPrefix(p, "/proc/sys/"), "/", ".")
		switch key {
		case "net.netfilter.nf_conntrack_count", "net.ipv4.route.flush", "net.ipv6.route.flush":
			return nil
		}
		keys = append(keys, key)
		return nil
	})
	return keys
}
