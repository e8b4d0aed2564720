package dhcp

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
)

// desiredOf turns the test input into the realizer's desired state.
func desiredOf(in Input) Desired {
	return Desired{Networks: []network.Network{in.Network}, Subnets: in.Subnets, Ports: in.Ports}
}

func apply(t *testing.T, r *Realizer, d Desired) *Report {
	t.Helper()
	rep, err := r.Apply(context.Background(), d)
	if err != nil {
		t.Fatalf("Apply: %v\n%v", err, rep.Changes)
	}
	return rep
}

func requireIdle(t *testing.T, r *Realizer, d Desired) {
	t.Helper()
	if rep := apply(t, r, d); rep.Mutations() != 0 {
		t.Fatalf("second Apply made %d mutations: %v", rep.Mutations(), rep.Changes)
	}
}

func TestRealizerServesRealClients(t *testing.T) {
	lab.RequireCmd(t, "dhclient", "busybox")
	w := newWorld(t)
	in := testInput()
	w.bridge(in.Network)
	vm1 := w.instance("vm1", in.Ports[2])
	vm2 := w.instance("vm2", in.Ports[3])
	r := w.realizer()
	d := desiredOf(in)

	plan, err := r.Plan(context.Background(), d)
	must(t, err)
	rep := apply(t, r, d)
	if plan.String() != rep.String() {
		t.Errorf("plan %q differs from apply %q", plan, rep)
	}
	if rep.Created["namespace"] != 1 || rep.Created["link"] != 1 || rep.Created["server"] != 1 || rep.Created["reservation"] != 3 || rep.Created["address"] != 2 {
		t.Errorf("first Apply: %s\n%s", rep, strings.Join(rep.Changes, "\n"))
	}
	requireIdle(t, r, d)
	ns, err := w.l.Manager().Open("n1-" + naming.DHCPNamespace(netID))
	must(t, err)
	defer ns.Close()
	if v, _ := ns.ReadSysctl("net/ipv6/conf/default/accept_ra"); v != "0" {
		t.Errorf("accept_ra=%s in the qdhcp namespace", v)
	}

	t.Run("dhclient", func(t *testing.T) {
		out := t.TempDir() + "/events"
		dir := t.TempDir()
		conf := dir + "/dhclient.conf"
		must(t, writeFile(conf, "option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n"+
			"request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, host-name, interface-mtu, rfc3442-classless-static-routes;\n"))
		cmd, _ := w.l.Start(vm1, "dhclient", "-4", "-d", "-v", "-1", "-cf", conf, "-sf", clientScript(t, out, false), "-lf", dir+"/leases", "-pf", dir+"/pid", "eth0")
		defer lab.Stop(cmd)
		ev := waitEvent(t, out, 30*time.Second, "BOUND", func(ev map[string]string) bool { return ev["EVENT"] == "BOUND" })
		want := map[string]string{
			"new_ip_address":                      "100.64.10.10",
			"new_subnet_mask":                     "255.255.255.0",
			"new_broadcast_address":               "100.64.10.255",
			"new_routers":                         "100.64.10.1",
			"new_domain_name_servers":             "198.51.100.53 198.51.100.54",
			"new_domain_name":                     "openstacklocal",
			"new_host_name":                       "host-100-64-10-10",
			"new_interface_mtu":                   "1450",
			"new_dhcp_lease_time":                 "86400",
			"new_dhcp_server_identifier":          "100.64.10.2",
			"new_rfc3442_classless_static_routes": "16 198 18 100 64 10 254 0 100 64 10 1", // no metadata route: nothing serves it
		}
		for k, v := range want {
			if ev[k] != v {
				t.Errorf("%s=%q, want %q", k, ev[k], v)
			}
		}
		if acks := r.Stats()[in.Network.ID].Acks4; acks < 1 {
			t.Errorf("Stats: %d ACKs after dhclient's lease", acks)
		}
	})

	t.Run("udhcpc and renewal after an address change", func(t *testing.T) {
		out := t.TempDir() + "/events"
		cmd, _ := w.l.Start(vm2, "busybox", "udhcpc", "-f", "-i", "eth0", "-t", "20", "-T", "1", "-A", "1", "-s", clientScript(t, out, true))
		defer lab.Stop(cmd)
		ev := waitEvent(t, out, 30*time.Second, "bound", func(ev map[string]string) bool { return ev["EVENT"] == "bound" })
		want := map[string]string{
			"ip":           "100.64.10.11",
			"subnet":       "255.255.255.0",
			"broadcast":    "100.64.10.255",
			"router":       "100.64.10.1",
			"dns":          "198.51.100.53 198.51.100.54",
			"domain":       "openstacklocal",
			"hostname":     "web-2",
			"mtu":          "1450",
			"lease":        "86400",
			"serverid":     "100.64.10.2",
			"staticroutes": "198.18.0.0/16 100.64.10.254 0.0.0.0/0 100.64.10.1",
			"bootfile":     "pxelinux.0",
			"siaddr":       "198.51.100.9",
			"ntpsrv":       "198.51.100.123",
		}
		for k, v := range want {
			if strings.TrimSpace(ev[k]) != v {
				t.Errorf("%s=%q, want %q", k, ev[k], v)
			}
		}

		in2 := testInput()
		in2.Ports[3].FixedIPs[0].IPAddress = addr("100.64.10.21")
		d2 := desiredOf(in2)
		plan, err := r.Plan(context.Background(), d2)
		must(t, err)
		rep := apply(t, r, d2)
		if strings.Join(plan.Changes, "\n") != strings.Join(rep.Changes, "\n") {
			t.Errorf("plan %v, apply %v", plan.Changes, rep.Changes)
		}
		if rep.Mutations() != 1 || rep.Updated["reservation"] != 1 {
			t.Errorf("address change: %s %v", rep, rep.Changes)
		}
		requireIdle(t, r, d2)
		// SIGUSR1 makes udhcpc renew now: a unicast REQUEST for the old
		// address, which the server NAKs; the client starts over.
		must(t, cmd.Process.Signal(sigUSR1))
		waitEvent(t, out, 30*time.Second, "bound to the new address", func(ev map[string]string) bool {
			return ev["EVENT"] == "bound" && ev["ip"] == "100.64.10.21"
		})
		if !strings.Contains(w.logs.String(), "dhcp4 nak") {
			t.Error("the renewal was not NAKed")
		}
		apply(t, r, d) // back to the original address for the other tests
	})

	t.Run("relay", func(t *testing.T) {
		rl := newRelay(t, w, "100.64.10.250/24")
		offer := rl.ask(vm1MAC)
		if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer || !offer.YourIPAddr.Equal(net.ParseIP("100.64.10.10")) || !offer.GatewayIPAddr.Equal(net.ParseIP("100.64.10.250")) {
			t.Fatalf("relayed offer: %v", offer)
		}
		if reply := rl.ask(port.MustParseMAC("fa:16:3e:99:99:99")); reply != nil {
			t.Errorf("unknown client answered: %s", reply.Summary())
		}
		if !strings.Contains(w.logs.String(), "unknown client") {
			t.Error("the unknown client was not logged")
		}

		// Reservations change under a stream of exchanges: every one is
		// answered, and no Apply restarts the server.
		in2 := testInput()
		in2.Ports[3].FixedIPs[0].IPAddress = addr("100.64.10.21")
		states := []Desired{desiredOf(in2), d}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 20 {
				rep, err := r.Apply(context.Background(), states[i%2])
				if err != nil || rep.Created["server"]+rep.Updated["server"] != 0 || rep.Updated["reservation"] != 1 {
					t.Errorf("live update %d: %v %s", i, err, rep)
				}
			}
		}()
		answered := 0
		for range 100 {
			if o := rl.ask(vm1MAC); o != nil && o.YourIPAddr.Equal(net.ParseIP("100.64.10.10")) {
				answered++
			}
		}
		<-done
		if answered != 100 {
			t.Errorf("%d of 100 exchanges answered during live updates", answered)
		}
		requireIdle(t, r, d)
	})

	t.Run("dhcpv6 stateful", func(t *testing.T) {
		out, dir := t.TempDir()+"/events", t.TempDir()
		cmd, _ := w.l.Start(vm1, "dhclient", "-6", "-d", "-v", "-1", "-cf", "/dev/null", "-sf", clientScript(t, out, false), "-lf", dir+"/leases", "-pf", dir+"/pid", "eth0")
		defer lab.Stop(cmd)
		ev := waitEvent(t, out, 30*time.Second, "BOUND6", func(ev map[string]string) bool { return ev["EVENT"] == "BOUND6" })
		if ev["new_ip6_address"] != "2001:db8:10::10" || ev["new_dhcp6_name_servers"] != "2001:db8::53 2001:db8::54" || ev["new_dhcp6_domain_search"] != "openstacklocal." {
			t.Errorf("dhclient -6: %v", ev)
		}
	})

	t.Run("dhcpv6 stateless", func(t *testing.T) {
		out, dir := t.TempDir()+"/events", t.TempDir()
		cmd, log := w.l.Start(vm2, "dhclient", "-6", "-S", "-d", "-v", "-1", "-cf", "/dev/null", "-sf", clientScript(t, out, false), "-lf", dir+"/leases", "-pf", dir+"/pid", "eth0")
		defer lab.Stop(cmd)
		defer func() {
			if t.Failed() {
				t.Logf("dhclient -6 -S:\n%s", log.String())
			}
		}()
		ev := waitEvent(t, out, 30*time.Second, "information reply", func(ev map[string]string) bool {
			// dhclient 4.4 reports a stateless reply as RENEW6 (INFORM6 elsewhere).
			return ev["EVENT"] == "INFORM6" || ev["EVENT"] == "RENEW6"
		})
		if ev["new_dhcp6_name_servers"] != "2001:db8::54" || ev["new_dhcp6_domain_search"] != "openstacklocal." || ev["new_ip6_address"] != "" {
			t.Errorf("dhclient -6 -S: %v", ev)
		}
	})

	requireIdle(t, r, d)

	t.Run("restart re-attaches", func(t *testing.T) {
		must(t, r.Close())
		r2 := w.realizer()
		rep := apply(t, r2, d)
		for kind := range rep.Created {
			if kind != "server" && kind != "reservation" && kind != "subnet" {
				t.Errorf("restart changed the kernel: %v", rep.Changes)
			}
		}
		requireIdle(t, r2, d)

		// Without its DHCP port the network is no longer served here.
		in3 := testInput()
		in3.Ports = in3.Ports[1:]
		rep = apply(t, r2, desiredOf(in3))
		if rep.Deleted["server"] != 1 || rep.Deleted["namespace"] != 1 || rep.Deleted["link"] != 1 {
			t.Errorf("teardown: %s %v", rep, rep.Changes)
		}
		if w.l.Manager().Exists("n1-" + naming.DHCPNamespace(netID)) {
			t.Error("qdhcp namespace left behind")
		}
		if _, err := w.host.Netlink().LinkByName(naming.Tap(dhcpID)); err == nil {
			t.Error("DHCP tap left behind")
		}
		requireIdle(t, r2, desiredOf(in3))
	})
}

