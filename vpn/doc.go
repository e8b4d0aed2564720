// Package vpn models Neutron's VPNaaS (ikepolicies, ipsecpolicies,
// vpnservices, endpoint_groups, ipsec_site_connections) and realizes IPsec
// site-to-site connections from router namespaces with strongSwan.
//
// # Model
//
// The types carry Neutron's JSON names. Desired.Validate checks them and
// their references with document paths; what Neutron offers and this
// realizer does not do is refused with ErrUnsupported naming the value: AH
// and ah-esp, transport mode, the aes-cmac and CTR algorithms, endpoint
// groups of type network, router or vlan, IPv6 tunnels and selectors, a
// connection MTU other than 1500 and the DPD action restart-by-peer.
//
// # Realization
//
// As Neutron's strongSwan driver, one charon runs per router that has a
// connection, inside the router's namespace (<prefix>qrouter-<id>, made by
// the router realizer). Unlike Neutron's driver, which rewrites ipsec.conf
// and ipsec.secrets and runs "ipsec reload" on every change, the realizer
// writes one static strongswan.conf per daemon at its start (plugins, the
// vici socket) and configures everything else through vici (govici):
// connections and shared secrets are loaded and unloaded one by one, diffed
// against what charon lists, so one connection's change leaves the others'
// SAs alone.
//
// charon is a third-party daemon, like gobgpd: it is started with
// charon-systemd (which, unlike /usr/lib/ipsec/charon, keeps no pid file
// in /run, so that several run on one node), one per namespace, because
// charon binds its IKE sockets, its kernel interface (XFRM or the
// kernel-libipsec TUN device) and its routes in the namespace it starts
// in: one shared daemon cannot serve several routers. The realizer
// supervises the processes it started: a daemon that died is started
// again on the next Apply and its connections loaded again. Daemons
// outlive the realizer (Close leaves them running, so an agent restart
// drops no tunnel): a new realizer with the same run directory adopts each
// one whose pid file names a live process started with that directory's
// strongswan.conf, takes the fingerprints of what the earlier run loaded
// from loaded.json (SHA-256 over each connection and its key; root's
// alone) and reads the installed SAs, so unchanged connections stay up.
// Destroy stops them all.
//
// # Dataplane
//
// With WithUserspaceESP the daemons load strongSwan's kernel-libipsec
// plugin, which does ESP in user space through a TUN device (ipsec0 in the
// router namespace) and sends ESP in UDP (port 4500); that is the only path
// on kernels without ESP transforms (this project's CI). Without it charon
// installs XFRM states and policies, the production default.
//
// # NAT
//
// Desired.NoSNAT lists each router's peer CIDRs: the router realizer's
// router.Desired.NoSNATDestinations takes them, so that traffic to the
// peer sites leaves untranslated (the agent wires the two). Neutron's rule
// also matches the local CIDR and "--pol ipsec"; ours matches the
// destination alone, so traffic to a peer CIDR from a subnet of the router
// that no connection covers leaves untranslated too (and, with XFRM,
// unencrypted). The router's SNAT of its own gateway address (fully
// random ports) also rewrites the source port of charon's IKE packets;
// charon sees a NAT and floats to UDP 4500, which works, and which the
// user-space path does anyway.
//
// # Status
//
// Report.Status maps each connection to ACTIVE (it has an installed
// CHILD_SA, as charon's child-updown and child-rekey events tell) or DOWN,
// with the reason when charon logged one (a "log" event naming the
// connection's IKE SA: AUTHENTICATION_FAILED, say). Status is followed
// through events rather than list-sas because govici v0.8's streamed
// commands can end before their last event and hand it to the next
// command. A daemon adopted from an earlier run reports DOWN until its
// SAs are next established or rekeyed. Pre-shared keys are of type Secret, which never prints.
package vpn
