// Package bgp models Neutron BGP speakers and peers, computes the routes a
// speaker advertises with neutron-dynamic-routing's semantics, and announces
// them through a BGP speaker embedded in the process (gobgp v3).
//
// # Deciding what to advertise
//
// Compute is pure: given a Speaker and the topology's subnets, ports,
// routers, floating IPs, subnet pools and address scopes (Inputs), it
// returns the sorted []Route that Neutron's get_routes_by_bgp_speaker_id
// returns for centralized routers. For each network bound to the speaker and
// each admin-up router with a gateway on it, the next hop is the router's
// gateway address of the speaker's IP version, and
//
//   - tenant subnets attached to the router are advertised when their
//     subnet pool is in an address scope of the bound network (the scopes of
//     the pools of its subnets of that version). Subnets without a pool, or
//     with an unscoped pool or one of another scope, are never advertised:
//     Neutron NATs them instead of routing them (NEUTRON.md 5.2);
//   - associated floating IPs on the bound network are advertised as /32
//     host routes, for IPv4 speakers only;
//   - advertise_tenant_networks and advertise_floating_ip_host_routes (both
//     true by default) switch each kind off.
//
// Neutron's DVR host routes are not computed: the SDK has no distributed
// routers. When two routers would advertise one prefix the lowest next hop
// wins, so the result never depends on input order.
//
// # Announcing it
//
// A Server is the process's one gobgp instance. gobgp's Serve loop never
// returns, so NewServer starts it once and the Server is reconfigured for
// the rest of the process's life: Start and Stop (BGP global: AS, router ID,
// listening), SetPeers (peers added, re-created when their AS, MD5 password
// or timers change, removed, by diff against gobgp's own peer list), and
// Apply (the complete set of routes, metallb style; new and changed routes
// are announced, the others withdrawn, each by its own path: DeletePath
// without a path would withdraw everything). Stop closes every session and
// forgets every route, but the gobgp goroutines stay: Start may follow.
//
// Neutron's API never shows an md5 peer's password, so a document built
// from it has none: the Server takes passwords by peer ID from its
// configuration (WithPeerPasswords, read with ReadPeerPasswords), uses a
// password in the document first, and refuses an md5 peer with neither,
// naming it. Passwords never reach logs, reports or errors. AS numbers
// (ASN) decode from numbers and from strings of digits, as the API returns
// both.
//
// Sessions behave like Neutron's os-ken driver: the speaker does not listen
// (Global.ListenPort 0) and connects to its peers, which should be passive;
// every session carries IPv4 and IPv6 unicast (MP-BGP), so either family of
// routes can ride a session of either family (with graceful restart, only
// the speaker's family: see below); paths carry ORIGIN IGP and the
// next hop, and the speaker's communities and local preference when it has
// any (Speaker.Communities, Speaker.LocalPref: our extension; Neutron has
// none, its operators set them on the upstream router). Because the speaker
// only connects, its retry timer decides how fast a session comes back
// after the peer restarts: after gobgp's fixed 5 s of idle, one attempt
// within 1-2 s, then one every connect retry (5 s here, gobgp's default
// 120 s; WithConnectRetry).
//
// # Graceful restart
//
// Off by default, as in Neutron. WithGracefulRestart (node-agent
// --bgp-graceful-restart) turns RFC 4724 on for every session: when the
// process dies (SIGKILL) or exits on SIGTERM, the kernel closes its
// sessions without a NOTIFICATION, and a peer that supports graceful
// restart (gobgpd, FRR, most routers) keeps the routes, marked stale, for
// the restart time, while the kernel's dataplane keeps forwarding. The
// restarted process adds its peers with the Restart State and Forwarding
// State bits set (gobgp's LocalRestarting, which also makes it wait for the
// peer's End-of-RIB before sending), so the peer keeps the stale routes
// instead of flushing them; the Realizer announces the routes before it
// adds the peers, so the session's first table dump is complete, and the
// End-of-RIB that follows makes the peer drop exactly the stale routes that
// are gone. gobgp sends that End-of-RIB for every family configured on the
// session, negotiated or not, and a gobgpd that did not negotiate one resets
// the session over it, dropping every route: so with graceful restart a
// Realizer's sessions carry only its speaker's IP version, the family of
// all its routes. Stop and a speaker removed from the document still withdraw
// everything (gobgp sends a NOTIFICATION): only a process that goes away
// leaves its routes behind. TestInteropGracefulRestart and
// TestInteropGracefulRestartFRR kill and restart a speaker process against
// both, with a no-graceful-restart control.
//
// Status reports each peer's session state, the prefixes advertised to it
// and its last error. gobgp reports why a session failed (a NOTIFICATION
// such as "open/bad peer as", a refused or timed-out connection, an expired
// hold timer) only in its log records, so the slog adapter that receives
// them (gobgp's log.Logger, also available as NewGobgpLogger) keeps the last
// one per peer. Events delivers session state changes from gobgp's
// WatchEvent; the callback never blocks, so a consumer that falls behind
// loses events (counted in Status) but never stalls gobgp.
//
// Announcing many routes at once is gobgp's weak spot: it turns every
// AddPath into its own UPDATE with one prefix, 10,000 messages for 10,000
// routes, which the peer handles one by one (a stock gobgpd fed by its
// AddPathStream does the same). A table dump, as when a session comes up,
// packs every prefix that shares its attributes into UPDATEs of up to 4096
// bytes. So from 64 announcements on, Apply makes the export policy reject
// everything while it adds the paths (a rejected new path was never sent:
// nothing goes out, nothing is withdrawn), then accepts again and asks for
// a soft reset out, which sends every established peer its table in one
// packed dump. Withdrawals always go path by path. Pipelining the dumps by
// chunk (a prefix set released per chunk) was measured and dropped: every
// soft reset walks the whole table through the export policy, which cost
// more than the overlap with the peer won. TestScale10kDistribution
// measures 10 rounds side by side with a stock gobgpd fed by AddPathStream.
//
// Apply diffs against the routes it announced in this process, as only
// this Server writes to its gobgp RIB: its cost in BGP messages grows with
// the change, its in-memory cost (compute, validate, diff) with the number
// of routes. Server.Update and Realizer.UpdateFloatingIPs are the
// incremental paths, O(change): the Realizer keeps every candidate route of
// its last Apply per prefix, so a floating IP added, moved or removed
// re-decides its prefix alone and sends only what changes.
//
// The Realizer joins the two halves under Neutrino's realizer contract:
// Apply(ctx, Desired{Speaker, Peers, Inputs, RouterID}) starts the server
// (restarts it when the AS or router ID changed), syncs the speaker's peers
// and announces exactly Compute's routes; Plan reports the same diff and
// changes nothing; a second Apply of the same state reports and sends
// nothing; the zero Desired stops BGP. One Realizer drives one Neutron
// speaker, as Neutron's os-ken driver runs one speaker per agent; a
// dual-stack node, which Neutron serves with an IPv4 and an IPv6 speaker,
// runs two agent processes.
//
// # Which namespace
//
// gobgp opens its sockets (connections to peers, the optional listener) on
// its own goroutines, and a network namespace belongs to an OS thread: the
// speaker always lives in the network namespace of its process. It cannot
// borrow namespace.Handle.Do, which switches one locked thread for one
// function. Nor can a Go program enter a namespace for all its threads once
// the runtime has started them, which it does before main. So an agent that
// runs BGP is started inside the node's namespace:
//
//	ip netns exec node1 node-agent run
//	nsenter --net=/run/netns/node1 node-agent run
//
// (or systemd's NetworkNamespacePath=). On a real node the node's
// namespace is the host's, and the agent just runs. When the router ID is
// not given, the Realizer takes the source address the process's namespace
// would use towards the first IPv4 peer.
//
// The privileged interop tests do the same: the test binary re-executes
// itself (TestHelperSpeaker, selected by an environment variable) inside a
// lab namespace with `ip netns exec`, takes desired states as JSON on stdin
// and answers with reports and Status on stdout, while Debian's gobgpd runs
// in another lab namespace as the peer and is inspected through its gRPC API
// on a unix socket (a path socket crosses namespaces). The unprivileged
// tests use a passive, non-listening server, whose peers never connect.
//
// # What it owns
//
// The process's gobgp instance, entirely: its global configuration, its
// peers and its locally originated paths. It touches no kernel state.
package bgp
