package nl_test

import (
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/nl"
)

func TestMain(m *testing.M) { lab.Main(m) }

func TestCreateOwnedNeverShowsTheFinalNameUnlabelled(t *testing.T) {
	l := lab.New(t)
	h := l.Namespace("host").Netlink()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "brqowned", MTU: 1450}}
	if err := nl.CreateOwned(h, br, "network", "neutrino:bridge:x"); err != nil {
		t.Fatal(err)
	}
	got, err := h.LinkByName("brqowned")
	if err != nil {
		t.Fatal(err)
	}
	if got.Attrs().Alias != "neutrino:bridge:x" || got.Attrs().MTU != 1450 || br.Attrs().Index != got.Attrs().Index {
		t.Fatalf("alias %q mtu %d index %d/%d", got.Attrs().Alias, got.Attrs().MTU, br.Attrs().Index, got.Attrs().Index)
	}

	// A crash between create and rename leaves a temporary name, swept by kind.
	tmp := nl.TempName("network")
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: tmp}}); err != nil {
		t.Fatal(err)
	}
	other := nl.TempName("port")
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: other}}); err != nil {
		t.Fatal(err)
	}
	links, _ := nl.Dump(h.LinkList)
	deleted, err := nl.SweepTemp(h, links, "network")
	if err != nil || len(deleted) != 1 || deleted[0] != tmp {
		t.Fatalf("swept %v, %v", deleted, err)
	}
	if _, err := h.LinkByName(other); err != nil {
		t.Fatal("another kind's temporary device must survive")
	}
}

func TestCreateOwnedConflictKeepsTheFinalName(t *testing.T) {
	l := lab.New(t)
	h := l.Namespace("host").Netlink()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "tapdup"}, PeerName: "peerdup"}
	if err := nl.CreateOwned(h, veth, "port", "neutrino:port:a"); err != nil {
		t.Fatal(err)
	}
	again := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "tapdup"}, PeerName: "peerdup2"}
	if err := nl.CreateOwned(h, again, "port", "neutrino:port:b"); err == nil {
		t.Fatal("creating over an existing name must fail")
	}
	if again.Attrs().Name != "tapdup" {
		t.Fatalf("name after failure: %q", again.Attrs().Name)
	}
	links, _ := nl.Dump(h.LinkList)
	for _, l := range links {
		if nl.IsTemp(l.Attrs().Name, "port") {
			t.Fatalf("temporary device left behind: %s", l.Attrs().Name)
		}
	}
}

func TestPlugVethLabelsBothEndsBeforeTheFinalName(t *testing.T) {
	l := lab.New(t)
	host, other := l.Namespace("host"), l.Namespace("other")
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "brqplug"}}
	if err := host.Netlink().LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	dev, err := nl.PlugVeth(host.Netlink(), other.Netlink(), nl.Veth{
		Host: "tapplug", Bridge: br.Attrs().Index, MTU: 1450, Peer: "qr-plug", PeerNS: other.Fd(), PeerUp: true,
		Owner: "router", Alias: "neutrino:router-port:p",
	})
	if err != nil {
		t.Fatal(err)
	}
	tap, err := host.Netlink().LinkByName("tapplug")
	if err != nil {
		t.Fatal(err)
	}
	if tap.Attrs().Alias != "neutrino:router-port:p" || tap.Attrs().MasterIndex != br.Attrs().Index || tap.Attrs().MTU != 1450 {
		t.Errorf("host end: alias %q master %d mtu %d", tap.Attrs().Alias, tap.Attrs().MasterIndex, tap.Attrs().MTU)
	}
	peer, err := other.Netlink().LinkByName("qr-plug")
	if err != nil || peer.Attrs().Index != dev.Attrs().Index {
		t.Fatalf("peer end: %v", err)
	}
	if peer.Attrs().Alias != "neutrino:router-port:p" || peer.Attrs().MTU != 1450 || dev.Attrs().Alias != peer.Attrs().Alias {
		t.Errorf("peer end: alias %q mtu %d", peer.Attrs().Alias, peer.Attrs().MTU)
	}
}