func TestRealizerConvergesAfterTampering(t *testing.T) {
	w := newWorld(t)
	in := testInput()
	w.bridge(in.Network)
	r := w.realizer()
	d := desiredOf(in)
	apply(t, r, d)

	ns, err := w.l.Manager().Open("n1-" + naming.DHCPNamespace(netID))
	must(t, err)
	defer ns.Close()
	dev, err := ns.Netlink().LinkByName(naming.DHCPInterface(dhcpID))
	must(t, err)
	must(t, ns.Netlink().AddrDel(dev, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("100.64.10.2").To4(), Mask: net.CIDRMask(24, 32)}}))
	must(t, ns.Netlink().AddrAdd(dev, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("100.64.10.77").To4(), Mask: net.CIDRMask(24, 32)}}))
	must(t, ns.Netlink().LinkSetMTU(dev, 1300))
	rep := apply(t, r, d)
	// The kernel dropped the default route with the subnet's last address.
	if rep.Created["address"] != 1 || rep.Deleted["address"] != 1 || rep.Updated["link"] != 1 || rep.Created["route"] != 1 || rep.Mutations() != 4 {
		t.Errorf("repair: %s %v", rep, rep.Changes)
	}
	requireIdle(t, r, d)

	// The device deleted by hand: recreated, and the server rebound to it.
	must(t, ns.Netlink().LinkDel(dev))
	rep = apply(t, r, d)
	if rep.Created["link"] != 1 || rep.Updated["server"] != 1 {
		t.Errorf("recreate: %s %v", rep, rep.Changes)
	}
	requireIdle(t, r, d)

	// The namespace deleted by hand (the server still holds the old one):
	// recreated, with a new pair and a server inside it.
	must(t, w.l.Manager().Delete("n1-"+naming.DHCPNamespace(netID)))
	rep = apply(t, r, d)
	if rep.Created["namespace"] != 1 || rep.Created["link"] != 1 || rep.Updated["server"] != 1 {
		t.Errorf("namespace recreated: %s %v", rep, rep.Changes)
	}
	requireIdle(t, r, d)

	rl := newRelay(t, w, "100.64.10.250/24")
	if o := rl.ask(vm1MAC); o == nil || !o.YourIPAddr.Equal(net.ParseIP("100.64.10.10")) {
		t.Errorf("after the namespace was recreated: %v", o)
	}

	// A foreign device with our tap name is a conflict, left alone.
	in2 := testInput()
	in2.Ports[0].ID = "d0000000-9999-4000-8000-0000000000d2"
	attrs := netlink.NewLinkAttrs()
	attrs.Name = naming.Tap(in2.Ports[0].ID)
	must(t, w.host.Netlink().LinkAdd(&netlink.Bridge{LinkAttrs: attrs})) // no dummy devices on this kernel
	_, err = r.Apply(context.Background(), desiredOf(in2))
	if err == nil || !strings.Contains(err.Error(), "not ours") {
		t.Errorf("foreign device: %v", err)
	}
	if _, err := w.host.Netlink().LinkByName(attrs.Name); err != nil {
		t.Error("foreign device deleted")
	}
}

func TestRealizerRequiresTheBridge(t *testing.T) {
	w := newWorld(t)
	r := w.realizer()
	_, err := r.Apply(context.Background(), desiredOf(testInput()))
	if err == nil || !strings.Contains(err.Error(), naming.Bridge(netID)) {
		t.Fatalf("missing bridge: %v", err)
	}
}

func TestRealizerPlansAFreshNodeAndRefusesAForeignBridge(t *testing.T) {
	w := newWorld(t)
	r := w.realizer()
	d := desiredOf(testInput())
	// Plan before the network realizer ran: the bridge it will create is
	// taken as there, and nothing changes.
	plan, err := r.Plan(context.Background(), d)
	if err != nil || plan.Created["namespace"] != 1 || plan.Created["server"] != 1 {
		t.Fatalf("plan of a fresh node: %v\n%s", err, plan)
	}
	if names, _ := w.l.Manager().List(); slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, naming.NSDHCP) }) {
		t.Fatalf("plan created a namespace: %v", names)
	}
	// A bridge with the network's name that the network realizer did not
	// make is someone else's: a conflict, and nothing joins it.
	attrs := netlink.NewLinkAttrs()
	attrs.Name = naming.Bridge(netID)
	must(t, w.host.Netlink().LinkAdd(&netlink.Bridge{LinkAttrs: attrs}))
	if _, err := r.Apply(context.Background(), d); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("foreign bridge: %v", err)
	}
	br, err := w.host.Netlink().LinkByName(attrs.Name)
	must(t, err)
	links, _ := w.host.Netlink().LinkList()
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			t.Errorf("%s joined the foreign bridge", l.Attrs().Name)
		}
	}
}
